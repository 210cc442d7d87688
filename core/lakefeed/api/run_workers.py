"""The server's run workers: a started run is answered at once and executed in a worker; and
the two ways a person starts one, shared by the REST routes and the console."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from lakefeed.catalog.runs import Run
    from lakefeed.engine import Lakefeed
    from lakefeed.flows.runner import RunHandle

log = logging.getLogger("lakefeed.api")


def execute_in_background(request: Request, handle: RunHandle) -> None:
    """Hand a started run to the server's worker pool."""

    def execute() -> None:
        try:
            handle.execute()
        except BaseException:
            # execute() has recorded the failure in the run; the log keeps the traceback.
            log.exception("run %s of flow %s failed", handle.run.id, handle.run.flow_id)

    submit_run(request.app, execute)


def submit_run(app: FastAPI, work: object) -> None:
    """Execute ``work()`` (a run) in the server's worker pool."""
    app.state.run_workers.submit(work)


def run_now(request: Request, lf: Lakefeed, flow_id: str) -> Run:
    """Run now (``POST /flows/{id}/runs``, the console's Run now): a run of the enabled flow
    over every file not ingested yet, once the server may read its source."""
    from lakefeed.api.local_roots import check_flow

    flow = lf.flows.flow(flow_id)
    check_flow(lf, flow)
    handle = lf.run_now(flow)
    execute_in_background(request, handle)
    return handle.run


def retrigger(request: Request, lf: Lakefeed, run_id: str) -> Run:
    """Run a failed run's window again (``POST /runs/{id}/action?op=RE_TRIGGER``, the
    console's Retry), once the server may read its flow's source."""
    from lakefeed.api.local_roots import check_flow

    check_flow(lf, lf.flows.flow(lf.runs.get(run_id).flow_id))
    handle = lf.retrigger(run_id)
    execute_in_background(request, handle)
    return handle.run
