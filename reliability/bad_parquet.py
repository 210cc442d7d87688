"""A corpus of bad and unusual Parquet files, ingested in one run next to good files.

Every case has an expected outcome: ``ingested`` (all its rows, exactly once), ``failed``
with one of the given error codes (the file fails whole, permanently: the next run does not
retry it), ``rejected`` (the file commits without the rows that break the schema, which are
counted as rejected) or ``ignored`` (a marker file, neither read nor reported). One
``lakefeed ingest -r --partial-ingestion-percent 10`` takes the folder: the run succeeds with
the good files, exits 3 (partial: some files failed, some rows were rejected), and a second
run takes nothing and exits 0.
"""

from __future__ import annotations

import json
import random
import struct
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reliability.support import Context, Outcome, cli, create_dataset, dataset_values

NAME = "bad-parquet"
DATASET = "corpus"
ROWS = 200
NOT_PARQUET = "LF-2415"
CORRUPT = "LF-2422"
MISMATCH = "LF-2425"
PARTIAL = 3  # lakefeed ingest's exit code when the run committed without some files or rows
WIDE = [f"c{i:03d}" for i in range(199)]  # with rid: a 200-column file

DEEP = pa.struct(
    [
        (
            "level1",
            pa.struct(
                [
                    (
                        "level2",
                        pa.struct(
                            [
                                ("value", pa.string()),
                                (
                                    "items",
                                    pa.list_(
                                        pa.struct(
                                            [
                                                ("k", pa.string()),
                                                ("m", pa.map_(pa.string(), pa.int64())),
                                                ("xs", pa.list_(pa.list_(pa.int64()))),
                                            ]
                                        )
                                    ),
                                ),
                            ]
                        ),
                    )
                ]
            ),
        )
    ]
)
#: The dataset's schema (every field optional): each case writes ``rid`` and a subset.
TARGET = pa.schema(
    [
        ("rid", pa.string()),
        ("n", pa.int64()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("amount", pa.float64()),
        ("label", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("attrs", pa.map_(pa.string(), pa.int64())),
        ("deep", DEEP),
        *((name, pa.int32()) for name in WIDE),
    ]
)


@dataclass
class Case:
    name: str  # also the rid prefix
    path: str  # relative to the corpus folder
    data: bytes
    expected: str  # ingested | failed | rejected | ignored
    rows: int = 0  # rows expected in the dataset
    codes: tuple[str, ...] = ()  # failed: any of these
    rejected: int = 0

    def describe(self) -> str:
        if self.expected == "failed":
            return f"failed ({'/'.join(self.codes)})"
        if self.expected == "rejected":
            return f"{self.rejected} rows rejected, {self.rows} in"
        return self.expected


def ids(case: str, rows: int) -> pa.Array:
    return pa.array([f"{case}#{i}" for i in range(rows)], pa.string())


def to_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **kwargs)
    return bytes(sink.getvalue().to_pybytes())


def good(case: str, path: str, columns: dict[str, Any] | None = None, rows: int = ROWS,
         **write: Any) -> Case:  # fmt: skip
    table = pa.table(
        {"rid": ids(case, rows), **(columns or {"n": pa.array(range(rows), pa.int64())})}
    )
    return Case(case, path, to_bytes(table, **write), "ingested", rows)


def deep_value(i: int) -> dict[str, Any]:
    items = [{"k": f"k{j}", "m": [(f"x{j}", j)], "xs": [[i, j], []]} for j in range(i % 3)]
    return {"level1": {"level2": {"value": f"v{i}", "items": items}}}


def corpus() -> list[Case]:
    rng = random.Random(0)
    valid = to_bytes(pa.table({"rid": ids("truncated", 2000), "n": pa.array(range(2000))}))
    garbage = b"PAR1" + rng.randbytes(3000) + struct.pack("<I", 2500) + b"PAR1"
    ns = pa.array(
        [1_700_000_000_123_456_789 + i for i in range(ROWS)], pa.timestamp("ns", tz="UTC")
    )
    us = pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * ROWS, pa.timestamp("us", tz="UTC"))
    big = [Decimal("12345678901234567890.123456789012345678")] * ROWS
    huge = [Decimal("1234567890123456789012345678901234567890.0123456789")] * ROWS
    cases = [
        good("plain", "plain.parquet"),
        good("nested", "nested.parquet", {
            "tags": pa.array([["a", "b"], [], None, ["c"]] * (ROWS // 4), pa.list_(pa.string())),
            "attrs": pa.array([[("x", 1)], []] * (ROWS // 2), pa.map_(pa.string(), pa.int64())),
        }),
        Case("empty", "empty.parquet", b"", "failed", codes=(NOT_PARQUET,)),
        good("zero-rows", "zero-rows.parquet", rows=0),
        Case("truncated", "truncated.parquet", valid[: len(valid) // 2], "failed",
             codes=(CORRUPT,)),
        Case("magic-garbage", "magic-garbage.parquet", garbage, "failed",
             codes=(CORRUPT, NOT_PARQUET)),
        Case("csv", "csv.parquet", b"rid,n\n" + b"x,1\n" * 100, "failed", codes=(NOT_PARQUET,)),
        good("nanoseconds", "nanoseconds.parquet", {"ts": ns}),
        good("int96", "int96.parquet", {"ts": us}, use_deprecated_int96_timestamps=True),
        good("decimal38", "decimal38.parquet", {"amount": pa.array(big, pa.decimal128(38, 18))}),
        good("decimal256", "decimal256.parquet", {"amount": pa.array(huge, pa.decimal256(50, 10))}),
        good("deep", "deep.parquet", {"deep": pa.array([deep_value(i) for i in range(ROWS)],
                                                       DEEP)}),
        good("dictionary", "dictionary.parquet", {
            "label": pa.array(["red", "green", "blue", "red"] * (ROWS // 4)).dictionary_encode(),
        }),
        good("null-type", "null-type.parquet", {"label": pa.nulls(ROWS)}),
        good("wide", "wide.parquet", {name: pa.array([i] * ROWS, pa.int32())
                                      for i, name in enumerate(WIDE)}),
        good("row-groups", "row-groups.parquet", rows=2000, row_group_size=10),
        good("page-v2", "page-v2.parquet", data_page_version="2.0"),
        good("no-stats", "no-stats.parquet", write_statistics=False),
        *(
            good(f"codec-{codec}", f"codec-{codec}.parquet", compression=codec)
            for codec in ("none", "gzip", "brotli", "zstd", "lz4")
        ),
        Case("huge-name", "huge-name.parquet", to_bytes(pa.table({
            "rid": ids("huge-name", ROWS), "c" * 20_000: pa.array(range(ROWS)),
        })), "failed", codes=(MISMATCH,)),
        # (A text column converts value by value, as CSV's does: a list never does.)
        Case("mismatch", "mismatch.parquet", to_bytes(pa.table({
            "rid": ids("mismatch", ROWS), "n": pa.array([[i] for i in range(ROWS)]),
        })), "failed", codes=(MISMATCH,)),
        Case("duplicate-column", "duplicate-column.parquet", to_bytes(pa.Table.from_arrays(
            [ids("duplicate-column", ROWS), pa.array(range(ROWS)), pa.array(range(ROWS))],
            names=["rid", "n", "n"],
        )), "failed", codes=(MISMATCH,)),
        Case("overflow", "overflow.parquet", to_bytes(pa.table({
            "rid": ids("overflow", ROWS),
            "n": pa.array([2**63 + i if i < 5 else i for i in range(ROWS)], pa.uint64()),
        })), "rejected", rows=ROWS - 5, rejected=5),
        Case("marker", "_SUCCESS", b"", "ignored"),
        Case("hidden", ".hidden.parquet", to_bytes(pa.table({"rid": ids("hidden", 3)})), "ignored"),
    ]  # fmt: skip
    odd = (
        "é ✓ données.parquet",
        "with space.parquet",
        "100% done.parquet",
        "quote ' and \" .parquet",
        "hash #1 (copy).parquet",
        "a%20b.parquet",
        "[brackets]{braces}.parquet",
        "semi;colon,comma=eq&amp.parquet",
        "tab\tname.parquet",
        "no-extension",
        "sub dir/ünï/deeper/x.parquet",
        "ends-with-dot.",
        "-leading-dash.parquet",
        "x" * 200 + ".parquet",
    )
    cases += [good(f"odd-{n}", name) for n, name in enumerate(odd)]
    return cases


def run(ctx: Context) -> list[Outcome]:
    from lakefeed import Lakefeed

    cases = corpus()
    root = ctx.folder("corpus")
    folder = root / "files"
    for case in cases:
        target = folder / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(case.data)
    home = root / "home"
    lf = Lakefeed(home=home)
    create_dataset(lf, DATASET, TARGET)
    outcome = Outcome(
        "bad inputs: Parquet corpus",
        "each case as listed; good files in; partial exit",
        trials=len(cases),
        unit="inputs",
    )
    args = ["ingest", str(folder), ".", "--dataset", DATASET, "-r"]
    args += ["--partial-ingestion-percent", "10", "--error-diagnostics", "--json"]
    first = cli(home, *args, timeout=600)
    outcome.notes.append(f"first run exit {first.code}")
    if first.code != PARTIAL:
        outcome.fail(f"the run with failed files exited {first.code}, expected {PARTIAL} (partial)")
    try:
        run_json = json.loads(first.stdout)
    except ValueError:
        outcome.fail(f"no run JSON: {first.tail()}")
        outcome.lost = outcome.duplicated = None
        return [outcome]
    check(outcome, cases, run_json, dataset_values(lf, DATASET))
    second = cli(home, *args, timeout=600)
    if second.code != 0:
        outcome.fail(f"the second run exited {second.code}: {second.tail()}")
    else:
        taken = json.loads(second.stdout)["metrics"]["fileSummary"]["inputFileCount"]
        if taken:
            outcome.fail(f"the second run took {taken} files again (failures must be permanent)")
    return [outcome]


def check(outcome: Outcome, cases: list[Case], run: dict[str, Any], rids: list[str]) -> None:
    if run.get("state") != "completed" or run["metrics"]["statusSummary"]["status"] != "success":
        outcome.fail(f"the run is {run['metrics']['statusSummary']['status']}, not success")
    errors = run["metrics"]["statusSummary"].get("extensions", {}).get("fileErrors", [])
    by_path: dict[str, dict[str, Any]] = {}
    for error in errors:
        path = str(error.get("path", ""))
        for case in cases:
            if path.endswith(case.path):
                by_path[case.path] = error
    counts = Counter(rid.split("#", 1)[0] for rid in rids)
    duplicated = sum(n - 1 for n in Counter(rids).values() if n > 1)
    outcome.duplicated = duplicated
    lost = 0
    matched = 0
    for case in cases:
        error = by_path.get(case.path)
        found = counts.get(case.name, 0)
        problem = None
        if case.expected in ("ingested", "rejected"):
            if error is not None:
                problem = f"failed with {error.get('code')}: {str(error.get('message'))[:120]}"
            elif found != case.rows:
                problem = f"{found} rows in the dataset, expected {case.rows}"
                lost += max(case.rows - found, 0)
        elif case.expected == "failed":
            if error is None:
                problem = f"not reported as failed ({found} rows in)"
            elif error.get("code") not in case.codes:
                problem = f"failed with {error.get('code')}, expected {'/'.join(case.codes)}"
            elif found:
                problem = f"failed but {found} of its rows are in the dataset"
        elif error is not None or found:
            problem = f"a marker file was read ({found} rows, error {error and error.get('code')})"
        if problem is None:
            matched += 1
        else:
            outcome.fail(f"{case.name!r} ({case.path!r}) expected {case.describe()}: {problem}")
    outcome.lost = lost
    rejected = run["metrics"]["recordSummary"].get("failedRecordCount")
    expected_rejected = sum(c.rejected for c in cases)
    if rejected != expected_rejected:
        outcome.fail(f"{rejected} rows rejected in all, expected {expected_rejected}")
    outcome.notes.append(f"{matched}/{len(cases)} cases as expected")
