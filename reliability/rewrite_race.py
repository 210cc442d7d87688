"""A file rewritten in place while a run reads it, on every backend.

Per backend and per moment, a fresh folder of five files and a flow over it. During the first
run the progress callback rewrites one file with other rows of the same size (the common case:
a job that regenerates its output), in a later second than the first write so that even a
backend whose modification times have one-second resolution sees a new version:

- ``before-read``: at the run's first report, after listing, before any file is read;
- ``other-file``: while the first file converts (the rewritten file's footer may be read);
- ``own-read``: while the rewritten file itself is being read (three row groups);
- ``before-read-grown``: as ``before-read``, with a longer new version.

Then two more runs. Expected: the new version's rows exactly once; the old version's rows
all once (a store that keeps it may pin and read it) or not at all, and then the first run
reports the file "changed while reading" (LF-2409) and leaves it to the next run; every other
file's rows exactly once; the third run takes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pyarrow as pa

from lakefeed.testing.contract import ensure_folder, put
from reliability.backends import NAMES, backend
from reliability.support import Context, Outcome, create_dataset, dataset_values, parquet_bytes

NAME = "rewrite-race"
MOMENTS = ("before-read", "other-file", "own-read", "before-read-grown")
FILES = ("a.parquet", "b.parquet", "c.parquet", "d.parquet", "e.parquet")
SMALL_ROWS = 500
BIG_ROWS = 150_000  # three record batches of the runner, three row groups
OWN_TARGET = FILES[2]
CHANGED = "LF-2409"  # FileChangedWhileReading


def table(prefix: str, rows: int) -> pa.Table:
    return pa.table(
        {
            "rid": [f"{prefix}-{i:06d}" for i in range(rows)],
            "n": pa.array(range(rows), pa.int64()),
            "payload": ["y" * 20] * rows,
        }
    )


def run(ctx: Context) -> list[Outcome]:
    from lakefeed import Lakefeed

    root = ctx.folder("rewrite")
    lf = Lakefeed(home=root / "home")
    outcomes = []
    for name in NAMES:
        outcome = Outcome(f"rewrite race: {name}", "new version once; old all-or-none; no dupes")
        outcome.unit = "runs"
        outcome.faults = 0
        try:
            race_backend(ctx, lf, backend(name, root / "local"), outcome)
        except Exception as exc:
            outcome.fail(f"stopped: {type(exc).__name__}: {exc}")
            outcome.lost = outcome.duplicated = None
        outcomes.append(outcome)
    return outcomes


def race_backend(ctx: Context, lf: Any, where: Any, outcome: Outcome) -> None:
    connection = lf.create_connection(
        f"race-{where.name}", where.spec, where.auth_spec, where.params
    )
    writer = lf.session(connection)  # a session of its own: writes never share the run's
    ensure_folder(writer.fs, writer.resolve(where.base))
    dataset = f"race_{where.name.replace('-', '_')}"
    create_dataset(lf, dataset)
    old_versions: Counter[str] = Counter()
    for moment in MOMENTS:
        folder = f"{where.base}/race-{uuid.uuid4().hex[:8]}"
        tag = f"{where.name}/{moment}"
        big = OWN_TARGET if moment == "own-read" else None
        sizes = {name: BIG_ROWS if name == big else SMALL_ROWS for name in FILES}
        payload = {
            f"{folder}/{name}": parquet_bytes(
                table(f"{tag}/{name}/v1", rows), row_group_size=50_000
            )
            for name, rows in sizes.items()
        }
        put(writer, payload)
        next_second()
        flow = make_flow(lf, connection, folder, dataset)
        rewrite = Rewrite(writer, folder, tag, moment, sizes)
        runs = [lf.run_flow(flow, progress=rewrite)]
        outcome.trials += 1
        if rewrite.error is not None:
            outcome.fail(f"{moment}: the rewrite failed: {rewrite.error}")
        if rewrite.target is None:
            outcome.fail(f"{moment}: the run never reached the moment to rewrite")
            continue
        outcome.faults = (outcome.faults or 0) + 1
        runs += [lf.run_flow(flow), lf.run_flow(flow)]
        outcome.trials += 2
        found = Counter(rid for rid in dataset_values(lf, dataset) if rid.startswith(tag + "/"))
        check(outcome, moment, found, rewrite, sizes, runs, old_versions)
        ctx.log(f"{where.name} {moment}: rewrote {rewrite.target}; {len(found)} rows")
    outcome.notes.append(
        "old version: " + ", ".join(f"{k} {n}" for k, n in sorted(old_versions.items()))
    )


def next_second() -> None:
    """Wait for the wall clock's next second (one-second mtimes must differ)."""
    time.sleep(1.05 - time.time() % 1)


