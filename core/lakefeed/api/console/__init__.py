"""``/console``: the web console of ``lakefeed serve`` — flows, runs, datasets, connections,
schemas and mappings, for operators, in server-rendered pages (Jinja2) that read without
JavaScript; htmx (vendored) refreshes a running run and makes navigation lighter.

Every page and action calls the engine as the REST routes do, scoped to the signed-in API
client's org and sandbox (:mod:`lakefeed.api.console.web`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from lakefeed.api.console import (
    error_pages,
    pages_connections,
    pages_datasets,
    pages_flows,
    pages_schemas,
    session,
)
from lakefeed.api.console.error_pages import ConsolePages
from lakefeed.api.console.web import PATH

PREFIX = PATH
STYLESHEET = Path(__file__).parent / "static" / "console.css"

router = APIRouter(include_in_schema=False)


@router.get("/static/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(
        STYLESHEET,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


PAGES = (session, pages_flows, pages_connections, pages_datasets, pages_schemas)


__all__ = ["PREFIX", "ConsolePages", "install"]


def install(app: FastAPI) -> None:
    """Serve the console on ``app`` (after the API's error handlers are installed; add
    :class:`ConsolePages` as its outermost middleware)."""
    for part in (router, *(module.router for module in PAGES)):
        app.include_router(part, prefix=PREFIX, include_in_schema=False)
    error_pages.install(app)
