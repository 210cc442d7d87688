"""The scheduler on a manual clock: due windows, backfill, catch-up, disabled and busy flows,
takeover of a dead scheduler's window."""

from __future__ import annotations

from typing import Any

import pytest

from ingestion_suite import Scenario, expected_ids, file_summary
from lakefeed.catalog.runs import Run
from lakefeed.catalog.windows import WindowClaims
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window
from lakefeed.scheduling.scheduler import Scheduler

HOUR = 3600


def hourly(start: int, **extra: Any) -> dict[str, Any]:
    return {"startTime": start, "frequency": "hour", "interval": 1, **extra}


def window_of(run: Run) -> tuple[int | None, int | None]:
    copy = next(a for a in run.activities if a["id"] == "copyActivity")
    ext = copy["durationSummary"]["extensions"]
    return ext["windowStart"], ext["windowEnd"]


def test_runs_at_each_boundary_and_only_then(scenario: Scenario, start: int) -> None:
    scenario.put("a.parquet", scenario.profiles(10, 0))
    flow = scenario.flow(schedule=hourly(start))
    clock = ManualClock(start - 5)
    scheduler = Scheduler(scenario.lf, clock=clock)

    assert scheduler.tick() == []  # before startTime

    clock.set(start + 2)
    (first,) = scheduler.tick()
    assert first.status == "success" and first.flow_id == flow.id
    assert scenario.ids() == expected_ids((0, 10))  # backfill: the file already there
    assert window_of(first) == (None, start * 1000)
    assert first.params == {
        "startTime": str(start), "windowStartTime": "0", "windowEndTime": str(start)
    }  # fmt: skip

    clock.set(start + HOUR - 1)
    assert scheduler.tick() == []  # not due again yet

    scenario.put("b.parquet", scenario.profiles(5, 100))
    clock.set(start + HOUR + 1)
    (second,) = scheduler.tick()
    assert file_summary(second)["inputFileCount"] == 1
    assert window_of(second) == (start * 1000, (start + HOUR) * 1000)
    assert scenario.ids() == expected_ids((0, 10), (100, 5))
    assert scheduler.tick() == []
    windows = scenario.lf.windows.of_flow(flow.id)
    assert [(w.window_end, w.state) for w in windows] == [
        (start, "done"), (start + HOUR, "done")
    ]  # fmt: skip
    assert [w.run_id for w in windows] == [first.id, second.id]


def test_backfill_false_leaves_files_from_before_the_start(scenario: Scenario, start: int) -> None:
    scenario.put("old.parquet", scenario.profiles(10, 0))  # modified now, before start
    scenario.flow(schedule=hourly(start, backfill=False))
    clock = ManualClock(start)
    scheduler = Scheduler(scenario.lf, clock=clock)
    (first,) = scheduler.tick()
    assert file_summary(first)["skippedFileCount"] == 1
    assert window_of(first) == (start * 1000, start * 1000)
    assert scenario.rows().num_rows == 0


def test_a_scheduler_that_was_down_runs_one_catch_up(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule=hourly(start))
    clock = ManualClock(start)
    scheduler = Scheduler(scenario.lf, clock=clock)
    assert len(scheduler.tick()) == 1
    scenario.put("a.parquet", scenario.profiles(7, 0))

    clock.set(start + 5 * HOUR + 600)  # five boundaries missed
    (catch_up,) = scheduler.tick()
    assert window_of(catch_up) == (start * 1000, (start + 5 * HOUR) * 1000)
    assert file_summary(catch_up)["inputFileCount"] == 1
    assert scheduler.tick() == []
    assert len(scenario.lf.runs.list(flow.id)) == 2


def test_disabled_flows_never_run_and_catch_up_once_enabled(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule=hourly(start))
    scenario.lf.flows.set_flow_state(flow.id, "disabled")
    clock = ManualClock(start + 1)
    scheduler = Scheduler(scenario.lf, clock=clock)
    for hours in range(4):
        clock.set(start + hours * HOUR + 1)
        assert scheduler.tick() == []
    assert scenario.lf.runs.list(flow.id) == []

    scenario.lf.flows.set_flow_state(flow.id, "enabled")
    (run,) = scheduler.tick()
    assert window_of(run) == (None, (start + 3 * HOUR) * 1000)


