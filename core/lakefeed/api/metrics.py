"""``GET /metrics``: Prometheus metrics of every flow (backlog, last run, pick-up latency) and
of the in-process scheduler. No Platform headers: scrapers do not send them. It shows org ids,
sandbox names and flow ids and names, never secrets; keep it on loopback or behind the proxy,
or give the server a metrics token (``LAKEFEED_METRICS_TOKEN``, ``lakefeed serve
--metrics-token-file``): then it answers only ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from lakefeed.errors import MetricsTokenRequired

PREFIX = ""
router = APIRouter(tags=["operations"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        401: {
            "description": "The server has a metrics token and the request does not send it "
            "as `Authorization: Bearer <token>` (MetricsTokenRequired, LF-2002).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    },
)
def prometheus_metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format (version 0.0.4)."""
    from lakefeed.scheduling.prometheus import render

    state = request.app.state
    check_metrics_token(request.headers.get("authorization"), state.metrics_token)
    text = render(state.lakefeed.monitoring, scheduler=state.scheduler)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


def check_metrics_token(authorization: str | None, token: str | None) -> None:
    """Raise :class:`MetricsTokenRequired` unless ``token`` is None (no token configured) or
    ``authorization`` (the header) is ``Bearer <token>``, compared in constant time."""
    if token is None:
        return
    scheme, _, given = (authorization or "").strip().partition(" ")
    fix = (
        "Send the server's metrics token as `Authorization: Bearer <token>` (Prometheus: "
        "`authorization: {credentials_file: …}` in the scrape config)."
    )
    if scheme.lower() != "bearer" or not given.strip():
        raise MetricsTokenRequired(
            "GET /metrics needs this server's metrics token, and the request has no "
            "`Authorization: Bearer` header.",
            fix=fix,
        )
    # Header values arrive as latin-1 text; bytes compare whatever characters they hold.
    if not hmac.compare_digest(given.strip().encode("latin-1"), token.encode("utf-8")):
        raise MetricsTokenRequired(
            "GET /metrics needs this server's metrics token, and the request's bearer token "
            "is not it.",
            fix=fix,
        )
