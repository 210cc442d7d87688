"""``create_app``: the FastAPI application behind ``lakefeed serve``.

Routers, one per service: ``ims`` (token exchange), ``flowservice``, ``catalog``,
``schemaregistry`` and ``export``, each under its Platform base path. Runs started over HTTP
execute in a worker pool of the server process, so requests never wait for them.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakefeed.__about__ import __version__
from lakefeed.api.errors import error_body, install_error_handlers
from lakefeed.engine import Lakefeed

if TYPE_CHECKING:
    from lakefeed.scheduling.scheduler import Scheduler

#: Bodies above this answer 413: no route takes more than a schema document.
MAX_BODY_BYTES = 1024 * 1024
RUN_WORKERS = 2


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes, whether declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        import json

        body = json.dumps(
            error_body(
                status=413,
                code="LF-1600",
                title="Request body too large",
                message=f"The request body is larger than {self.limit} bytes.",
                fix="Send a smaller body.",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def create_app(
    lf: Lakefeed | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    scheduler: Scheduler | None = None,
    scheduler_grace_seconds: float = 30.0,
) -> FastAPI:
    """The REST service over ``lf`` (default: the installation of ``LAKEFEED_HOME``). With
    ``scheduler``, the app runs it in a thread while it serves (``lakefeed serve
    --scheduler``), and stops it on shutdown."""
    from lakefeed.api import catalog, export, flowservice, ims, metrics, schemaregistry

    engine = lf or Lakefeed()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if scheduler is not None:
            thread = threading.Thread(
                target=scheduler.run_forever,
                args=(stop,),
                kwargs={"grace_seconds": scheduler_grace_seconds},
                name="lakefeed-scheduler",
                daemon=True,
            )
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join()
        app.state.run_workers.shutdown(wait=True)

    app = FastAPI(
        title="lakefeed",
        version=__version__,
        description="A self-hosted Flow Service: Flow Service, Catalog, Schema Registry and "
        "export routes over lakefeed's engine.",
        lifespan=lifespan,
    )
    app.state.lakefeed = engine
    app.state.scheduler = scheduler
    app.state.run_workers = ThreadPoolExecutor(RUN_WORKERS, thread_name_prefix="lakefeed-run")
    install_error_handlers(app)
    for module in (ims, flowservice, catalog, schemaregistry, export, metrics):
        app.include_router(module.router, prefix=module.PREFIX)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    return app


def submit_run(app: Any, work: Any) -> None:
    """Execute ``work()`` (a run) in the server's worker pool."""
    app.state.run_workers.submit(work)
