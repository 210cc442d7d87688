"""``/runs``: list and read runs with their metrics and activities; ``POST /runs`` starts an
on-demand run of a ``once`` flow, answered at once and executed in the server's worker pool."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lakefeed.api.app import submit_run
from lakefeed.api.flowservice_bodies import RunBody
from lakefeed.api.flowservice_common import CallerDep, ListQuery, items
from lakefeed.errors import InvalidFlow, InvalidRequest

log = logging.getLogger("lakefeed.api")
router = APIRouter(tags=["flowservice"])


@router.get("/runs")
def list_runs(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """Runs of the caller's sandbox; ``property=flowId==<id>``,
    ``property=metrics.statusSummary.status==failed`` and the like filter them."""
    return query.page([r.to_dict() for r in who.lf.runs.list_runs()], "runs")


@router.get("/runs/{id}")
def get_run(who: CallerDep, id: str) -> dict[str, Any]:
    return items(who.lf.runs.run(id).to_dict())


def _epoch_seconds(value: int | str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(str(value).strip())
    except ValueError:
        raise InvalidRequest(
            f"params.{field} must be epoch seconds, not {value!r}.", fix=f"Send {field} as digits."
        ) from None


@router.post("/runs", status_code=201)
def create_run(who: CallerDep, body: RunBody, request: Request) -> JSONResponse:
    """Start a run of a flow whose ``scheduleParams.frequency`` is ``once`` and which is
    enabled. 409 while another run of the flow is in progress. Answers
    ``{"items": [{"id", "etag"}]}``; ``GET /runs/{id}`` follows the run to completion."""
    from lakefeed.flows.runner import FlowRunner

    lf = who.lf
    flow = lf.flows.flow(body.flowId)
    params = {
        name: seconds
        for name in ("startTime", "windowStartTime", "windowEndTime")
        if (seconds := _epoch_seconds(getattr(body.params, name), name)) is not None
    }
    start, end = params.get("windowStartTime"), params.get("windowEndTime")
    if start is not None and end is not None and end < start:
        raise InvalidRequest(
            f"params.windowEndTime ({end}) is before params.windowStartTime ({start}).",
            fix="Send a window whose end is at or after its start.",
        )
    frequency = flow.schedule.frequency
    if frequency != "once":
        raise InvalidFlow(
            f"Run creation is not supported for the flow's frequency {frequency!r}: on-demand "
            "runs are for flows with frequency 'once'.",
            fix="Let the schedule run it, or create a flow with scheduleParams.frequency once.",
        )
    if flow.state != "enabled":
        raise InvalidFlow(
            f"Flow {flow.name!r} is {flow.state}; it must be enabled to run.",
            fix=f"POST /flows/{flow.id}/action?op=enable first.",
        )
    runner = FlowRunner(lf, flow)
    run = runner.start()  # RunInProgress (409) when the flow has a live run
    run = lf.runs.update_run(run.id, params={k: str(v) for k, v in params.items()})

    def execute() -> None:
        try:
            runner.execute(run)
        except BaseException:
            # execute() has recorded the failure in the run; the log keeps the traceback.
            log.exception("run %s of flow %s failed", run.id, flow.id)

    submit_run(request.app, execute)
    return JSONResponse({"items": [{"id": run.id, "etag": run.row["etag"]}]}, status_code=201)
