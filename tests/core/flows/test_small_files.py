"""Small source files are coalesced: their rows share data files of the dataset's target size,
each row keeping its own lineage (source file and row index), each file its own outcome; a file
that breaks while it is read loses only its own rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakefeed import Lakefeed
from lakefeed.catalog.runs import Run
from lakefeed.flows.options import RunProgress


def points(start: int, count: int, *, negative: tuple[int, ...] = ()) -> pa.Table:
    """Rows ``id`` from ``start``; ``points`` below its minimum of 0 at ``negative`` positions."""
    values = [-1 if i in negative else i for i in range(count)]
    return pa.table(
        {"id": pa.array(range(start, start + count), pa.int64()), "points": pa.array(values)}
    )


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def schema(lf: Lakefeed) -> str:
    created = lf.schemas.create_inferred_schema(
        "Points",
        {
            "id": {"type": "integer", "meta:xdmType": "long"},
            "points": {"type": "integer", "meta:xdmType": "long", "minimum": 0},
        },
    )
    return str(created["$id"])


def ingest(lf: Lakefeed, landing: Path, schema: str, **options: Any) -> Run:
    return lf.ingest(
        str(landing),
        ".",
        dataset="points",
        schema=schema,
        partial_ingestion_percent=50,
        error_diagnostics=True,
        **options,
    )


def landed(lf: Lakefeed) -> list[tuple[str, int, int]]:
    """(source file name, row index in it, id) of every row of the dataset."""
    rows = lf.datasets.read(lf.datasets.get("points")).select(["id", "_lakefeed"]).to_pylist()
    return sorted(
        (r["_lakefeed"]["source_file"].rsplit("/", 1)[-1], r["_lakefeed"]["source_row"], r["id"])
        for r in rows
    )


def data_files(lf: Lakefeed) -> list[set[str]]:
    """The names of the source files whose rows each data file of the dataset holds."""
    table = lf.datasets.table(lf.datasets.get("points"))
    found = []
    for task in table.scan().plan_files():
        lineage = pq.read_table(task.file.file_path.removeprefix("file://"), columns=["_lakefeed"])
        sources = lineage.column("_lakefeed").combine_chunks().field("source_file")
        found.append({path.rsplit("/", 1)[-1] for path in sources.to_pylist()})
    return found


def expected(
    files: dict[str, pa.Table], *, rejected: frozenset[tuple[str, int]] = frozenset()
) -> list[tuple[str, int, int]]:
    return sorted(
        (name, i, row_id)
        for name, table in files.items()
        for i, row_id in enumerate(table["id"].to_pylist())
        if (name, i) not in rejected
    )


def garbled(path: Path) -> None:
    """A sound footer over garbled pages: the file fails while its rows are read."""
    table = pa.table({"id": pa.array(range(9000, 11000), pa.int64()), "points": range(2000)})
    pq.write_table(table, path, compression="none")
    data = bytearray(path.read_bytes())
    data[8:4000] = b"\xff" * (4000 - 8)
    path.write_bytes(bytes(data))


def test_small_files_share_a_data_file_and_each_row_keeps_its_lineage(
    lf: Lakefeed, landing: Path, schema: str
) -> None:
    counts = [5, 40, 1, 17, 23, 8, 12, 30]
    files: dict[str, pa.Table] = {}
    start = 0
    for n, count in enumerate(counts):
        negative = (2, 7) if n == 3 else ()
        files[f"f{n}.parquet"] = points(start, count, negative=negative)
        start += count
    files["f6.parquet"] = files["f6.parquet"].cast(  # another schema, castable: its own chunk
        pa.schema([("id", pa.int32()), ("points", pa.int32())])
    )
    for name, table in files.items():
        pq.write_table(table, landing / name)

    run = ingest(lf, landing, schema)

    assert run.status == "success", run.metrics
    assert data_files(lf) == [set(files)]  # one data file for the eight files
    assert landed(lf) == expected(files, rejected=frozenset({("f3.parquet", 2), ("f3.parquet", 7)}))
    assert run.metrics["fileSummary"]["inputFileCount"] == 8
    assert run.metrics["fileSummary"]["outputFileCount"] == 8
    assert run.metrics["recordSummary"] == {
        "inputRecordCount": sum(counts),
        "outputRecordCount": sum(counts) - 2,
        "failedRecordCount": 2,
    }
    # Each file's rejected rows and counts are its own, as if it had been converted alone.
    assert [
        (e.source_file.rsplit("/", 1)[-1], e.row_index) for e in lf.row_errors.list(run.batch_id)
    ] == [("f3.parquet", 2), ("f3.parquet", 7)]
    recorded = {
        f.path.rsplit("/", 1)[-1]: (f.status, f.records_in, f.records_out, f.records_failed)
        for f in lf.batches.files(run.batch_id)
    }
    assert recorded == {
        f"f{n}.parquet": ("converted", count, count - (2 if n == 3 else 0), 2 if n == 3 else 0)
        for n, count in enumerate(counts)
    }
    assert ingest(lf, landing, schema).metrics["fileSummary"]["inputFileCount"] == 0


def test_a_file_that_breaks_while_read_loses_only_its_own_rows(
    lf: Lakefeed, landing: Path, schema: str
) -> None:
    files = {f"g{n}.parquet": points(n * 100, 10 + n) for n in range(6)}
    for name, table in files.items():
        pq.write_table(table, landing / name)
    garbled(landing / "g2-garbled.parquet")
    pq.write_table(pa.table({"other": [1, 2]}), landing / "g3-mismatched.parquet")
    started: set[str] = set()
    rewritten: dict[str, pa.Table] = {}

    def rewrite_one_not_yet_read(progress: RunProgress) -> None:
        if progress.current_file:
            started.add(progress.current_file.rsplit("/", 1)[-1])
        if started and not rewritten:  # the group is being read: change a file it holds
            victim = max(set(files) - started)
            rewritten[victim] = points(5000, 3)
            pq.write_table(rewritten[victim], landing / victim)

    run = ingest(lf, landing, schema, progress=rewrite_one_not_yet_read)

    ((victim, new),) = rewritten.items()
    assert run.status == "success", run.metrics
    good = {name: table for name, table in files.items() if name != victim}
    assert data_files(lf) == [set(good)]
    assert landed(lf) == expected(good)
    errors = {
        e["path"].rsplit("/", 1)[-1]: e["code"]
        for e in run.metrics["statusSummary"]["extensions"]["fileErrors"]
    }
    assert errors == {
        "g2-garbled.parquet": "LF-2422",  # corrupt past its footer
        "g3-mismatched.parquet": "LF-2425",  # found at inspection, before any read
        victim: "LF-2409",  # changed while it was read: the next run takes it
    }
    summary = run.metrics["fileSummary"]
    assert (summary["inputFileCount"], summary["outputFileCount"]) == (8, 5)
    assert run.metrics["recordSummary"]["outputRecordCount"] == sum(
        t.num_rows for t in good.values()
    )

    again = ingest(lf, landing, schema)  # the changed file's new version; the rest is ledgered
    assert again.metrics["fileSummary"]["inputFileCount"] == 1
    assert landed(lf) == expected({**good, victim: new})


def test_the_target_file_size_is_the_datasets_own(
    lf: Lakefeed, landing: Path, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"s{n:02d}.parquet": points(n * 100, 20) for n in range(12)}
    for name, table in files.items():
        pq.write_table(table, landing / name)
    # Past one record batch (64Ki rows): written twice, it rolls over at the target size.
    big = pa.table({"id": pa.array(range(10**6, 10**6 + 70_000)), "points": [7] * 70_000})
    pq.write_table(big, landing / "t-big.parquet")
    lf.datasets.create("points", schema)
    monkeypatch.setenv("LAKEFEED_HOME", str(lf.home))
    from lakefeed.cli import _register_commands, cli

    _register_commands()
    size = max((landing / name).stat().st_size for name in files) * 4  # about 4 to a group
    result = CliRunner().invoke(
        cli, ["datasets", "update", "points", "--target-file-size", str(size), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["targetFileSize"] == size
    shown = CliRunner().invoke(cli, ["datasets", "show", "points", "--json"])
    assert json.loads(shown.stdout)["targetFileSize"] == size
    table = lf.datasets.table(lf.datasets.get("points"))
    assert table.properties["write.target-file-size-bytes"] == str(size)

    run = ingest(lf, landing, schema)

    assert run.status == "success", run.metrics
    assert landed(lf) == expected({**files, "t-big.parquet": big})
    found = data_files(lf)
    assert found.count({"t-big.parquet"}) == 2  # rolled over
    small = [sources for sources in found if sources != {"t-big.parquet"}]
    assert set().union(*small) == set(files)
    assert len(small) == 3  # groups closed at the target size (not one data file each)


def test_an_error_of_the_runs_own_reporting_drops_the_whole_group(
    lf: Lakefeed, landing: Path, schema: str
) -> None:
    """What ``report`` raises mid-group (here the caller's progress callback) is the run's: the
    group's data file is deleted, no file of it is failed, and the next run takes them all."""
    files = {f"c{n}.parquet": points(n * 100, 10) for n in range(4)}
    for name, table in files.items():
        pq.write_table(table, landing / name)

    def broken_callback(progress: RunProgress) -> None:
        if progress.rows:
            raise KeyError("a bug in the caller's callback")

    with pytest.raises(KeyError):
        ingest(lf, landing, schema, progress=broken_callback)
    data = lf.home / "warehouse"
    assert not [p for p in data.rglob("*.parquet") if "lakefeed-batch-" in str(p)]

    again = ingest(lf, landing, schema)
    assert again.metrics["fileSummary"]["inputFileCount"] == 4
    assert landed(lf) == expected(files)
