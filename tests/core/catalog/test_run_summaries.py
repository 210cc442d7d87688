"""What the console's flow pages read of runs and windows without reading every run: a flow's
newest runs with their count, the runs in progress, and each flow's latest window end."""

from __future__ import annotations

from typing import Any

from lakefeed import Lakefeed
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window


def test_recent_runs_are_the_newest_oldest_first_with_the_count(
    lf: Lakefeed, make_flow: Any
) -> None:
    flow, other = make_flow(lf, "drops"), make_flow(lf, "other")
    runs = [lf.runs.start(flow.id, {"n": n}, {}) for n in range(7)]
    lf.runs.start(other.id, {}, {})

    recent, total = lf.runs.recent(flow.id, 3)

    # In list()'s order (creation time, then id: runs of one millisecond tie on time).
    assert recent == lf.runs.list(flow.id)[-3:] and total == 7
    assert lf.runs.recent(flow.id, 50) == (lf.runs.list(flow.id), 7)
    for run in runs[:6]:
        lf.runs.update(run.id, state="completed", status="success")
    assert [r.id for r in lf.runs.in_progress() if r.flow_id == flow.id] == [runs[6].id]


def test_last_ends_are_each_flows_latest_window(lf: Lakefeed, make_flow: Any) -> None:
    flow, other, idle = make_flow(lf, "a"), make_flow(lf, "b"), make_flow(lf, "c")
    claims = lf.windows.claims(owner="s", clock=ManualClock(0), lease_seconds=60)
    for flow_id, window in (
        (flow.id, Window(None, 100, 0)),
        (flow.id, Window(100, 200, 100)),
        (other.id, Window(None, 50, 0)),
    ):
        claim = claims.claim(flow_id, "local", "prod", window)
        assert claim is not None

    assert lf.windows.last_ends() == {flow.id: 200, other.id: 50}
    assert idle.id not in lf.windows.last_ends()