def make_flow(lf: Any, connection: Any, folder: str, dataset: str) -> Any:
    flows = lf.flows
    suffix = uuid.uuid4().hex[:8]
    source = flows.create_source_connection(
        name=f"race-source-{suffix}", base_connection_id=connection.id, path=folder
    )
    target = flows.create_target_connection(
        name=f"race-target-{suffix}", dataset_id=lf.datasets.get(dataset).id
    )
    return flows.create_flow(
        name=f"race-{suffix}", source_connection_ids=[source.id], target_connection_ids=[target.id]
    )


class Rewrite:
    """The progress callback: rewrites one file, once, at the scenario's moment."""

    def __init__(
        self, writer: Any, folder: str, tag: str, moment: str, sizes: dict[str, int]
    ) -> None:
        self.writer = writer
        self.folder = folder
        self.tag = tag
        self.moment = moment
        self.sizes = sizes
        self.target: str | None = None
        self.error: str | None = None
        self.grown = 7 if moment.endswith("-grown") else 0

    def __call__(self, progress: Any) -> None:
        if self.target is not None:
            return
        current = progress.current_file
        chosen: str | None = None
        if (
            self.moment.startswith("before-read")
            and progress.phase != "listing"  # the run's first report comes before its listing
            and current is None
            and progress.files_done == 0
        ):
            chosen = FILES[0]
        elif self.moment == "other-file" and current is not None:
            others = [n for n in FILES if not current.endswith("/" + n)]
            chosen = others[-1]
        elif self.moment == "own-read" and current and current.endswith("/" + OWN_TARGET):
            chosen = OWN_TARGET
        if chosen is not None:
            self.target = chosen
            self.write(chosen)

    def write(self, name: str) -> None:
        rows = self.sizes[name] + self.grown
        data = parquet_bytes(table(f"{self.tag}/{name}/v2", rows), row_group_size=50_000)
        try:
            put(self.writer, {f"{self.folder}/{name}": data})
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def rows(self, name: str, version: str) -> list[str]:
        count = self.sizes[name] + (self.grown if version == "v2" else 0)
        return [f"{self.tag}/{name}/{version}-{i:06d}" for i in range(count)]


def check(
    outcome: Outcome,
    moment: str,
    found: Counter[str],
    rewrite: Rewrite,
    sizes: dict[str, int],
    runs: list[Any],
    old_versions: Counter[str],
) -> None:
    assert rewrite.target is not None
    duplicated = sum(n - 1 for n in found.values() if n > 1)
    outcome.duplicated = (outcome.duplicated or 0) + duplicated
    if duplicated:
        outcome.fail(f"{moment}: {duplicated} rows twice (rewrote {rewrite.target})")
    expected_once: list[str] = rewrite.rows(rewrite.target, "v2")
    for name in FILES:
        if name != rewrite.target:
            expected_once += rewrite.rows(name, "v1")
    lost = sum(1 for rid in expected_once if found[rid] == 0)
    outcome.lost = (outcome.lost or 0) + lost
    if lost:
        outcome.fail(f"{moment}: {lost} rows missing (rewrote {rewrite.target})")
    old = rewrite.rows(rewrite.target, "v1")
    present = sum(1 for rid in old if found[rid])
    if present not in (0, len(old)):
        outcome.fail(f"{moment}: {present} of the old version's {len(old)} rows, not all or none")
    old_versions["ingested" if present else "skipped"] += 1
    last = runs[-1].metrics["fileSummary"]["inputFileCount"]
    if last:
        outcome.fail(f"{moment}: the third run still took {last} files")
    reported = [
        e
        for e in runs[0].metrics["statusSummary"]["extensions"].get("fileErrors", [])
        if str(e.get("path", "")).endswith("/" + rewrite.target)
    ]
    codes = sorted({str(e.get("code")) for e in reported})
    if not present and not reported:
        outcome.fail(f"{moment}: the old version was dropped but the first run reported nothing")
    elif not present and codes != [CHANGED]:
        outcome.fail(f"{moment}: reported as {', '.join(codes)}, not changed while reading")
