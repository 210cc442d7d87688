"""``GET /healthz`` and ``GET /readyz``: probes for a process supervisor or an orchestrator
(Kubernetes liveness and readiness probes, a load balancer's health check).

``/healthz`` says the process answers, touching nothing else. ``/readyz`` says it can serve:
the control-plane database answers and is at this lakefeed's schema revision, and the Iceberg
catalog opens. Neither needs headers or a token: probes send none. So a failing check names the
part, its state, an error code and the fix, never which database or where (URLs, hosts, driver
messages): those go to the server's log, with the password hidden.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from lakefeed.catalog.database_url import url_password
from lakefeed.catalog.readiness import database_readiness
from lakefeed.engine import Lakefeed
from lakefeed.errors import IcebergCatalogUnavailable, LakefeedError, ReadinessCheckTimedOut
from lakefeed.secrets import redact

PREFIX = ""
router = APIRouter(tags=["operations"])
log = logging.getLogger("lakefeed.api")

#: Seconds a probe waits for its checks: a database or catalog that hangs (packets dropped)
#: answers 503 then, instead of holding the probe until the orchestrator gives up.
CHECK_SECONDS = 5.0
#: The checks run here, at most two at once: probes against a hanging database wait for the
#: threads still stuck in it (and answer 503 in time) instead of starting more.
_CHECKS = ThreadPoolExecutor(2, thread_name_prefix="lakefeed-readyz")


class Health(BaseModel):
    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    """One part the server needs: ready or not, its state, and when not, why and the fix."""

    ready: bool
    #: database: ``current``, ``unreachable``, ``behind``, ``ahead``, ``empty``,
    #: ``unversioned``; icebergCatalog: ``ready``, ``unavailable``.
    state: str
    code: str | None = None
    title: str | None = None
    message: str | None = None
    fix: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, ReadinessCheck]


@router.get("/healthz", response_model=Health)
async def liveness() -> dict[str, str]:
    """200 while the process answers (async: no worker thread, no database)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A part the server needs is not ready"}},
)
def readiness(request: Request) -> JSONResponse:
    """200 when the database and the Iceberg catalog are ready, else 503; both name each
    check's state."""
    lf: Lakefeed = request.app.state.lakefeed
    started = {
        "database": _CHECKS.submit(database_check, lf),
        "icebergCatalog": _CHECKS.submit(catalog_check, lf),
    }
    deadline = time.monotonic() + CHECK_SECONDS
    checks: dict[str, ReadinessCheck] = {}
    for name, running in started.items():
        try:
            checks[name] = running.result(timeout=max(deadline - time.monotonic(), 0))
        except FutureTimeout:
            running.cancel()  # still queued behind a stuck check: it never runs
            log.warning("not ready: the %s check did not answer in %s s", name, CHECK_SECONDS)
            checks[name] = _failed("timeout", _timed_out(name))
    ready = all(check.ready for check in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if ready else 503)


def _timed_out(name: str) -> LakefeedError:
    what = "control-plane database" if name == "database" else "Iceberg catalog"
    return ReadinessCheckTimedOut(
        f"The {what} did not answer within {CHECK_SECONDS:g} s.",
        fix="Check that its server is up and reachable from this server (a firewall that "
        "drops packets, a server that hangs); the probe answers again as soon as it does.",
    )


def database_check(lf: Lakefeed) -> ReadinessCheck:
    found = database_readiness(lf.db)
    if found.error is None:
        return ReadinessCheck(ready=True, state=found.state)
    return _failed(found.state, found.error)


def catalog_check(lf: Lakefeed) -> ReadinessCheck:
    """The catalog opens (once per process) and lists its namespaces (one query)."""
    try:
        lf.iceberg_catalog().list_namespaces()
    except Exception as exc:  # any failure of the catalog, whatever raised it, is "not ready"
        reason = redact(" ".join(str(exc).split()), _catalog_secrets(lf))
        log.warning("not ready: the Iceberg catalog failed: %s: %s", type(exc).__name__, reason)
        return _failed(
            "unavailable",
            IcebergCatalogUnavailable(
                "The Iceberg catalog cannot be opened (the server's log says why).",
                fix="Check LAKEFEED_ICEBERG_CATALOG_URL (by default the control-plane "
                "database), LAKEFEED_WAREHOUSE and its options.",
            ),
        )
    return ReadinessCheck(ready=True, state="ready")


def _catalog_secrets(lf: Lakefeed) -> list[str]:
    """What a catalog failure's message must not show: the warehouse options' values and the
    catalog URL's password, as written and decoded."""
    secrets = [*lf.settings.warehouse_options.values()]
    password = url_password(lf.settings.iceberg_catalog_url)
    return [*secrets, password, unquote(password)] if password else secrets


def _failed(state: str, error: LakefeedError) -> ReadinessCheck:
    shown: dict[str, Any] = error.to_dict()
    return ReadinessCheck(
        ready=False,
        state=state,
        code=shown["code"],
        title=shown["title"],
        message=shown["message"],
        fix=shown["fix"],
    )
