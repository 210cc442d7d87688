"""Checks every request passes before a route sees it.

A NUL byte is in no id, name, path or filter lakefeed knows, and the filesystem, SQLite and the
storage SDKs each fail on it in their own way (``ValueError: embedded null byte`` is a 500).
So a NUL byte anywhere in the URL path or the query string is refused here, once, with a 400
that names the parameter.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from lakefeed.api.errors import error_response
from lakefeed.api.iceberg_rest_errors import iceberg_error_response, in_catalog
from lakefeed.errors import InvalidRequest

NUL = "\x00"


def nul_byte_error(scope: Scope) -> InvalidRequest | None:
    """The error for a request whose path or query holds a NUL byte, or None."""
    fix = "Remove the NUL byte (%00): no id, name, path or filter contains one."
    if NUL in scope.get("path", ""):
        return InvalidRequest("The URL path contains a NUL byte.", fix=fix)
    query = scope.get("query_string", b"").decode("latin-1")
    if NUL not in unquote(query):
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if NUL in name or NUL in value:
            shown = name.replace(NUL, "\\x00")[:64]
            return InvalidRequest(f"Query parameter {shown!r} contains a NUL byte.", fix=fix)
    return InvalidRequest("The query string contains a NUL byte.", fix=fix)


class RefuseNulBytes:
    """Answer 400 to a request with a NUL byte in its path or query, before any route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = nul_byte_error(scope) if scope["type"] == "http" else None
        if error is None:
            await self.app(scope, receive, send)
            return
        respond = iceberg_error_response if in_catalog(scope["path"]) else error_response
        await respond(error)(scope, receive, send)
