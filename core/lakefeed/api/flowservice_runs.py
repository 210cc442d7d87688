"""``/runs``: list and read runs with their metrics and activities; ``POST /runs`` starts an
on-demand run of a ``once`` flow and ``POST /runs/{id}/action?op=RE_TRIGGER`` re-runs a failed
one. Runs are answered at once and executed in the server's worker pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from lakefeed.api.flowservice_bodies import RunBody
from lakefeed.api.flowservice_common import CallerDep, ListQuery, items
from lakefeed.api.local_roots import check_flow
from lakefeed.api.run_workers import execute_in_background, retrigger
from lakefeed.errors import InvalidRequest

router = APIRouter(tags=["flowservice"])


@router.get("/runs")
def list_runs(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """Runs of the caller's sandbox; ``property=flowId==<id>``,
    ``property=metrics.statusSummary.status==failed`` and the like filter them."""
    # Runs pile up with schedules: read only the flow's when the filter names one.
    runs = who.lf.runs.list(query.equals("flowId"))
    return query.page([r.to_dict() for r in runs], "runs")


@router.get("/runs/{id}")
def get_run(who: CallerDep, id: str) -> dict[str, Any]:
    return items(who.lf.runs.get(id).to_dict())


@router.post("/runs", status_code=201)
def create_run(who: CallerDep, body: RunBody, request: Request) -> JSONResponse:
    """Start a run of a flow whose ``scheduleParams.frequency`` is ``once`` and which is
    enabled; with ``windowEndTime`` the run takes only files last modified in the window. A
    ``startTime`` more than a minute ahead makes the run ``scheduled``: a scheduler starts it
    then.
    409 while another run of the flow is in progress. Answers ``{"items": [{"id", "etag"}]}``;
    ``GET /runs/{id}`` follows the run to completion."""
    from lakefeed.flows.runner import RunHandle

    lf = who.lf
    flow = lf.flows.flow(body.flowId)
    sent = {k: v for k, v in body.params.model_dump().items() if v is not None}
    lf.check_run_params(flow, sent)
    check_flow(lf, flow)
    started = lf.request_run(flow, sent)
    if isinstance(started, RunHandle):
        execute_in_background(request, started)
        run = started.run
    else:
        run = started
    return JSONResponse({"items": [{"id": run.id, "etag": run.etag}]}, status_code=201)


@router.post("/runs/{id}/action")
def run_action(who: CallerDep, id: str, request: Request, op: Annotated[str, Query()]) -> Any:
    """``op=RE_TRIGGER``: run a failed run's window again, retrying the files that failed in
    it. The flow must be enabled (LF-1388) and the run failed (LF-1387). Answers the new run."""
    if op.strip().upper().replace("-", "_") != "RE_TRIGGER":
        raise InvalidRequest(f"Unknown run action {op!r} (supported: RE_TRIGGER).",
                             fix="Use op=RE_TRIGGER.")  # fmt: skip
    return items(retrigger(request, who.lf, id).to_dict())
