"""``create_app``: the FastAPI application behind ``lakefeed serve``.

Routers, one per service: ``ims`` (token exchange), ``flowservice``, ``catalog``,
``schemaregistry``, ``dataprep`` (mapping sets) and ``export``, each under its Platform base
path; ``metrics`` (Prometheus) and ``health`` (``/healthz``, ``/readyz``) at the root; and
``iceberg_rest``, the Iceberg REST catalog query engines read datasets through, under
``/iceberg``; ``console``, the web console, under ``/console``. ``api_docs`` serves ``/docs``
and ``/redoc`` with vendored assets, over the document :mod:`lakefeed.api.openapi_doc` refines.
Runs started over HTTP execute in a worker pool of the server process, so requests never wait
for them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakefeed.__about__ import __version__
from lakefeed.api.errors import error_body, install_error_handlers
from lakefeed.api.iceberg_rest_errors import iceberg_error_body, in_catalog
from lakefeed.api.openapi_doc import install_openapi, operation_id
from lakefeed.api.request_guards import RefuseNulBytes
from lakefeed.api.request_shapes import HeadAsGet, TrailingSlashes
from lakefeed.api.throttle import LoginThrottle
from lakefeed.engine import Lakefeed

if TYPE_CHECKING:
    from lakefeed.scheduling.scheduler import Scheduler

#: Bodies above this answer 413: no route takes more than a schema document.
MAX_BODY_BYTES = 1024 * 1024
RUN_WORKERS = 2


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes, whether declared or streamed.

    A body with a ``Content-Length`` is judged by it (the HTTP server never delivers more than
    it declares). A chunked body has none, so it is read here, counted as it streams, before
    any route sees it: a limit raised while a route reads would reach FastAPI's body parsing,
    which answers such errors with a 400. At most ``limit`` bytes are held.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await self._too_large(scope, send)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        import json

        message = f"The request body is larger than {self.limit} bytes."
        if in_catalog(scope["path"]):
            shaped = iceberg_error_body(
                413, "BadRequestException", f"{message} Send a smaller one."
            )
        else:
            shaped = error_body(
                status=413,
                code="LF-1600",
                title="Request body too large",
                message=message,
                fix="Send a smaller body.",
            )
        body = json.dumps(shaped).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _recover_interrupted(lf: Lakefeed) -> None:
    try:
        lf.recover_interrupted()
    except Exception:
        logging.getLogger("lakefeed.recovery").exception("recovering interrupted runs failed")


def confined_engine(lf: Lakefeed, extra_allowed: tuple[str, ...] = ()) -> Lakefeed:
    """``lf`` as the server uses it for API clients: confined to the endpoints its settings
    (``LAKEFEED_ALLOW_ENDPOINTS``) and ``extra_allowed`` allow, and to connections of their
    own unless ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS`` lets them use the server's identity;
    ``lf`` itself when it is confined already. A bad allow-list entry is
    :class:`InvalidRequest`."""
    from lakefeed.storage.endpoints import EndpointPolicy

    if lf.endpoints is not None:
        return lf
    return lf.confined(
        EndpointPolicy(
            (*lf.settings.allow_endpoints, *extra_allowed),
            ambient_credentials=lf.settings.allow_ambient_credentials,
        )
    )


def create_app(
    lf: Lakefeed | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    scheduler: Scheduler | None = None,
    scheduler_grace_seconds: float = 30.0,
    login_throttle: LoginThrottle | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """The REST service over ``lf`` (default: the installation of ``LAKEFEED_HOME``). With
    ``scheduler``, the app runs it in a thread while it serves (``lakefeed serve
    --scheduler``), and stops it on shutdown.

    API clients are confined to the endpoints the server allows: ``lf``'s own policy when it
    is :meth:`Lakefeed.confined` (build ``scheduler`` over that engine too), else one from
    its settings' ``LAKEFEED_ALLOW_ENDPOINTS``. ``login_throttle`` counts failed token
    requests (default: :class:`LoginThrottle`'s limits). ``metrics_token``: the bearer token
    ``GET /metrics`` requires (default: the settings' ``LAKEFEED_METRICS_TOKEN``; None there
    too: no token)."""
    from lakefeed.api import (
        api_docs,
        catalog,
        console,
        dataprep,
        export,
        flowservice,
        health,
        iceberg_rest,
        ims,
        metrics,
        not_offered,
        schemaregistry,
    )

    engine = confined_engine(lf or Lakefeed())

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
        else:
            # Runs a killed server left inProgress are closed now, not when their flow next
            # runs (a scheduler does this itself as it starts).
            app.state.run_workers.submit(_recover_interrupted, engine)
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
        redirect_slashes=False,  # TrailingSlashes serves both spellings: never a 307
        docs_url=None,  # api_docs serves /docs and /redoc with vendored assets
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.lakefeed = engine
    app.state.login_throttle = login_throttle or LoginThrottle()
    app.state.scheduler = scheduler
    app.state.metrics_token = metrics_token or engine.settings.metrics_token
    app.state.run_workers = ThreadPoolExecutor(RUN_WORKERS, thread_name_prefix="lakefeed-run")
    install_error_handlers(app)
    install_openapi(app)
    # not_offered before schemaregistry: its /{container}/{kind} route would take descriptors.
    modules = (
        ims,
        flowservice,
        catalog,
        not_offered,
        schemaregistry,
        dataprep,
        export,
        metrics,
        health,
        iceberg_rest,
        api_docs,
    )
    for module in modules:
        app.include_router(module.router, prefix=module.PREFIX)
    console.install(app)  # after the error handlers: it builds on them
    app.add_middleware(HeadAsGet, router=app.router)
    app.add_middleware(TrailingSlashes)
    app.add_middleware(RefuseNulBytes)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    app.add_middleware(console.ConsolePages)  # outermost: it sees the refusals above as pages
    return app
