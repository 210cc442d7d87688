"""Errors under ``/console`` as pages: the API's own error answer (status, code, message and
fix, redacted the same way), shown in HTML by :class:`ConsolePages`. A page that needs a
session redirects to the sign-in page instead; an action without one answers 401."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakefeed.api.console.web import PATH, SESSION_COOKIE, csrf_token, in_console, render, url
from lakefeed.errors import ConsoleSignInRequired, LakefeedError

Handler = Callable[[Request, Any], Awaitable[Response] | Response]
#: Headers of the API's answer a page keeps (not ``WWW-Authenticate``: no bearer token here).
KEPT = ("retry-after", "allow")


def install(app: FastAPI) -> None:
    """Two answers :class:`ConsolePages` cannot give: the redirect of a page that needs a
    session, and the page of an unexpected error (the server answers those outside every
    middleware)."""
    as_json, unexpected = app.exception_handlers[LakefeedError], app.exception_handlers[Exception]

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        if request.method in ("GET", "HEAD") and in_console(request):
            here = request.url.path[len(url(request, "")) :]
            if request.url.query:
                here += "?" + request.url.query
            target = url(request, f"{PATH}/sign-in?next={quote(here, safe='')}")
            return RedirectResponse(target, status_code=303)
        return await _answer(as_json, request, exc)

    async def unexpected_page(request: Request, exc: Exception) -> Response:
        answer = await _answer(unexpected, request, exc)
        return error_page(request, answer) if in_console(request) else answer

    app.add_exception_handler(ConsoleSignInRequired, sign_in_first)
    app.add_exception_handler(Exception, unexpected_page)


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    answer = handler(request, exc)
    return answer if isinstance(answer, Response) else await answer


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
    """The outermost middleware: under ``/console``, every error the API answers in JSON
    becomes its page — what a route raised, and what was refused before any route ran (a NUL
    byte in the path, a body over the size limit)."""

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
