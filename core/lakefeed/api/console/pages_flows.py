"""Flows and runs in the console: the flows list (state, schedule, next run, last run, backlog,
filters), a flow (its connections, dataset, mapping, schedule, a timeline of runs; enable,
disable, run now, retry) and a run (metrics, per-file outcomes, rejected rows with their
reasons, the failed rows to download).

Actions call what the REST routes call: ``set_flow_state`` (``POST /flows/{id}/action``),
``run_now`` (``POST /flows/{id}/runs``), ``retrigger`` (``POST /runs/{id}/action``), each
started run executed by the server's run workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from lakefeed.api.console.charts import durations_chart, points_from_runs, records_chart
from lakefeed.api.console.web import (
    PAGE_HEADERS,
    PATH,
    UserDep,
    checked_form,
    render,
    url,
)
from lakefeed.api.export import _error_file, _error_file_names, _rejected
from lakefeed.api.run_workers import retrigger, run_now
from lakefeed.catalog.backlog import Backlog, shown
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.runs import Run
from lakefeed.datasets.dataset_files import first_names
from lakefeed.engine import Lakefeed
from lakefeed.errors import LakefeedError, ResourceNotFound
from lakefeed.flows.metrics import run_outcome
from lakefeed.schedules.windows import next_run_at

router = APIRouter()

#: A flow is late when its next run was due this long ago and none is running.
LATE_AFTER_SECONDS = 300
STATES = ("enabled", "disabled")
OUTCOMES = ("success", "partial", "failed", "inProgress", "never", "late")
REJECTED_ON_PAGE = 100
RUNS_ON_PAGE = 50


def _schedule_text(params: dict[str, Any]) -> str:
    frequency = str(params.get("frequency", "once"))
    if frequency == "once":
        return "once"
    interval = params.get("interval", 1)
    return f"every {interval} {frequency}s" if str(interval) != "1" else f"every {frequency}"


@dataclass(frozen=True)
class RunFacts:
    """What the flows list knows of every flow's runs, read in four queries whatever the
    number of flows and runs: the latest completed run, the run in progress, the end of the
    latest scheduled window (where the scheduler takes the schedule up) and the recorded
    backlog, by flow id."""

    last: dict[str, Run]
    running: dict[str, Run]
    window_ends: dict[str, int]
    backlogs: dict[str, Backlog]

    @classmethod
    def read(cls, lf: Lakefeed, flow_ids: list[str] | None = None) -> RunFacts:
        running = {run.flow_id: run for run in lf.runs.in_progress()}
        return cls(
            lf.runs.last_completed(flow_ids),
            running,
            lf.windows.last_ends(),
            lf.backlog.of_flows(flow_ids),
        )


def _flow_summary(flow: Flow, facts: RunFacts, now: float) -> dict[str, Any]:
    """What the flows list shows of one flow."""
    running = facts.running.get(flow.id)
    last = facts.last.get(flow.id)
    end = facts.window_ends.get(flow.id)
    due = next_run_at(
        flow.schedule_params,
        enabled=flow.state == "enabled",
        window_ends=() if end is None else (end,),
        has_run=last is not None or running is not None,
        now=now,
    )
    status = "never"
    if running is not None:
        status = "inProgress"
    elif last is not None:
        status = run_outcome(last.metrics)
    late = due is not None and running is None and due < now - LATE_AFTER_SECONDS
    backlog = shown(flow.id, facts.backlogs.get(flow.id))
    return {
        "flow": flow,
        "schedule": _schedule_text(flow.schedule_params),
        "next_run": due,
        "due": due is not None and due <= now,
        "late": late,
        "status": status,
        "last": last,
        "running": running,
        "backlog": backlog,
    }


def _matches(row: dict[str, Any], state: str, status: str, text: str) -> bool:
    flow: Flow = row["flow"]
    if state and flow.state != state:
        return False
    if status == "late":
        if not row["late"]:
            return False
    elif status and row["status"] != status:
        return False
    return not text or text.casefold() in f"{flow.name} {flow.id}".casefold()


@router.get("/flows", response_class=HTMLResponse)
def flows_page(
    request: Request,
    user: UserDep,
    state: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Every flow of the sandbox, with what an operator checks first."""
    lf = user.lf
    state = state if state in STATES else ""
    status = status if status in OUTCOMES else ""
    facts = RunFacts.read(lf)
    now = time.time()
    rows = [_flow_summary(flow, facts, now) for flow in lf.flows.list_flows()]
    shown = [row for row in rows if _matches(row, state, status, q.strip())]
    counts = {
        "failed": sum(row["status"] == "failed" for row in rows),
        "late": sum(row["late"] for row in rows),
        "running": sum(row["status"] == "inProgress" for row in rows),
    }
    return render(
        request,
        user,
        "flows.html",
        active="flows",
        rows=shown,
        total=len(rows),
        counts=counts,
        state=state,
        status=status,
        q=q.strip(),
        states=STATES,
        outcomes=OUTCOMES,
    )


def _flow_parts(lf: Lakefeed, flow: Flow) -> dict[str, Any]:
    """The flow's source and target connections, base connection, dataset and mapping set,
    each None when it is gone."""

    def found(read: Any, id: str | None) -> Any:
        if not id:
            return None
        try:
            return read(id)
        except LakefeedError:
            return None

    source = found(lf.flows.source_connection, flow.source_connection_id)
    target = found(lf.flows.target_connection, flow.target_connection_ids[0])
    connection = found(lf.connections.get, source.base_connection_id if source else None)
    # Only what the page shows: a template never holds the connection's (decrypted) auth.
    base = None
    if connection is not None:
        spec = connection.connection_spec_id
        base = {"id": connection.id, "name": connection.name, "spec": spec}
    dataset = found(lf.datasets.get, (target.params or {}).get("dataSetId") if target else None)
    mapping_ids = [
        str(t.get("params", {}).get("mappingId"))
        for t in flow.transformations
        if t.get("params", {}).get("mappingId")
    ]
    return {
        "source": source,
        "target": target,
        "base": base,
        "dataset": dataset,
        "mapping_ids": mapping_ids,
    }


