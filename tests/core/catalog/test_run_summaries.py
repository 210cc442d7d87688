"""What the console's flow pages read of runs, windows and backlogs without reading every run
or flow one by one: a flow's newest runs with their count, the runs in progress, each flow's
latest window end and every flow's recorded backlog."""

from __future__ import annotations

from typing import Any

from lakefeed import Lakefeed
from lakefeed.catalog.backlog import shown
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window
from lakefeed.storage.entries import FileEntry


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


def test_backlogs_of_flows_are_read_at_once_and_a_flow_never_listed_has_none(
    lf: Lakefeed, make_flow: Any
) -> None:
    listed, emptied, never = make_flow(lf, "a"), make_flow(lf, "b"), make_flow(lf, "c")
    waiting = [FileEntry(path="/in/x.parquet", size=7), FileEntry(path="/in/y.parquet", size=5)]
    lf.backlog.record(listed, waiting, observed_at=1_000)
    lf.backlog.record(emptied, [], observed_at=2_000)

    every = lf.backlog.of_flows()
    assert every == {listed.id: lf.backlog.get(listed.id), emptied.id: lf.backlog.get(emptied.id)}
    assert (every[listed.id].files, every[listed.id].bytes) == (2, 12)
    assert lf.backlog.of_flows([emptied.id, never.id]) == {emptied.id: every[emptied.id]}
    assert lf.backlog.of_flows([]) == {}
    # As the API shows them: all null for a flow whose source was never listed.
    assert shown(never.id, None) == lf.backlog_of(never.id)
    assert shown(never.id, None)["files"] is None
    assert shown(listed.id, every[listed.id]) == lf.backlog_of(listed.id)  # no mtimes: no age
