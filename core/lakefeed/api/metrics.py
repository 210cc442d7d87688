"""``GET /metrics``: Prometheus metrics of every flow (backlog, last run, pick-up latency) and
of the in-process scheduler. No Platform headers: scrapers do not send them. It shows org ids,
sandbox names and flow ids and names, never secrets; keep it on loopback or behind the proxy."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

PREFIX = ""
router = APIRouter(tags=["operations"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format (version 0.0.4)."""
    from lakefeed.scheduling.prometheus import render

    state = request.app.state
    text = render(state.lakefeed.monitoring, scheduler=state.scheduler)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
