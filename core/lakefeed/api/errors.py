"""One mapping from lakefeed errors to HTTP: the Flow Service error JSON with stable codes.

``{"type": "https://ns.adobe.com/aep/errors/FLOW-<code>-<status>", "title", "status",
"report": {"detailed-message", "code", "fix", "request-id"}, "errorMessage"}``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lakefeed.api.server_paths import hider
from lakefeed.errors import (
    AuthenticationRequired,
    InvalidRequest,
    LakefeedError,
    RouteNotFound,
    TooManyAttempts,
)

log = logging.getLogger("lakefeed.api")
ERROR_TYPE = "https://ns.adobe.com/aep/errors/FLOW-{code}-{status}"


def error_body(
    *, status: int, code: str, title: str, message: str, fix: str | None = None, **extra: Any
) -> dict[str, Any]:
    number = code.removeprefix("LF-")
    report: dict[str, Any] = {
        "detailed-message": message,
        "code": code,
        "request-id": str(uuid.uuid4()),
        **extra,
    }
    if fix:
        report["fix"] = fix
    return {
        "type": ERROR_TYPE.format(code=number, status=status),
        "title": title,
        "status": status,
        "report": report,
        "errorMessage": message,
    }


def error_response(
    error: LakefeedError, hide: Callable[[str], str] = lambda text: text
) -> JSONResponse:
    """The error's JSON answer; ``hide`` rewrites its message and fix (server folders)."""
    body = error_body(
        status=error.http_status,
        code=error.code,
        title=error.title,
        message=hide(error.message),
        fix=hide(error.fix) if error.fix else error.fix,
    )
    return JSONResponse(body, status_code=error.http_status, headers=answer_headers(error))


def answer_headers(error: LakefeedError) -> dict[str, str] | None:
    """The headers an error's answer carries: when to try again after too many attempts, and
    on a 401 which credentials to send (RFC 6750: a bearer token)."""
    if isinstance(error, TooManyAttempts):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, AuthenticationRequired):
        return {"WWW-Authenticate": 'Bearer realm="lakefeed"'}
    return None


def install_error_handlers(app: FastAPI) -> None:
    hide = hider(app.state.lakefeed.settings)

    @app.exception_handler(LakefeedError)
    async def _lakefeed(_: Request, exc: LakefeedError) -> JSONResponse:
        return error_response(exc, hide)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        unknown_path = _unknown_path(request, exc.errors())
        if unknown_path is not None:
            return error_response(unknown_path, hide)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            if err.get("type") == "json_invalid":
                ctx = err.get("ctx") or {}
                problems.append(
                    f"malformed JSON at character {err.get('loc', ['', '?'])[-1]}: "
                    f"{ctx.get('error', err.get('msg'))}"
                )
            else:
                problems.append(f"{where or 'body'}: {err.get('msg')}")
        return error_response(
            InvalidRequest(
                "The request is not valid: " + "; ".join(problems) + ".",
                fix="Check the request against the API reference (/docs).",
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.detail else "HTTP error"
        headers = dict(getattr(exc, "headers", None) or {})
        allowed = {k.lower(): v for k, v in headers.items()}.get("allow")
        if exc.status_code == 405 and allowed:
            allowed = _allowed_methods(request) or allowed
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            headers["Allow"] = allowed
            message = (
                f"{request.method} is not allowed on {request.url.path[:300]} (allowed: {allowed})."
            )
        return JSONResponse(
            error_body(
                status=exc.status_code,
                code=f"LF-{exc.status_code}",
                title=str(exc.detail) if exc.detail else message,
                message=message,
            ),
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(UnicodeEncodeError)
    async def _not_text(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # Only a JSON escape such as "\ud800" makes a lone surrogate: not text, so it fails
        # wherever text is encoded (SQLite, paths); the request is at fault, not the server.
        if exc.reason != "surrogates not allowed":
            return await _unexpected(request, exc)
        return error_response(
            InvalidRequest(
                "The request contains a lone surrogate (a JSON escape from \\ud800 to "
                "\\udfff without its pair), which is not text.",
                fix="Send valid Unicode: encode characters beyond U+FFFF as surrogate pairs.",
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A bug: log it with its traceback (no secrets reach here: errors are redacted at the
        # storage boundary), answer without internals.
        log.exception("unexpected error")
        return JSONResponse(
            error_body(
                status=500,
                code="LF-1400",
                title="Internal error",
                message=f"Internal error ({type(exc).__name__}).",
                fix="Retry; if it persists, report it with the request-id.",
            ),
            status_code=500,
        )


def _allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches the request's (Starlette names only the
    first one's), comma-separated; empty when none is found."""
    scope = {**request.scope, "type": "http"}
    methods: set[str] = set()
    # The routes of included routers too (FastAPI includes them lazily: app.routes is empty).
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


def _unknown_path(request: Request, errors: Sequence[Any]) -> RouteNotFound | None:
    """A 404 naming the valid words when a path segment that must be one of a few (a
    ``Literal`` or enum path parameter) is another: such a path names no resource, so it is
    not a malformed request."""
    wrong = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("path",)]
    if not wrong or not all(e.get("type") in ("literal_error", "enum") for e in wrong):
        return None
    segments = "; ".join(
        f"{e['loc'][-1]} is {str(e.get('input'))[:100]!r}, not "
        f"{(e.get('ctx') or {}).get('expected', '?')}"
        for e in wrong
    )
    return RouteNotFound(
        f"No route serves {request.method} {request.url.path[:300]} ({segments}).",
        fix="Check the path against the API reference (/docs).",
    )
