"""Schedulers in separate processes on one SQLite database: every window runs exactly once,
and a killed scheduler's window is taken over and recovered by another."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import sqlalchemy as sa

import scheduling_procs
from ingestion_suite import Scenario, expected_ids
from lakefeed.catalog import tables
from lakefeed.flows import metrics as codes
from lakefeed.schedules.clock import ManualClock
from lakefeed.scheduling.scheduler import Scheduler

HOUR = 3600
spawn = multiprocessing.get_context("spawn")


def test_two_scheduler_processes_run_every_window_exactly_once(
    scenario: Scenario, start: int
) -> None:
    for n in range(3):
        scenario.put(f"f{n}/a.parquet", scenario.profiles(5, n * 100))
    flows = [
        scenario.flow(path=f"{scenario.folder}/f{n}",
                      schedule={"startTime": start, "frequency": "hour", "interval": 1})
        for n in range(3)
    ]  # fmt: skip
    times = [start - 10] + [start + k * HOUR + 1 for k in range(6)]
    barrier = spawn.Barrier(2)
    out = spawn.Queue()
    workers = [
        spawn.Process(
            target=scheduling_procs.tick_through,
            args=(str(scenario.home), times, barrier, owner, out),
        )
        for owner in ("sched-a", "sched-b")
    ]
    for worker in workers:
        worker.start()
    results = dict(out.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    ran = results["sched-a"] + results["sched-b"]
    # Which scheduler wins each race is up to the OS; the sum is what must hold.
    per_flow = Counter(flow_id for flow_id, _ in ran)
    assert per_flow == {flow.id: 6 for flow in flows}  # six boundaries, six runs each
    with scenario.lf.db.connect() as db:
        w = tables.schedule_windows
        rows = db.execute(sa.select(w)).mappings().all()
    for flow in flows:
        ends = sorted(r["window_end"] for r in rows if r["flow_id"] == flow.id)
        assert ends == [start + k * HOUR for k in range(6)]
        runs = scenario.lf.runs.list(flow.id)
        assert len(runs) == 6 and {r.status for r in runs} == {"success"}
    assert {r["state"] for r in rows} == {"done"}
    assert len({run_id for _, run_id in ran}) == len(ran) == 18
    assert scenario.ids() == expected_ids((0, 5), (100, 5), (200, 5))


def test_a_killed_schedulers_window_is_recovered_by_another(scenario: Scenario, start: int) -> None:
    scenario.put("a.parquet", scenario.profiles(20, 0))
    scenario.put("b.parquet", scenario.profiles(20, 100))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "hour", "interval": 1})
    doomed = spawn.Process(
        target=scheduling_procs.die_during_run, args=(str(scenario.home), start + 1, 60)
    )
    doomed.start()
    doomed.join(timeout=120)
    assert doomed.exitcode == -9  # SIGKILL, mid-run
    (dead_run,) = scenario.lf.runs.list(flow.id)
    assert dead_run.state == "inProgress"

    clock = ManualClock(start + 30)
    other = Scheduler(scenario.lf, clock=clock, lease_seconds=60)
    assert other.tick() == []  # the dead scheduler's lease still holds
    clock.set(start + 62)
    (run,) = other.tick()

    assert run.status == "success"
    assert scenario.ids() == expected_ids((0, 20), (100, 20))  # exactly the source rows
    dead_run = scenario.lf.runs.get(dead_run.id)
    assert dead_run.state == "completed" and dead_run.status == "failed"
    codes_seen = [e["code"] for e in dead_run.metrics["statusSummary"]["errors"]]
    assert codes.INTERRUPTED in codes_seen
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.takeovers == 1 and window.run_id == run.id and window.state == "done"
