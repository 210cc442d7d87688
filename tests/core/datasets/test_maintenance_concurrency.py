"""Runs and maintenance on one table at once: every row lands exactly once, lineage intact,
pyiceberg and DuckDB read the same rows, whichever commits first."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from lakefeed import Lakefeed
from lakefeed.config import Settings
from lakefeed.datasets import compaction
from lakefeed.datasets.compaction import compact_table
from lakefeed.datasets.iceberg import open_catalog, table_schema
from lakefeed.datasets.maintenance import expire_snapshots
from lakefeed.datasets.writer import BatchWriter, SourceWriter
from lakefeed.errors import MaintenanceConflict
from lakefeed.flows.runner import RunProgress
from maintenance_support import SmallBatches, data_files, duckdb_lineage, lineage

#: The Iceberg catalog lives in the control-plane database: its commit races are the
#: database's, so they are tried on both (PostgreSQL needs the test servers).
pytestmark = pytest.mark.parametrize(
    "database_backend",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)],
    indirect=True,
    scope="module",
)


@pytest.fixture(autouse=True)
def _on_each_database(database_backend: str) -> str:
    return database_backend


@pytest.fixture
def batches(tmp_path: Path) -> SmallBatches:
    return SmallBatches.make(tmp_path)


def test_a_run_committing_while_a_compaction_rewrites_keeps_its_rows(
    batches: SmallBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(6):
        batches.batch(20)
    rewrite = compaction._rewrite
    runs = []

    def rewrite_while_a_run_commits(table: object, inputs: list, target: int) -> list:
        written = rewrite(table, inputs, target)
        runs.append(batches.batch(30))  # commits before the compaction does
        return written

    monkeypatch.setattr(compaction, "_rewrite", rewrite_while_a_run_commits)

    result = batches.lf.compact_dataset("profiles")

    table = batches.table()
    (run,) = runs
    run_snapshot = batches.lf.batches.get(run.batch_id).snapshot_id
    snapshot = table.current_snapshot()
    assert snapshot.snapshot_id == result.snapshot_id
    assert snapshot.parent_snapshot_id == run_snapshot  # retried on the run's commit
    assert result.rewritten_files == 6 and len(data_files(table)) == 2
    rows = batches.rows()
    assert rows.num_rows == 6 * 20 + 30
    assert len({row[0] for row in lineage(rows)}) == rows.num_rows  # none twice
    late = {f"profile-{6000 + i}" for i in range(30)}  # the seventh file's
    assert {row[0] for row in lineage(rows) if row[1] == run.batch_id} == late
    assert duckdb_lineage(table) == lineage(rows)


def test_a_compaction_committing_during_a_run_keeps_the_runs_rows(
    batches: SmallBatches,
) -> None:
    for _ in range(6):
        batches.batch(20)
    for _ in range(3):
        batches.put(25)
    assert batches.flow_id is not None
    flow = batches.lf.flows.flow(batches.flow_id)
    compacted = []

    def compact_mid_run(progress: RunProgress) -> None:
        if progress.files_done == 1 and not compacted:  # the run holds its table since it began
            compacted.append(Lakefeed().compact_dataset("profiles"))

    run = batches.lf.run_flow(flow, progress=compact_mid_run)

    assert run.status == "success", run.metrics
    table = batches.table()
    snapshot = table.current_snapshot()
    assert snapshot.parent_snapshot_id == compacted[0].snapshot_id  # the run went on top
    assert batches.lf.batches.get(run.batch_id).snapshot_id == snapshot.snapshot_id
    rows = batches.rows()
    assert rows.num_rows == 6 * 20 + 3 * 25
    assert len({row[0] for row in lineage(rows)}) == rows.num_rows
    assert duckdb_lineage(table) == lineage(rows)


TARGET = pa.schema([pa.field("id", pa.int64(), nullable=False)])


def _rows(start: int, count: int, batch_id: str) -> pa.Table:
    lineage = {
        "source_file": "f",
        "source_row": 0,
        "batch_id": batch_id,
        "ingested_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return pa.Table.from_pylist(
        [{"id": i, "_lakefeed": lineage} for i in range(start, start + count)],
        schema=table_schema(TARGET),
    )


def _batch(table: object, batch_id: str, start: int, count: int) -> BatchWriter:
    prefix = f"{table.location()}/data/lakefeed-batch-{batch_id}"  # type: ignore[attr-defined]
    writer = BatchWriter(table, batch_id=batch_id, run_id="r", data_prefix=prefix)
    source = SourceWriter(writer.target, writer.next_index())
    source.write(_rows(start, count, batch_id))
    writer.keep(source.finish(), rows=source.rows, size=source.bytes_written)
    return writer


@pytest.mark.parametrize("expire", [False, True], ids=["compacted", "compacted-and-expired"])
@pytest.mark.parametrize("when", ["after-reload", "before-commit"])
def test_a_run_commits_when_maintenance_changed_the_table_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expire: bool, when: str
) -> None:
    """Maintenance commits between the run's reload of the table and its commit: the commit's
    attempt fails and the next goes on top. With an expiry, the snapshot the attempt began
    from is gone, its manifest list deleted: before the attempt read it (``after-reload``),
    or after (``before-commit``: pyiceberg's own retry then finds no starting snapshot)."""
    catalog = open_catalog(Settings.load(tmp_path / "home"))
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.t", schema=table_schema(TARGET))
    for n in range(3):
        _batch(table, f"b{n}", n * 10, 10).commit()
    other = catalog.load_table("ns.t")  # another process's handle on the table
    writer = _batch(table, "late", 100, 5)
    maintained = []

    def maintain() -> None:
        began_from = table.metadata.current_snapshot_id
        maintained.append(compact_table(other, min_input_files=2))
        if expire:
            expiry = expire_snapshots(other, older_than=timedelta(0), retain_last=1)
            assert began_from in expiry.expired_snapshots

    name = "refresh" if when == "after-reload" else "_do_commit"
    original = getattr(table, name)

    def maintain_first(*args: object, **kwargs: object) -> object:
        if name == "refresh":
            original()
        if not maintained:
            maintain()
        return original(*args, **kwargs) if name == "_do_commit" else table

    monkeypatch.setattr(table, name, maintain_first)

    snapshot_id = writer.commit()

    table = catalog.load_table("ns.t")
    assert table.current_snapshot().snapshot_id == snapshot_id
    assert table.current_snapshot().parent_snapshot_id == maintained[0].snapshot_id
    ids = sorted(table.scan().to_arrow().column("id").to_pylist())
    assert ids == [*range(30), *range(100, 105)]


def test_runs_and_compactions_in_parallel_threads_lose_and_double_nothing(
    batches: SmallBatches,
) -> None:
    for _ in range(3):
        batches.batch(10)
    done = threading.Event()
    outcomes: dict[str, int] = {"committed": 0, "conflicts": 0}
    errors: list[BaseException] = []

    def compact_until_done() -> None:
        lf = Lakefeed()  # its own catalog connection, as another process has
        try:
            while not done.is_set():
                try:
                    result = lf.compact_dataset("profiles", min_input_files=2)
                except MaintenanceConflict:
                    outcomes["conflicts"] += 1
                    continue
                if result.snapshot_id is not None:
                    outcomes["committed"] += 1
        except BaseException as exc:
            errors.append(exc)

    compactor = threading.Thread(target=compact_until_done)
    compactor.start()
    try:
        for n in range(12):
            batches.batch(10)
            if n == 5:  # at least one compaction lands between runs
                deadline = time.monotonic() + 60
                while not outcomes["committed"] and not errors:
                    assert time.monotonic() < deadline, "no compaction committed"
                    time.sleep(0.05)
    finally:
        done.set()
        compactor.join(timeout=120)
    assert not errors, errors
    assert outcomes["committed"] >= 1
    rows = batches.rows()
    assert rows.num_rows == 15 * 10
    found = lineage(rows)
    assert len({row[0] for row in found}) == 150
    expected_batches = {b.id for b in batches.lf.batches.list(batches.dataset.id)}
    assert {row[1] for row in found} == expected_batches and len(expected_batches) == 15
    assert duckdb_lineage(batches.table()) == found
