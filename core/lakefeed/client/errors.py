"""Error JSON from a lakefeed server, turned back into :mod:`lakefeed.errors` exceptions.

A response whose ``report.code`` is the code of a class in :mod:`lakefeed.errors` raises that
class, so code written against the Python API catches the same exceptions over HTTP. Anything
else raises :class:`ApiError`. Messages never carry the client secret or the access token.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from functools import cache
from typing import Any

import httpx

import lakefeed.errors as errors
from lakefeed.errors import LakefeedError

REDACTED = "***"


class ApiError(LakefeedError):
    """An error answer whose code lakefeed does not know (a gateway, a route that does not
    exist, a newer server). ``status`` is the HTTP status and ``code`` the server's code."""

    code = "LF-4000"
    title = "API error"

    def __init__(self, message: str, *, status: int, code: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix, status=status)
        self.status = status
        # The server's code, per instance (LakefeedError.code is a class attribute).
        self.__dict__["code"] = code


class ServerUnreachable(LakefeedError):
    """No answer from the server after every retry: refused, reset or timed out."""

    code = "LF-4001"
    http_status = 503
    title = "Server unreachable"


class UnexpectedAnswer(LakefeedError):
    """An answer no lakefeed server gives: not JSON, not shaped as its answers are, or larger
    than any of them (the server URL names another service, or a proxy rewrote the answer)."""

    code = "LF-4003"
    http_status = 502
    title = "Unexpected answer"


class RunWaitTimeout(LakefeedError):
    """``wait_for_run`` gave up before the run completed (the run goes on)."""

    code = "LF-4002"
    http_status = 504
    title = "Run not completed in time"


@cache
def _classes_by_code() -> dict[str, type[LakefeedError]]:
    found: dict[str, type[LakefeedError]] = {}
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, LakefeedError) and cls is not LakefeedError:
            found.setdefault(cls.code, cls)
    return found


def redact(text: str, hidden: Iterable[str | None]) -> str:
    for value in hidden:
        # Secrets and tokens are long; a few characters would match ordinary words.
        if value and len(value) >= 8:
            text = text.replace(value, REDACTED)
    return text


def _describe(body: Any, response: httpx.Response) -> tuple[str | None, str, str | None]:
    """``(code, message, fix)`` from the Flow Service, Schema Registry or gateway shapes."""
    if isinstance(body, dict):
        report: dict[str, Any] = body["report"] if isinstance(body.get("report"), dict) else {}
        code = report.get("code") or body.get("error_code")
        message = (
            report.get("detailed-message")
            or body.get("errorMessage")
            or body.get("detail")
            or body.get("message")
            or body.get("title")
        )
        if message:
            return (str(code) if code else None), str(message), report.get("fix")
    text = response.text.strip()
    return None, (text[:300] if text else response.reason_phrase or "no details"), None


def error_for(response: httpx.Response, hidden: Iterable[str | None] = ()) -> LakefeedError:
    """The exception an error response stands for; ``hidden`` values are redacted from it."""
    hidden = list(hidden)
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code, message, fix = _describe(body, response)
    message = redact(message, hidden)
    fix = redact(fix, hidden) if fix else None
    known = _classes_by_code().get(code or "")
    if known is not None:
        return known(message, fix=fix)
    request = response.request
    where = f"{request.method} {request.url.path}"
    if fix is None and response.status_code in (404, 405):
        fix = "Check the server URL (its base, without a path) and that the server has this route."
    title = body.get("title") if isinstance(body, dict) else None
    return ApiError(
        f"{where} answered {response.status_code}"
        + (f" {title}" if title and title != message else "")
        + f": {message}",
        status=response.status_code,
        code=code or f"HTTP-{response.status_code}",
        fix=fix,
    )
