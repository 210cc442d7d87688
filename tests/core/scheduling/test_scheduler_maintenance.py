"""Scheduled table maintenance: a dataset's pass runs once per period across schedulers, on
the daemon's own thread, and not at all once its settings are off."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lakefeed import Lakefeed
from lakefeed.schedules.clock import ManualClock
from lakefeed.scheduling.maintenance import KEY_PREFIX
from lakefeed.scheduling.scheduler import Scheduler
from maintenance_support import SmallBatches, data_files

HOUR = 3600
SETTINGS = {
    "every": "1h",
    "compact": True,
    "minInputFiles": 2,
    "expireOlderThan": "0s",
    "removeOrphansOlderThan": "3d",
}


def test_one_pass_per_period_across_two_schedulers(tmp_path: Path) -> None:
    batches = SmallBatches.make(tmp_path)
    for _ in range(4):
        batches.batch(10)
    lf = batches.lf
    lf.update_dataset("profiles", maintenance=SETTINGS)
    before = batches.rows()
    start = 1_900_000_000 - 1_900_000_000 % HOUR + 60  # a minute after an hour's boundary
    clock = ManualClock(start)
    first = Scheduler(lf, clock=clock, owner="sched-a")
    second = Scheduler(Lakefeed(), clock=clock, owner="sched-b")

    first.tick()
    second.tick()

    assert (first.maintenance.passes, second.maintenance.passes) == (1, 0)
    table = batches.table()
    assert len(data_files(table)) == 1 and len(table.metadata.snapshots) == 1
    assert batches.rows().equals(before)

    batches.batch(10)
    batches.batch(10)
    clock.advance(HOUR / 2)
    first.tick()
    second.tick()
    assert (first.maintenance.passes, second.maintenance.passes) == (1, 0)  # not due yet
    clock.advance(HOUR / 2)
    second.tick()
    first.tick()
    assert (first.maintenance.passes, second.maintenance.passes) == (1, 1)
    assert len(data_files(batches.table())) == 1 and batches.rows().num_rows == 60
    key = KEY_PREFIX + batches.dataset.id
    windows = lf.windows.of_flow(key)
    assert [(w.window_end - start + 60, w.state) for w in windows] == [
        (0, "done"),
        (HOUR, "done"),
    ]

    lf.update_dataset("profiles", maintenance={})  # off
    batches.batch(10)
    batches.batch(10)
    clock.advance(HOUR)
    first.tick()
    second.tick()
    assert (first.maintenance.passes, second.maintenance.passes) == (1, 1)
    assert len(data_files(batches.table())) == 3


def test_a_pass_reports_a_failed_step_and_runs_the_others(tmp_path: Path) -> None:
    batches = SmallBatches.make(tmp_path)
    for _ in range(3):
        batches.batch(10)
    table = batches.table()
    # Another engine's partitioned layout: compaction refuses it, expiry still runs.
    with table.transaction() as tx, tx.update_spec() as update:
        update.add_identity("personID")
    batches.lf.update_dataset("profiles", maintenance=SETTINGS)

    report = batches.lf.run_maintenance("profiles")

    assert report["compaction"]["error"]["code"] == "LF-3002"
    assert len(report["expiry"]["expiredSnapshots"]) == 2
    assert report["orphanRemoval"]["orphanFiles"] == []


def test_the_daemon_runs_passes_on_its_own_thread(tmp_path: Path) -> None:
    batches = SmallBatches.make(tmp_path)
    for _ in range(3):
        batches.batch(10)
    batches.lf.update_dataset("profiles", maintenance={"compact": True, "minInputFiles": 2})
    scheduler = Scheduler(Lakefeed(), poll_seconds=0.2)
    stop = threading.Event()
    daemon = threading.Thread(target=scheduler.run_forever, args=(stop,))
    daemon.start()
    try:
        deadline = time.monotonic() + 60
        while not scheduler.maintenance.passes and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        daemon.join(timeout=60)
    assert scheduler.maintenance.passes == 1
    assert len(data_files(batches.table())) == 1


def test_a_broken_dataset_does_not_stop_the_others(tmp_path: Path) -> None:
    """A data file of one maintained dataset is gone (a bad restore): its pass reports the
    failure and the other dataset is still compacted in the same pass; both periods are done."""
    batches = SmallBatches.make(tmp_path)
    lf = batches.lf
    lf.datasets.create("second", batches.schema_id)
    for _ in range(3):
        batches.batch(10)
        batches.put(10)
        lf.ingest(str(batches.landing), "*.parquet", dataset="second", schema=batches.schema_id)
    settings = {"every": "1h", "compact": True, "minInputFiles": 2}
    for name in ("profiles", "second"):
        lf.update_dataset(name, maintenance=settings)
    maintained = lf.maintained_datasets()
    broken, other = maintained[0], maintained[1]  # the broken one first: it ran first
    lost = data_files(lf.datasets.table(broken))[0].file_path
    Path(lost.removeprefix("file://")).unlink()
    clock = ManualClock(1_900_000_000 - 1_900_000_000 % HOUR + 60)
    scheduler = Scheduler(lf, clock=clock, owner="sched-a")

    reports = scheduler.maintenance.run_due()

    assert reports[broken.id]["compaction"]["error"]["code"] == "LF-1999"
    assert "compaction" in reports[other.id] and "error" not in reports[other.id]["compaction"]
    assert len(data_files(lf.datasets.table(other))) == 1
    assert scheduler.maintenance.passes == 2
    for dataset in (broken, other):
        assert [w.state for w in lf.windows.of_flow(KEY_PREFIX + dataset.id)] == ["done"]
