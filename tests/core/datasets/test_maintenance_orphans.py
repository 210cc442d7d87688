"""Orphan removal: files under a table that nothing references go once older than the
retention; fresh ones, referenced ones and a loading batch's stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from lakefeed.datasets import maintenance
from lakefeed.errors import DatasetError, InvalidRequest
from maintenance_support import SmallBatches, age, files_on_disk, lineage


@pytest.fixture
def batches(tmp_path: Path) -> SmallBatches:
    return SmallBatches.make(tmp_path)


def test_old_strays_go_fresh_referenced_and_loading_files_stay(batches: SmallBatches) -> None:
    runs = [batches.batch(10) for _ in range(3)]
    batches.lf.compact_dataset("profiles", min_input_files=2)  # old files: in old snapshots
    table = batches.table()
    root = Path(table.location().removeprefix("file://"))
    referenced = files_on_disk(table)
    old_stray = root / "data" / "lakefeed-batch-crashed" / "000001-000.parquet"
    old_metadata = root / "metadata" / "00099-leftover.metadata.json"
    fresh_stray = root / "data" / "lakefeed-compact-running" / "000001-000.parquet"
    loading = batches.lf.batches.create(
        dataset_id=batches.dataset.id, run_id="run-in-progress", flow_id="f", tags={},
        data_prefix=f"{table.location()}/data/lakefeed-batch-loading", entries=[],
    )  # fmt: skip
    loading_file = Path(loading.data_prefix.removeprefix("file://")) / "000001-000.parquet"
    for path in (old_stray, old_metadata, fresh_stray, loading_file):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PAR1 not really")
    for path in [*referenced, old_stray, old_metadata, loading_file]:
        age(path, days=10)  # referenced files as old as any: still never removed
    before = batches.rows()

    dry = batches.lf.remove_orphan_files("profiles", dry_run=True)  # default: older than 3d

    strays = {f"file://{old_stray}", f"file://{old_metadata}"}
    assert dry.dry_run and set(dry.orphans) == strays
    assert dry.orphan_bytes == 2 * len(b"PAR1 not really") and dry.kept_recent == 2
    assert old_stray.exists() and old_metadata.exists()

    result = batches.lf.remove_orphan_files("profiles")

    assert set(result.orphans) == strays and not result.failed_files
    assert not old_stray.exists() and not old_metadata.exists()
    assert fresh_stray.exists() and loading_file.exists()
    table = batches.table()
    assert referenced <= files_on_disk(table)
    assert batches.rows().equals(before)
    first = table.scan(snapshot_id=table.metadata.snapshots[0].snapshot_id).to_arrow()
    assert {row[1] for row in lineage(first)} == {runs[0].batch_id}  # old snapshots still read
    assert batches.lf.remove_orphan_files("profiles").orphans == []


def test_a_retention_must_be_a_duration(batches: SmallBatches) -> None:
    batches.batch(5)
    with pytest.raises(InvalidRequest) as raised:
        batches.lf.remove_orphan_files("profiles", older_than="3 days")
    assert raised.value.code == "LF-1001" and "7d" in str(raised.value)


def test_a_listing_that_does_not_match_the_metadata_removes_nothing(
    batches: SmallBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that names files otherwise than the metadata does (another URI form) would
    make every file look unreferenced: the run stops before it deletes anything."""
    batches.batch(5)
    table = batches.table()
    on_disk = files_on_disk(table)
    for path in on_disk:
        age(path, days=10)
    listed = list(maintenance.list_files(table.io, table.location()))
    renamed = [replace(f, location=f.location.replace("file://", "other://")) for f in listed]
    monkeypatch.setattr(maintenance, "list_files", lambda io, location: iter(renamed))

    with pytest.raises(DatasetError) as raised:
        batches.lf.remove_orphan_files("profiles", older_than="1d")

    assert "did not find its current metadata file" in str(raised.value)
    assert files_on_disk(batches.table()) == on_disk


def test_a_retention_under_24h_needs_force(batches: SmallBatches) -> None:
    """A compaction's uncommitted files are protected by the retention alone: under 24 hours
    it is refused unless forced."""
    batches.batch(5)
    root = Path(batches.table().location().removeprefix("file://"))
    stray = root / "data" / "lakefeed-compact-running" / "000001-000.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 not really")
    age(stray, days=0.5)

    for short in ("0s", "23h", timedelta(hours=12)):
        with pytest.raises(InvalidRequest) as raised:
            batches.lf.remove_orphan_files("profiles", older_than=short)
        assert raised.value.code == "LF-1001" and "minimum of 24h" in str(raised.value)
    assert stray.exists()
    assert batches.lf.remove_orphan_files("profiles", older_than="24h").orphans == []

    forced = batches.lf.remove_orphan_files("profiles", older_than="1h", force=True)

    assert forced.orphans == [f"file://{stray}"] and not stray.exists()