@router.get("/flows/{id}", response_class=HTMLResponse)
def flow_page(request: Request, user: UserDep, id: str) -> HTMLResponse:
    """One flow: what it reads and writes, its schedule, and its runs as charts and a table."""
    lf = user.lf
    flow = lf.flows.flow(id)
    shown, run_count = lf.runs.recent(flow.id, RUNS_ON_PAGE)
    now = time.time()
    summary = _flow_summary(flow, RunFacts.read(lf, [flow.id]), now)
    points = points_from_runs(
        [run.to_dict() for run in shown],
        lambda run_id: url(request, f"{PATH}/runs/{quote(run_id, safe='')}"),
        now_ms=int(now * 1000),
    )
    return render(
        request,
        user,
        "flow.html",
        active="flows",
        row=summary,
        flow=flow,
        parts=_flow_parts(lf, flow),
        runs=[{"run": run, "outcome": run_outcome(run.metrics)} for run in reversed(shown)],
        run_count=run_count,
        records_chart=records_chart(points),
        durations_chart=durations_chart(points),
    )


def _back_to_flow(request: Request, flow_id: str) -> RedirectResponse:
    return RedirectResponse(url(request, f"{PATH}/flows/{flow_id}"), status_code=303)


@router.post("/flows/{id}/enable")
async def enable_flow(request: Request, user: UserDep, id: str) -> RedirectResponse:
    await checked_form(request, user)
    flow = await run_in_threadpool(user.lf.flows.set_flow_state, id, "enabled")
    return _back_to_flow(request, flow.id)


@router.post("/flows/{id}/disable")
async def disable_flow(request: Request, user: UserDep, id: str) -> RedirectResponse:
    await checked_form(request, user)
    flow = await run_in_threadpool(user.lf.flows.set_flow_state, id, "disabled")
    return _back_to_flow(request, flow.id)


@router.post("/flows/{id}/run")
async def run_flow_now(request: Request, user: UserDep, id: str) -> RedirectResponse:
    """Run now, as ``POST /flows/{id}/runs``: to the new run's page."""
    await checked_form(request, user)
    run = await run_in_threadpool(run_now, request, user.lf, id)
    return RedirectResponse(url(request, f"{PATH}/runs/{run.id}"), status_code=303)


@router.post("/runs/{id}/retry")
async def retry_run(request: Request, user: UserDep, id: str) -> RedirectResponse:
    """Run a failed run's window again, as ``POST /runs/{id}/action?op=RE_TRIGGER``."""
    await checked_form(request, user)
    run = await run_in_threadpool(retrigger, request, user.lf, id)
    return RedirectResponse(url(request, f"{PATH}/runs/{run.id}"), status_code=303)


def _rejected_rows(lf: Lakefeed, batch_id: str | None, offset: int) -> dict[str, Any]:
    if batch_id is None:
        return {"rows": [], "total": 0, "files": []}
    total = lf.row_errors.count(batch_id)
    rows = list(_rejected(lf.row_errors, batch_id, limit=REJECTED_ON_PAGE, offset=offset))
    return {"rows": rows, "total": total, "files": _error_file_names(lf.row_errors, batch_id)}


@router.get("/runs/{id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    user: UserDep,
    id: str,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    """One run: its metrics, each file's outcome, and the rows it rejected with the reasons."""
    lf = user.lf
    run = lf.runs.get(id)
    batch_id = run.batch_id
    try:
        flow: Flow | None = lf.flows.flow(run.flow_id)
    except LakefeedError:
        flow = None
    files = list(lf.batches.files(batch_id)) if batch_id else []
    metrics = run.metrics
    extensions = (metrics.get("statusSummary") or {}).get("extensions") or {}
    return render(
        request,
        user,
        "run.html",
        active="flows",
        run=run,
        flow=flow,
        outcome=run_outcome(metrics),
        metrics=metrics,
        errors=(metrics.get("statusSummary") or {}).get("errors") or [],
        file_errors=extensions.get("fileErrors") or [],
        files=files,
        batch_id=batch_id,
        rejected=_rejected_rows(lf, batch_id, offset),
        offset=offset,
        page_size=REJECTED_ON_PAGE,
        running=run.state != "completed",
    )


@router.get("/runs/{id}/failed/{name}")
def failed_rows(request: Request, user: UserDep, id: str, name: str) -> StreamingResponse:
    """One file of the run's rejected rows with their reasons (JSON Lines), as ``GET
    /export/batches/{id}/failed?path=…`` gives it."""
    lf = user.lf
    batch_id = lf.runs.get(id).batch_id
    names = _error_file_names(lf.row_errors, batch_id) if batch_id else []
    if batch_id is None or name not in names:
        raise ResourceNotFound(
            f"Run {id} has no failed-rows file {name[:200]!r} (it has: {first_names(names)}).",
            fix="Use the download links on the run's page.",
        )
    return StreamingResponse(
        _error_file(lf.row_errors, batch_id, names, name),
        media_type="application/x-ndjson",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{id}-{name}"'},
    )