def test_a_once_flow_runs_at_its_start_and_not_again(scenario: Scenario, start: int) -> None:
    scenario.put("a.parquet", scenario.profiles(3, 0))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "once"})
    clock = ManualClock(start - 1)
    scheduler = Scheduler(scenario.lf, clock=clock)
    assert scheduler.tick() == []
    clock.set(start)
    assert len(scheduler.tick()) == 1
    clock.set(start + 10 * HOUR)
    assert scheduler.tick() == []
    assert len(scenario.lf.runs.list(flow.id)) == 1


def test_a_once_flow_run_on_demand_is_not_run_again_by_the_scheduler(
    scenario: Scenario, start: int
) -> None:
    flow = scenario.flow(schedule={"startTime": start, "frequency": "once"})
    scenario.lf.run_flow(flow)
    assert Scheduler(scenario.lf, clock=ManualClock(start + 5)).tick() == []


def test_a_busy_flow_gives_its_window_back_and_runs_it_later(
    scenario: Scenario, start: int
) -> None:
    flow = scenario.flow(schedule=hourly(start))
    by_hand = scenario.lf.start_run(flow)  # a run started by hand, still going
    scheduler = Scheduler(scenario.lf, clock=ManualClock(start + 1))
    assert scheduler.tick() == []
    assert scheduler.stats.released == 1
    assert scenario.lf.windows.of_flow(flow.id) == []  # given back: due again

    by_hand.execute()
    (run,) = scheduler.tick()
    assert window_of(run) == (None, start * 1000)


def test_a_window_whose_lease_expired_is_taken_over(scenario: Scenario, start: int) -> None:
    scenario.put("a.parquet", scenario.profiles(4, 0))
    flow = scenario.flow(schedule=hourly(start))
    dead = WindowClaims(
        scenario.lf.db, owner="dead-host:1:x", clock=ManualClock(start), lease_seconds=60
    )
    claim = dead.claim(flow.id, "local", "prod", Window(None, start, 0))
    assert claim is not None

    clock = ManualClock(start + 30)
    scheduler = Scheduler(scenario.lf, clock=clock, lease_seconds=60)
    assert scheduler.tick() == []  # the lease still holds: no overlap
    assert scenario.lf.runs.list(flow.id) == []

    clock.set(start + 61)
    (run,) = scheduler.tick()
    assert run.status == "success" and scenario.ids() == expected_ids((0, 4))
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.owner == scheduler.owner and window.takeovers == 1
    assert window.state == "done" and window.run_id == run.id
    assert dead.renew(claim) is False  # the dead scheduler's lease is gone for good


def test_two_schedulers_in_one_process_share_windows(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule=hourly(start))
    clock = ManualClock(start)
    one, two = Scheduler(scenario.lf, clock=clock), Scheduler(scenario.lf, clock=clock)
    claimed = one.due_claims() + two.due_claims()
    assert len(claimed) == 1  # the same window: one insert wins
    assert two.due_claims() == []  # and the flow is busy while it runs
    one.run_claim(claimed[0])
    clock.set(start + HOUR)
    assert len(two.tick()) == 1 and one.tick() == []
    assert len(scenario.lf.runs.list(flow.id)) == 2


def test_a_flow_deleted_after_its_claim_is_not_run(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule=hourly(start))
    scheduler = Scheduler(scenario.lf, clock=ManualClock(start))
    (claim,) = scheduler.due_claims()
    scenario.lf.delete_flow(flow.id)
    assert scheduler.run_claim(claim) is None


def test_backlog_is_recorded_by_runs(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule=hourly(start))
    scheduler = Scheduler(scenario.lf, clock=ManualClock(start), discover_every=0)
    scheduler.tick()
    backlog = scenario.lf.backlog.get(flow.id)
    assert backlog is not None and backlog.files == 0
    scenario.put("a.parquet", scenario.profiles(4, 0))
    scheduler.tick()  # not due: discovery lists the source
    backlog = scenario.lf.backlog.get(flow.id)
    assert backlog is not None and backlog.files == 1 and backlog.bytes > 0
    assert backlog.oldest_mtime is not None and backlog.oldest_age_ms() is not None


