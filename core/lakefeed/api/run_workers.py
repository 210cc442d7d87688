"""The server's run workers: a started run is answered at once and executed in a worker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

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
