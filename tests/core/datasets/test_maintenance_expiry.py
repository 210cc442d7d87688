"""Snapshot expiry: old snapshots go with the files only they held; the current one, the
newest ``--retain-last`` and those of batches still loading stay, so recovery still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion_suite import KILL_SCRIPT
from lakefeed.datasets.iceberg import snapshot_for_batch
from lakefeed.errors import InvalidRequest
from maintenance_support import (
    SmallBatches,
    data_files,
    duckdb_lineage,
    files_on_disk,
    lineage,
)


@pytest.fixture
def batches(tmp_path: Path) -> SmallBatches:
    return SmallBatches.make(tmp_path)


def _snapshot_ids(table: object) -> list[int]:
    return [s.snapshot_id for s in table.metadata.snapshots]  # type: ignore[attr-defined]


def test_expiry_keeps_the_current_and_retain_last_snapshots_and_deletes_only_their_files(
    batches: SmallBatches,
) -> None:
    runs = [batches.batch(20) for _ in range(6)]
    compacted = batches.lf.compact_dataset("profiles")
    table = batches.table()
    appends = _snapshot_ids(table)[:6]
    before = batches.rows()
    old_files = {t.file.file_path for t in table.scan(snapshot_id=appends[-1]).plan_files()}

    recent = batches.lf.expire_snapshots("profiles")  # default: older than 7 days
    assert recent.expired_snapshots == [] and recent.kept_snapshots == 7
    with pytest.raises(InvalidRequest) as raised:
        batches.lf.expire_snapshots("profiles", older_than="0s", retain_last=0)
    assert raised.value.code == "LF-1001" and "current snapshot" in str(raised.value)

    first = batches.lf.expire_snapshots("profiles", older_than="0s", retain_last=3)

    table = batches.table()
    assert first.expired_snapshots == appends[:4]
    assert _snapshot_ids(table) == [*appends[4:], compacted.snapshot_id]
    assert first.deleted_files == 4 and not first.failed_files  # their manifest lists only
    assert old_files <= files_on_disk(table)  # still read by the two appends kept

    last = batches.lf.expire_snapshots("profiles", older_than="0s")

    table = batches.table()
    assert last.expired_snapshots == appends[4:]
    assert _snapshot_ids(table) == [compacted.snapshot_id]  # never the current one
    # 2 manifest lists, the 6 manifests of the appends and the 6 data files compacted.
    assert last.deleted_files == 14
    on_disk = files_on_disk(table)
    assert not old_files & on_disk
    assert {p for p in on_disk if p.endswith(".parquet")} == {
        f.file_path for f in data_files(table)
    }
    rows = batches.rows()
    assert rows.equals(before)
    assert duckdb_lineage(table) == lineage(rows)
    # A batch's snapshot is gone: it lists no files (its rows are in the compacted file),
    # and the dataset's listing and preview still answer.
    files = batches.lf.dataset_files
    assert files.of_batch(runs[0].batch_id) == []
    assert files.of_dataset(batches.dataset.id) == []
    assert len(files.preview(batches.dataset.id, 5)) == 5


def test_a_dry_run_expires_nothing_and_says_what_would_go(batches: SmallBatches) -> None:
    for _ in range(4):
        batches.batch(10)
    batches.lf.compact_dataset("profiles", min_input_files=2)
    table = batches.table()
    location, on_disk = table.metadata_location, files_on_disk(table)

    dry = batches.lf.expire_snapshots("profiles", older_than="0s", dry_run=True)

    table = batches.table()
    assert dry.dry_run and table.metadata_location == location
    assert files_on_disk(table) == on_disk
    real = batches.lf.expire_snapshots("profiles", older_than="0s")
    assert (dry.expired_snapshots, dry.deleted_files) == (
        real.expired_snapshots,
        real.deleted_files,
    )
    assert len(real.expired_snapshots) == 4 and real.deleted_files > 0


def test_recovery_rolls_forward_after_compaction_and_expiry(
    batches: SmallBatches, tmp_path: Path
) -> None:
    settled = [batches.batch(20) for _ in range(4)]
    batches.put(30)  # the file of the run killed after its commit
    assert batches.flow_id is not None
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(batches.lf.home), batches.flow_id,
         "after-commit"],
        capture_output=True, text=True, env={**os.environ}, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stdout + killed.stderr
    (interrupted,) = batches.lf.runs.active(batches.flow_id)
    (loading,) = batches.lf.batches.of_run(interrupted.id)
    assert loading.status == "loading"
    # Other flows commit after it, then maintenance runs before anything recovers it.
    other = SmallBatches(batches.lf, tmp_path / "other", batches.schema_id, files=50)
    other.landing.mkdir()
    for _ in range(2):
        other.batch(10)
    compacted = batches.lf.compact_dataset("profiles")
    expiry = batches.lf.expire_snapshots("profiles", older_than="0s")
    orphans = batches.lf.remove_orphan_files("profiles", older_than="0s", force=True)

    table = batches.table()
    kept = snapshot_for_batch(table, loading.id)
    assert kept is not None and kept.snapshot_id not in expiry.expired_snapshots
    assert _snapshot_ids(table) == [kept.snapshot_id, compacted.snapshot_id]
    assert all(snapshot_for_batch(table, run.batch_id) is None for run in settled)
    assert orphans.orphans == []

    (recovered,) = batches.lf.recover_interrupted()

    assert recovered.id == interrupted.id and recovered.status == "success"
    assert batches.lf.batches.get(loading.id).status == "success"
    rows = batches.rows()
    assert rows.num_rows == 4 * 20 + 30 + 2 * 10
    assert len({row[0] for row in lineage(rows)}) == rows.num_rows
    assert {row[1] for row in lineage(rows)} == {
        b.id for b in batches.lf.batches.list(batches.dataset.id)
    }
    assert duckdb_lineage(batches.table()) == lineage(rows)
    # Settled batches, their snapshots expired, are never looked at again.
    assert batches.lf.recover_interrupted() == []
    assert all(batches.lf.batches.get(run.batch_id).status == "success" for run in settled)
    again = batches.ingest()  # the killed run's flow: its file is ledgered, nothing to take
    assert again.metrics["fileSummary"]["inputFileCount"] == 0
    assert batches.rows().equals(rows)