@pytest.mark.parametrize("bad_row", [False, True])
def test_pickup_latency_is_in_the_run_metrics(
    scenario: Scenario, start: int, bad_row: bool
) -> None:
    scenario.put("a.parquet", scenario.profiles(4, 0, bad={1: "loyalty_id"} if bad_row else None))
    scenario.flow(schedule=hourly(start))
    (run,) = Scheduler(scenario.lf, clock=ManualClock(start)).tick()
    pickup = run.metrics["durationSummary"].get("extensions", {}).get("pickupLatency")
    if bad_row:  # the batch failed: nothing was picked up
        assert run.status == "failed" and pickup is None
    else:
        assert pickup["files"] == 1 and 0 <= pickup["minMs"] <= pickup["maxMs"] < 600_000


def test_one_scheduler_runs_the_flows_of_every_org_and_sandbox(
    scenario: Scenario, start: int
) -> None:
    from lakefeed import Lakefeed
    from lakefeed.catalog.records import Scope
    from lakefeed.testing.profiles import create_profile_schema, profile_table

    scenario.put("mine/a.parquet", scenario.profiles(5, 0))
    mine = scenario.flow(path=f"{scenario.folder}/mine", schedule=hourly(start))
    other = Lakefeed(home=scenario.home, scope=Scope("ACME@AdobeOrg", "dev"))
    scenario.put("theirs/b.parquet", profile_table(4, start=50, tenant_id=other.schemas.tenant_id))
    connection = other.create_connection("drops", "local-files", None, scenario.source.params)
    dataset = other.datasets.create("theirs", create_profile_schema(other.schemas)["$id"])
    source = other.flows.create_source_connection(
        name="s", base_connection_id=connection.id, path=f"{scenario.folder}/theirs",
        recursive=True,
        data_format="parquet_xdm",
    )  # fmt: skip
    target = other.flows.create_target_connection(name="t", dataset_id=dataset.id)
    theirs = other.flows.create_flow(name="theirs", source_connection_ids=[source.id],
                                     target_connection_ids=[target.id],
                                     schedule=hourly(start))  # fmt: skip

    runs = Scheduler(scenario.lf, clock=ManualClock(start)).tick()

    assert sorted(r.flow_id for r in runs) == sorted([mine.id, theirs.id])
    their_run = other.runs.get(next(r.id for r in runs if r.flow_id == theirs.id))
    assert their_run.status == "success", their_run.metrics
    assert other.datasets.read(dataset).num_rows == 4
    assert scenario.ids() == expected_ids((0, 5))


def test_an_on_demand_run_with_a_later_start_waits_for_it(scenario: Scenario, start: int) -> None:
    from lakefeed.flows.runner import RunHandle

    scenario.put("a.parquet", scenario.profiles(3, 0))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "once"})
    later = start + 3600
    params = {"startTime": str(later), "windowStartTime": "0", "windowEndTime": str(later)}
    scheduled = scenario.lf.request_run(flow, params, now=start)
    assert not isinstance(scheduled, RunHandle) and scheduled.state == "scheduled"
    metrics = scenario.lf.runs.get(scheduled.id).to_dict()["metrics"]
    assert metrics["statusSummary"]["status"] == "scheduled"
    assert metrics["fileSummary"]["inputFileCount"] == 0  # the full shape, for every reader

    clock = ManualClock(start + 5)
    one, two = Scheduler(scenario.lf, clock=clock), Scheduler(scenario.lf, clock=clock)
    one.tick()  # the once flow's own window at startTime: it has a run, so it is not run
    assert scenario.lf.runs.get(scheduled.id).state == "scheduled"
    clock.set(later)
    (run,) = one.tick()
    assert run.id == scheduled.id and run.status == "success"
    assert scenario.ids() == expected_ids((0, 3))
    assert two.tick() == [] and len(scenario.lf.runs.list(flow.id)) == 1

    # A run whose flow was disabled meanwhile ends unrun, with the reason.
    waiting = scenario.lf.request_run(flow, {"startTime": str(later + 900)}, now=later)
    assert not isinstance(waiting, RunHandle)
    scenario.lf.flows.set_flow_state(flow.id, "disabled")
    clock.set(later + 900)
    assert one.tick() == []
    closed = scenario.lf.runs.get(waiting.id)
    assert closed.state == "completed" and closed.status == "failed"
    assert closed.metrics["statusSummary"]["errors"][0]["code"] == "LF-1388"


