"""Requests as Adobe's SDKs and API collection shape them, served before routing.

- A path that ends in ``/`` is the same path without it (:class:`TrailingSlashes`).
- ``HEAD`` on a route that has only ``GET`` is that ``GET`` without its body
  (:class:`HeadAsGet`); a route with a ``HEAD`` of its own keeps it.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TrailingSlashes:
    """Serve a path that ends in ``/`` as the same path without it, for every route and
    method: ``/connections/{id}/``, ``/tenant/schemas/``, ``/dataSets/``. Adobe's SDKs and
    API collection send both spellings; a redirect (FastAPI's 307) is an answer to a client
    that does not follow it, and would make a PATCH or POST a second request.

    The path is rewritten before routing, so a ``{id:path}`` route never sees the slash
    either (``/tenant/schemas/`` is the collection, not a schema with an empty id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class HeadAsGet:
    """Answer ``HEAD`` with the ``GET`` of the same path minus its body (status and headers,
    ``Content-Length`` included, as RFC 9110 asks), where no route takes ``HEAD`` itself."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.routes: list[BaseRoute] = router.routes

    def _has_own_head(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or self._has_own_head(scope):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
