"""``lakefeed datasets compact|expire-snapshots|remove-orphans``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from maintenance_support import SmallBatches, age, data_files, files_on_disk

RunCli = Callable[..., Result]


def test_compact_expire_and_remove_orphans(run_cli: RunCli, tmp_path: Path) -> None:
    batches = SmallBatches.make(tmp_path)
    for _ in range(6):
        batches.batch(20)
    before = batches.rows()
    location = batches.table().metadata_location

    few = run_cli("datasets", "compact", "profiles", "--min-input-files", "7").stdout
    assert "Nothing to compact" in few and "fewer than 7 of its 6 data files" in few
    dry = run_cli("datasets", "compact", "profiles", "--dry-run").stdout
    assert "would rewrite 6 of the 6 data files" in dry and "(120 rows)" in dry
    assert batches.table().metadata_location == location

    done = json.loads(
        run_cli(
            "datasets", "compact", "profiles", "--target-file-size", "64MiB", "--json"
        ).stdout
    )  # fmt: skip

    table = batches.table()
    assert done["dataset"]["name"] == "profiles" and not done["dryRun"]
    assert (done["filesBefore"], done["filesAfter"], done["rows"]) == (6, 1, 120)
    assert done["snapshotId"] == table.current_snapshot().snapshot_id
    assert done["bytesAfter"] == sum(f.file_size_in_bytes for f in data_files(table))
    assert batches.rows().equals(before)
    batches.batch(20)
    human = run_cli("datasets", "compact", "profiles", "--min-input-files", "2").stdout
    assert "Compacted dataset profiles in snapshot" in human and "before" in human

    dry_expiry = json.loads(
        run_cli(
            "datasets", "expire-snapshots", "profiles", "--older-than", "0s", "--dry-run",
            "--json",
        ).stdout
    )  # fmt: skip
    assert dry_expiry["dryRun"] and len(dry_expiry["expiredSnapshots"]) == 8
    kept = run_cli(
        "datasets", "expire-snapshots", "profiles", "--older-than", "0s", "--retain-last", "2"
    ).stdout
    assert "Expired 7 snapshots of dataset profiles (kept 2)" in kept
    nothing = run_cli("datasets", "expire-snapshots", "profiles").stdout
    assert "No snapshot of dataset profiles to expire" in nothing and "7d" in nothing

    root = Path(batches.table().location().removeprefix("file://"))
    stray = root / "data" / "leftover.parquet"
    stray.write_bytes(b"x" * 10)
    age(stray, days=4)
    listed = run_cli("datasets", "remove-orphans", "profiles", "--dry-run").stdout
    assert "would remove 1 orphan files (10 B)" in listed and "leftover.parquet" in listed
    assert stray.exists()
    removed = json.loads(run_cli("datasets", "remove-orphans", "profiles", "--json").stdout)
    assert removed["orphanFiles"] == [f"file://{stray}"] and removed["orphanBytes"] == 10
    assert not stray.exists() and batches.rows().num_rows == 140
    assert {p for p in files_on_disk(batches.table()) if p.endswith(".parquet")} == {
        f.file_path for f in data_files(batches.table())
    } | {
        t.file.file_path
        for s in batches.table().metadata.snapshots
        for t in batches.table().scan(snapshot_id=s.snapshot_id).plan_files()
    }


def test_bad_sizes_and_durations_are_clear_errors(run_cli: RunCli, tmp_path: Path) -> None:
    SmallBatches.make(tmp_path).batch(5)

    size = run_cli("datasets", "compact", "profiles", "--target-file-size", "big", code=1)
    duration = run_cli("datasets", "expire-snapshots", "profiles", "--older-than", "1y", code=1)
    missing = run_cli("datasets", "remove-orphans", "nope", code=1)

    assert "LF-1001" in size.stderr and "128MiB" in size.stderr
    assert "LF-1001" in duration.stderr and "7d" in duration.stderr
    assert "LF-1104" in missing.stderr


def test_scheduled_maintenance_settings(run_cli: RunCli, tmp_path: Path) -> None:
    SmallBatches.make(tmp_path)

    updated = json.loads(
        run_cli(
            "datasets", "update", "profiles", "--maintenance",
            '{"compact": true, "expireOlderThan": "7d"}', "--json",
        ).stdout
    )  # fmt: skip

    assert updated["maintenance"]["compact"] is True
    assert updated["maintenance"]["every"] == "1d"
    shown = json.loads(run_cli("datasets", "show", "profiles", "--json").stdout)
    assert shown["maintenance"] == updated["maintenance"]
    assert '"expireOlderThan": "7d"' in run_cli("datasets", "show", "profiles").stdout
    bad = run_cli("datasets", "update", "profiles", "--maintenance", "compact", code=1)
    assert "LF-1001" in bad.stderr and "not a JSON object" in bad.stderr
    unknown = run_cli("datasets", "update", "profiles", "--maintenance", '{"x": 1}', code=1)
    assert "no setting 'x'" in unknown.stderr
    off = run_cli("datasets", "update", "profiles", "--maintenance", "{}").stdout
    assert "Scheduled maintenance: off" in off
    assert "│ maintenance" in run_cli("datasets", "show", "profiles").stdout
    assert (
        json.loads(run_cli("datasets", "show", "profiles", "--json").stdout)["maintenance"] is None
    )


def test_short_orphan_retentions_need_force(run_cli: RunCli, tmp_path: Path) -> None:
    batches = SmallBatches.make(tmp_path)
    batches.batch(5)
    stray = Path(batches.table().location().removeprefix("file://")) / "data" / "left.parquet"
    stray.write_bytes(b"x" * 10)
    age(stray, days=0.5)

    refused = run_cli("datasets", "remove-orphans", "profiles", "--older-than", "0s", code=1)
    settings = '{"compact": true, "removeOrphansOlderThan": "0s"}'
    scheduled = run_cli("datasets", "update", "profiles", "--maintenance", settings, code=1)

    assert "LF-1001" in refused.stderr and "minimum of 24h" in refused.stderr
    assert "LF-1001" in scheduled.stderr and "at least 24h" in scheduled.stderr
    assert stray.exists()
    forced = run_cli("datasets", "remove-orphans", "profiles", "--older-than", "0s", "--force")
    assert "Removed 1 orphan files" in forced.stdout and not stray.exists()


def test_durations_too_long_are_clear_errors(run_cli: RunCli, tmp_path: Path) -> None:
    SmallBatches.make(tmp_path).batch(5)
    settings = '{"expireOlderThan": "99999999999d"}'

    failures = [
        run_cli("datasets", "expire-snapshots", "profiles", "--older-than", "9999999999d", code=1),
        run_cli("datasets", "remove-orphans", "profiles", "--older-than", "9999999999d", code=1),
        run_cli("datasets", "update", "profiles", "--maintenance", settings, code=1),
    ]

    for failed in failures:
        assert "Error LF-1001" in failed.stderr and "maximum of 3650d" in failed.stderr
        assert "LF-1999" not in failed.stderr