def test_only_the_latest_windows_are_kept(scenario: Scenario, start: int) -> None:
    from lakefeed.catalog.windows import KEEP_WINDOWS

    flow = scenario.flow(schedule=hourly(start))
    clock = ManualClock(start)
    scheduler = Scheduler(scenario.lf, clock=clock)
    for hour in range(KEEP_WINDOWS + 5):
        clock.set(start + hour * HOUR)
        assert len(scheduler.tick()) == 1
    ends = [w.window_end for w in scenario.lf.windows.of_flow(flow.id)]
    assert len(ends) == KEEP_WINDOWS  # the latest ones
    assert ends[-1] == start + (KEEP_WINDOWS + 4) * HOUR
    clock.set(start + (KEEP_WINDOWS + 5) * HOUR)
    (run,) = scheduler.tick()  # the chain goes on after pruning
    assert window_of(run) == ((start + (KEEP_WINDOWS + 4) * HOUR) * 1000,
                              (start + (KEEP_WINDOWS + 5) * HOUR) * 1000)  # fmt: skip


def test_a_busy_daemon_starts_the_next_due_window_when_a_run_ends(scenario: Scenario) -> None:
    import threading
    import time

    soon = int(time.time()) + 1
    flows = [scenario.flow(path=f"{scenario.folder}/f{n}", schedule=hourly(soon))
             for n in range(3)]  # fmt: skip
    for n in range(3):
        scenario.put(f"f{n}/a.parquet", scenario.profiles(3, n * 10))
    while time.time() < soon:
        time.sleep(0.05)
    scheduler = Scheduler(scenario.lf, poll_seconds=60, max_concurrent_runs=1)
    stop = threading.Event()
    daemon = threading.Thread(target=scheduler.run_forever, args=(stop,))
    daemon.start()
    try:
        deadline = time.monotonic() + 30  # one poll is 60 s: each run must start the next
        while time.monotonic() < deadline:
            done = [r for f in flows for r in scenario.lf.runs.list(f.id)
                    if r.state == "completed"]  # fmt: skip
            if len(done) == 3:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        daemon.join(timeout=60)
    assert len(done) == 3, "the daemon waited a whole poll between runs"


def test_a_guard_can_refuse_a_run_and_the_run_says_why(scenario: Scenario, start: int) -> None:
    from lakefeed.api.local_roots import check_flow
    from lakefeed.config import Settings

    scenario.put("a.parquet", scenario.profiles(2, 0))
    scenario.flow(schedule=hourly(start))
    scenario.lf.settings = Settings.load(scenario.home)  # LAKEFEED_LOCAL_ROOTS unset
    (run,) = Scheduler(scenario.lf, clock=ManualClock(start), guard=check_flow).tick()
    assert run.status == "failed"
    (error,) = run.metrics["statusSummary"]["errors"]
    assert error["code"] == "LF-2120" and "LAKEFEED_LOCAL_ROOTS" in error["message"]
    assert scenario.rows().num_rows == 0


def test_the_daemon_lists_sources_between_runs_on_its_own_thread(scenario: Scenario) -> None:
    import threading
    import time

    scenario.put("a.parquet", scenario.profiles(2, 0))
    flow = scenario.flow(schedule=hourly(int(time.time()) + 3600))  # not due for an hour
    scheduler = Scheduler(scenario.lf, poll_seconds=0.2, discover_every=0)
    stop = threading.Event()
    daemon = threading.Thread(target=scheduler.run_forever, args=(stop,))
    daemon.start()
    try:
        deadline = time.monotonic() + 30
        while scenario.lf.backlog.get(flow.id) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        daemon.join(timeout=60)
    backlog = scenario.lf.backlog.get(flow.id)
    assert backlog is not None and backlog.files == 1
    assert scenario.lf.runs.list(flow.id) == []
