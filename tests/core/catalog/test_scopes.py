"""Every store reads and changes only its own org and sandbox: called from another sandbox,
a store method neither sees nor changes a run, its heartbeat, batch, rejected rows, ledger,
backlog or windows."""

from __future__ import annotations

from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.records import now_ms
from lakefeed.catalog.row_errors import RowError
from lakefeed.errors import ResourceNotFound
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window
from lakefeed.storage.entries import FileEntry

FILE = FileEntry(path="/data/a.parquet", size=10)
REJECTED = RowError(source_file=FILE.path, row_index=3, errors=[{"code": "X"}], record={"a": 1})


@pytest.fixture
def prod_run(lf: Lakefeed, make_flow: Any) -> dict[str, Any]:
    """A flow of sandbox prod, with a run whose batch rejected a row and committed a file."""
    flow = make_flow(lf, "drops")
    run = lf.runs.start(flow.id, {}, {})
    lf.runs.set_owner(run.id, owner="gone-host:1", heartbeat_at=1000)
    batch = lf.batches.create(
        dataset_id=lf.flows.target_connection(flow.target_connection_id).dataset_id,
        run_id=run.id,
        flow_id=flow.id,
        data_prefix="file:///nowhere",
        tags={},
        entries=[FILE],
    )
    lf.row_errors.add(batch.id, 0, [REJECTED])
    lf.completion.complete_batch(
        flow_id=flow.id, run_id=run.id, batch_id=batch.id, committed=[FILE], failed=[]
    )
    lf.backlog.record(flow, [FILE], observed_at=now_ms())
    claims = lf.windows.claims(owner="scheduler", clock=ManualClock(0), lease_seconds=60)
    assert claims.claim(flow.id, "local", "prod", Window(None, 100, 0)) is not None
    return {"flow": flow, "run": lf.runs.get(run.id), "batch": batch}


def test_runs_and_heartbeats(lf: Lakefeed, dev: Lakefeed, prod_run: dict[str, Any]) -> None:
    run, flow = prod_run["run"], prod_run["flow"]

    dev.runs.heartbeat(run.id)
    dev.runs.set_owner(run.id, owner="thief", heartbeat_at=now_ms())
    assert dev.runs.adopt_interrupted(run) is False
    with pytest.raises(ResourceNotFound, match="sandbox 'dev'"):
        dev.runs.update(run.id, state="completed")
    assert dev.runs.find(run.id) is None
    assert dev.runs.list(flow.id) == [] and dev.runs.active(flow.id) == []
    assert dev.runs.last_completed([flow.id]) == {}
    assert dev.runs.in_progress() == [] and dev.runs.recent(flow.id, 10) == ([], 0)
    assert dev.windows.last_ends() == {}
    assert [r.id for r in lf.runs.in_progress()] == [run.id]
    assert lf.runs.recent(flow.id, 10) == ([run], 1) and lf.windows.last_ends() == {flow.id: 100}

    assert lf.runs.get(run.id) == run  # owner, heartbeat and state untouched
    assert (run.owner, run.heartbeat_at, run.state) == ("gone-host:1", 1000, "inProgress")


def test_batches_and_rejected_rows(lf: Lakefeed, dev: Lakefeed, prod_run: dict[str, Any]) -> None:
    batch = prod_run["batch"]

    with pytest.raises(ResourceNotFound):
        dev.batches.get(batch.id)
    assert dev.batches.files(batch.id) == [] and dev.batches.list() == []
    dev.batches.record_file(batch.id, FILE.path, status="failed", error={"code": "X"})
    with pytest.raises(ResourceNotFound):
        dev.row_errors.add(batch.id, 1, [REJECTED])
    dev.row_errors.forget_file(batch.id, FILE.path)
    with pytest.raises(ResourceNotFound):
        dev.row_errors.count(batch.id)
    with pytest.raises(ResourceNotFound):
        list(dev.row_errors.list(batch.id))

    (planned,) = lf.batches.files(batch.id)
    assert planned.status == "planned" and planned.error is None and planned.entry == FILE
    assert list(lf.row_errors.list(batch.id)) == [REJECTED]


def test_ledger_backlog_and_windows(lf: Lakefeed, dev: Lakefeed, prod_run: dict[str, Any]) -> None:
    flow, run = prod_run["flow"], prod_run["run"]

    assert dev.ledger.entries(flow.id) == []
    dev.ledger.forget(flow.id)
    dev.backlog.forget(flow.id)
    dev.windows.forget(flow.id)
    assert dev.backlog.get(flow.id) is None and dev.windows.of_flow(flow.id) == []
    assert dev.backlog.of_flows() == {} and dev.backlog.of_flows([flow.id]) == {}
    with pytest.raises(ResourceNotFound, match="sandbox 'dev'"):
        dev.completion.complete_batch(
            flow_id=flow.id,
            run_id=run.id,
            batch_id=prod_run["batch"].id,
            committed=[],
            failed=[(FILE, {"code": "X"})],
            batch_values={"status": "failed"},
            run_values={"state": "completed", "status": "failed"},
        )

    (entry,) = lf.ledger.entries(flow.id)
    assert (entry.entry, entry.status, entry.run_id) == (FILE, "committed", run.id)
    assert lf.batches.get(prod_run["batch"].id).status == "loading"
    assert lf.runs.get(run.id).state == "inProgress"
    assert lf.backlog.get(flow.id) is not None
    assert lf.backlog.of_flows() == {flow.id: lf.backlog.get(flow.id)}
    (window,) = lf.windows.of_flow(flow.id)
    assert (window.window_end, window.state) == (100, "running")
