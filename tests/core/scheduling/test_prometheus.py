"""/metrics text: backlog, last run and pick-up latency per flow; escaping of label values."""

from __future__ import annotations

import re

from ingestion_suite import Scenario
from lakefeed.schedules.clock import ManualClock
from lakefeed.scheduling.prometheus import render
from lakefeed.scheduling.scheduler import Scheduler


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in:\n{text}")


def test_flow_series_and_scheduler_counters(scenario: Scenario, start: int) -> None:
    scenario.put("a.parquet", scenario.profiles(6, 0))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "hour", "interval": 1})
    scenario.lf.flows.update_flow(flow.id, name='night "drops" \\ eu')
    clock = ManualClock(start)
    scheduler = Scheduler(scenario.lf, clock=clock)
    scheduler.tick()
    clock.set(start + 3600)
    scheduler.tick()  # finds nothing new: the pick-up series stays the first run's

    text = render(scenario.lf.monitoring, scheduler)
    assert 'flow="night \\"drops\\" \\\\ eu"' in text  # escaped as the text format wants
    assert sample(text, "lakefeed_flow_enabled", flow_id=flow.id) == 1
    assert sample(text, "lakefeed_flow_backlog_files", flow_id=flow.id) == 0
    assert sample(text, "lakefeed_flow_backlog_oldest_age_seconds", flow_id=flow.id) == 0
    assert sample(text, "lakefeed_flow_last_run_success", flow_id=flow.id) == 1
    slowest = sample(text, "lakefeed_flow_pickup_latency_seconds", flow_id=flow.id, quantile="1")
    assert 0 <= slowest < 600
    assert sample(text, "lakefeed_runs_total", status="success") == 2
    assert re.search(r"^lakefeed_scheduler_windows_claimed_total 2$", text, re.M)

    scenario.put("b.parquet", scenario.profiles(3, 100))
    scenario.lf.flows.set_flow_state(flow.id, "disabled")
    scenario.lf.discover_backlog(flow.id)
    text = render(scenario.lf.monitoring)
    assert sample(text, "lakefeed_flow_enabled", flow_id=flow.id) == 0
    assert sample(text, "lakefeed_flow_backlog_files", flow_id=flow.id) == 1
    assert sample(text, "lakefeed_flow_backlog_oldest_age_seconds", flow_id=flow.id) >= 0
    assert "lakefeed_scheduler_" not in text  # no scheduler in this process
    oldest = scenario.lf.backlog.get(flow.id).oldest_mtime  # type: ignore[union-attr]
    later = render(scenario.lf.monitoring, now=oldest + 5000)
    assert sample(later, "lakefeed_flow_backlog_oldest_age_seconds", flow_id=flow.id) == 5.0


def test_runs_in_progress_and_waiting_are_one_series_each(scenario: Scenario, start: int) -> None:
    flow = scenario.flow(schedule={"startTime": start, "frequency": "once"})
    scenario.lf.start_run(flow)  # in progress
    scenario.lf.request_run(flow, {"startTime": str(start + 3600)}, now=start)
    text = render(scenario.lf.monitoring)
    assert [
        line for line in text.splitlines() if line.startswith("lakefeed_runs_in_progress{")
    ] == ['lakefeed_runs_in_progress{ims_org_id="local",sandbox="prod"} 1']
    assert sample(text, "lakefeed_runs_scheduled", sandbox="prod") == 1
