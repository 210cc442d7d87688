"""Compaction: small data files rewritten into target-size files in one ``replace`` snapshot,
rows and lineage unchanged, for pyiceberg and DuckDB alike."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyiceberg.table.snapshots import Operation

from lakefeed.config import Settings
from lakefeed.datasets import compaction
from lakefeed.datasets.compaction import MAINTENANCE_PROPERTY, compact_table
from lakefeed.datasets.iceberg import BATCH_PROPERTY, open_catalog, snapshot_for_batch
from lakefeed.errors import MaintenanceConflict, MaintenanceNotSupported
from maintenance_support import (
    SmallBatches,
    data_files,
    duckdb_lineage,
    files_on_disk,
    lineage,
)

#: The columns of a file that has only some of the schema's (the others read as null).
FEW_COLUMNS = ["_id", "personID", "homeAddress"]


@pytest.fixture
def batches(tmp_path: Path) -> SmallBatches:
    return SmallBatches.make(tmp_path)


def test_small_batches_become_one_file_in_one_replace_snapshot(batches: SmallBatches) -> None:
    runs = [batches.batch(20) for _ in range(9)]
    runs += [batches.batch(15, columns=FEW_COLUMNS) for _ in range(3)]
    table = batches.table()
    before_rows, before_files = batches.rows(), data_files(table)
    before_snapshots = {s.snapshot_id for s in table.metadata.snapshots}
    before_total = table.current_snapshot().summary["total-records"]
    assert len(before_files) == 12 and before_rows.num_rows == 9 * 20 + 3 * 15

    result = batches.lf.compact_dataset("profiles")

    table = batches.table()
    after_files = data_files(table)
    assert (result.files_before, result.files_after) == (12, 1)
    assert (result.rewritten_files, result.written_files, result.rows) == (12, 1, 225)
    assert result.bytes_before == sum(f.file_size_in_bytes for f in before_files)
    assert result.bytes_after == sum(f.file_size_in_bytes for f in after_files)
    (new_file,) = after_files
    assert "/data/lakefeed-compact-" in new_file.file_path and new_file.record_count == 225
    # One new snapshot, a replace, that names no batch; the batches' own snapshots stay.
    snapshot = table.current_snapshot()
    assert snapshot.snapshot_id == result.snapshot_id
    assert {s.snapshot_id for s in table.metadata.snapshots} == before_snapshots | {
        result.snapshot_id
    }
    assert snapshot.summary.operation == Operation.REPLACE
    assert snapshot.summary[MAINTENANCE_PROPERTY] == "compact"
    assert snapshot.summary.get(BATCH_PROPERTY) is None
    assert snapshot.summary["total-records"] == before_total
    assert snapshot.summary["added-records"] == snapshot.summary["deleted-records"] == "225"
    for run in runs:
        found = snapshot_for_batch(table, run.batch_id)
        assert (
            found is not None
            and found.snapshot_id == batches.lf.batches.get(run.batch_id).snapshot_id
        )
    # The same rows, lineage and the columns a file lacked (null) included, for both readers.
    after_rows = batches.rows()
    assert after_rows.equals(before_rows)
    lacking = after_rows.filter(pc.is_null(after_rows["person"]))
    expected = {f"profile-{n * 1000 + i}" for n in (9, 10, 11) for i in range(15)}
    assert set(lacking.column("_id").to_pylist()) == expected
    assert lacking.column("homeAddress").null_count == 0
    assert duckdb_lineage(table) == lineage(after_rows) == lineage(before_rows)
    # Readers of the snapshot before the compaction still read every old file.
    old = table.scan(snapshot_id=snapshot.parent_snapshot_id).to_arrow()
    assert lineage(old) == lineage(before_rows)


def test_files_roll_over_at_the_target_size_and_a_second_pass_has_nothing_to_do(
    batches: SmallBatches,
) -> None:
    for _ in range(10):
        batches.batch(300)
    table = batches.table()
    total = sum(f.file_size_in_bytes for f in data_files(table))
    target = total // 3
    before = batches.rows()

    result = batches.lf.compact_dataset("profiles", target_file_bytes=target)

    written = data_files(batches.table())
    assert result.rewritten_files == 10 and result.written_files == len(written) >= 2
    sizes = sorted(f.file_size_in_bytes for f in written)
    assert all(size >= target for size in sizes[1:])  # only the last one written is smaller
    assert batches.rows().equals(before)
    again = batches.lf.compact_dataset("profiles", target_file_bytes=target, min_input_files=2)
    assert again.snapshot_id is None and again.files_after == again.files_before


def test_too_few_small_files_and_a_dry_run_change_nothing(batches: SmallBatches) -> None:
    for _ in range(3):
        batches.batch(10)
    table = batches.table()
    location, on_disk = table.metadata_location, files_on_disk(table)

    few = batches.lf.compact_dataset("profiles")  # 3 small files, 5 needed by default
    dry = batches.lf.compact_dataset("profiles", min_input_files=2, dry_run=True)

    assert few.snapshot_id is None and (few.files_before, few.files_after) == (3, 3)
    assert dry.dry_run and dry.snapshot_id is None
    assert (dry.rewritten_files, dry.files_after, dry.rows) == (3, 1, 30)
    table = batches.table()
    assert table.metadata_location == location and files_on_disk(table) == on_disk


def test_a_compaction_gives_way_when_another_removed_its_files(
    batches: SmallBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(6):
        batches.batch(10)
    before = batches.rows()
    rewrite = compaction._rewrite
    winners: list[int | None] = []

    def rewrite_then_lose_the_race(table: object, inputs: list, target: int) -> list:
        written = rewrite(table, inputs, target)
        monkeypatch.setattr(compaction, "_rewrite", rewrite)
        winners.append(compact_table(batches.table()).snapshot_id)  # another process, first
        return written

    monkeypatch.setattr(compaction, "_rewrite", rewrite_then_lose_the_race)

    with pytest.raises(MaintenanceConflict) as raised:
        batches.lf.compact_dataset("profiles")

    assert raised.value.code == "LF-3001" and "Nothing changed" in str(raised.value)
    table = batches.table()
    assert table.current_snapshot().snapshot_id == winners[0]
    assert batches.rows().equals(before)
    # The loser's new files are gone; only the winner's compacted file is on disk.
    compacted = {p for p in files_on_disk(table) if "/lakefeed-compact-" in p}
    assert compacted == {f.file_path for f in data_files(table)}


def test_partitioned_tables_are_refused(tmp_path: Path) -> None:
    catalog = open_catalog(Settings.load(tmp_path / "home"))
    catalog.create_namespace("ns")
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("day", pa.string())])
    table = catalog.create_table("ns.t", schema=schema)
    with table.transaction() as tx, tx.update_spec() as update:
        update.add_identity("day")
    table.append(pa.table({"id": [1, 2], "day": ["a", "b"]}, schema=schema))

    with pytest.raises(MaintenanceNotSupported) as raised:
        compact_table(table, min_input_files=2)

    assert raised.value.code == "LF-3002" and "partitioned" in str(raised.value)


def test_a_compaction_whose_new_file_went_commits_nothing(
    batches: SmallBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An orphan removal (forced, short retention) deleting a compaction's files before its
    commit: the compaction gives way instead of committing a snapshot naming a missing file."""
    for _ in range(4):
        batches.batch(10)
    before, location = batches.rows(), batches.table().metadata_location
    real = compaction._rewrite
    written: list[str] = []

    def rewrite_then_lose_one(table, inputs, target_file_bytes):  # type: ignore[no-untyped-def]
        files = real(table, inputs, 1)  # one file per row group: several files
        written.extend(f.file_path for f in files)
        Path(files[0].file_path.removeprefix("file://")).unlink()
        return files

    monkeypatch.setattr(compaction, "_rewrite", rewrite_then_lose_one)

    with pytest.raises(MaintenanceConflict) as raised:
        batches.lf.compact_dataset("profiles", min_input_files=2)

    assert "lost 1 of the files it wrote" in str(raised.value)
    assert batches.table().metadata_location == location and batches.rows().equals(before)
    assert written and not any(Path(p.removeprefix("file://")).exists() for p in written)
