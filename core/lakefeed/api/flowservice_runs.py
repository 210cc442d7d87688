"""``/runs``: list and read runs with their metrics and activities; ``POST /runs`` starts an
on-demand run of a ``once`` flow and ``POST /runs/{id}/action?op=RE_TRIGGER`` re-runs a failed
one. Runs are answered at once and executed in the server's worker pool."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from lakefeed.api.app import submit_run
from lakefeed.api.flowservice_bodies import RunBody
from lakefeed.api.flowservice_common import CallerDep, ListQuery, items
from lakefeed.api.local_roots import check_flow
from lakefeed.errors import InvalidRequest

if TYPE_CHECKING:
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.runner import FlowRunner

log = logging.getLogger("lakefeed.api")
router = APIRouter(tags=["flowservice"])


@router.get("/runs")
def list_runs(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """Runs of the caller's sandbox; ``property=flowId==<id>``,
    ``property=metrics.statusSummary.status==failed`` and the like filter them."""
    # Runs pile up with schedules: read only the flow's when the filter names one.
    runs = who.lf.runs.list_runs(query.equals("flowId"))
    return query.page([r.to_dict() for r in runs], "runs")


@router.get("/runs/{id}")
def get_run(who: CallerDep, id: str) -> dict[str, Any]:
    return items(who.lf.runs.run(id).to_dict())


def execute_in_background(request: Request, runner: FlowRunner, run: Run) -> None:
    """Hand a started run to the server's worker pool."""

    def execute() -> None:
        try:
            runner.execute(run)
        except BaseException:
            # execute() has recorded the failure in the run; the log keeps the traceback.
            log.exception("run %s of flow %s failed", run.id, run.flow_id)

    submit_run(request.app, execute)


@router.post("/runs", status_code=201)
def create_run(who: CallerDep, body: RunBody, request: Request) -> JSONResponse:
    """Start a run of a flow whose ``scheduleParams.frequency`` is ``once`` and which is
    enabled; with ``windowEndTime`` the run takes only files last modified in the window. A
    ``startTime`` more than a minute ahead makes the run ``scheduled``: a scheduler starts it
    then.
    409 while another run of the flow is in progress. Answers ``{"items": [{"id", "etag"}]}``;
    ``GET /runs/{id}`` follows the run to completion."""
    from lakefeed.flows import ondemand

    lf = who.lf
    flow = lf.flows.flow(body.flowId)
    sent = {k: v for k, v in body.params.model_dump().items() if v is not None}
    window, params = ondemand.on_demand_window(flow, sent)
    check_flow(lf, flow)
    runner, run = ondemand.start_or_defer(lf, flow, window, params)
    if runner is not None:
        execute_in_background(request, runner, run)
    return JSONResponse({"items": [{"id": run.id, "etag": run.row["etag"]}]}, status_code=201)


@router.post("/runs/{id}/action")
def run_action(who: CallerDep, id: str, request: Request, op: Annotated[str, Query()]) -> Any:
    """``op=RE_TRIGGER``: run a failed run's window again, retrying the files that failed in
    it. The flow must be enabled (LF-1388) and the run failed (LF-1387). Answers the new run."""
    from lakefeed.flows import ondemand

    if op.strip().upper().replace("-", "_") != "RE_TRIGGER":
        raise InvalidRequest(f"Unknown run action {op!r} (supported: RE_TRIGGER).",
                             fix="Use op=RE_TRIGGER.")  # fmt: skip
    lf = who.lf
    check_flow(lf, lf.flows.flow(lf.runs.run(id).flow_id))
    runner, run = ondemand.retrigger(lf, id)
    execute_in_background(request, runner, run)
    return items(run.to_dict())
