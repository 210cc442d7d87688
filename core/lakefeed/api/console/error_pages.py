"""Errors under ``/console`` as pages: the API's own error answer (status, code, message and
fix, redacted the same way), shown in HTML. A page that needs a session redirects to the
sign-in page instead; an action without one answers 401."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakefeed.api.console.web import PATH, SESSION_COOKIE, csrf_token, in_console, render, url
from lakefeed.errors import ConsoleSignInRequired, LakefeedError

Handler = Callable[[Request, Any], Awaitable[Response] | Response]
#: Headers of the API's answer a page keeps (not ``WWW-Authenticate``: no bearer token here).
KEPT = ("retry-after", "allow")


def install(app: FastAPI) -> None:
    """Wrap the app's error handlers: answers to console requests become pages."""
    for kind in (LakefeedError, StarletteHTTPException, RequestValidationError, Exception):
        original = app.exception_handlers[kind]
        app.add_exception_handler(kind, _as_page(original))


def _as_page(original: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        signing_in = isinstance(exc, ConsoleSignInRequired) and request.method in ("GET", "HEAD")
        if signing_in and in_console(request):
            here = request.url.path[len(url(request, "")) :]
            if request.url.query:
                here += "?" + request.url.query
            target = url(request, f"{PATH}/sign-in?next={quote(here, safe='')}")
            return RedirectResponse(target, status_code=303)
        answer = original(request, exc)
        response = await answer if not isinstance(answer, Response) else answer
        if not in_console(request):
            return response
        return error_page(request, response)

    return handler


def error_page(request: Request, answer: Response) -> Response:
    """The page for the API's JSON error ``answer``."""
    try:
        body = json.loads(bytes(answer.body))
        report = body.get("report", {})
    except (ValueError, AttributeError):
        body, report = {}, {}
    token = request.cookies.get(SESSION_COOKIE)
    headers = {k: v for k, v in answer.headers.items() if k.lower() in KEPT}
    return render(
        request,
        None,
        "error.html",
        status_code=answer.status_code,
        headers=headers,
        status=answer.status_code,
        title=str(body.get("title") or "Error"),
        message=str(report.get("detailed-message") or body.get("errorMessage") or ""),
        fix=str(report.get("fix") or ""),
        code=str(report.get("code") or ""),
        request_id=str(report.get("request-id") or ""),
        signed_in=bool(token),
        csrf=csrf_token(token) if token else "",
    )


class ConsolePages:
    """The outermost middleware: under ``/console``, an error the API answered in JSON before
    any route ran (a NUL byte in the path, a body over the size limit) becomes its page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not in_console(Request(scope)):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def pages(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                json_error = message["status"] >= 400 and headers.get(
                    b"content-type", b""
                ).startswith(b"application/json")
                if json_error:
                    held.append(message)
                    return
            elif held and message["type"] == "http.response.body":
                held.append(message)
                if message.get("more_body", False):
                    return
                start, *parts = held
                answer = Response(
                    b"".join(part.get("body", b"") for part in parts),
                    status_code=start["status"],
                    headers={k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
                )
                page = error_page(Request(scope), answer)
                await page(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, pages)
