"""What every console page shares: the signed-in user, templates, the CSRF check and the
headers that keep pages on this server.

A session is the ``/ims/token/v3`` access token of the API client that signed in, kept in an
HttpOnly, ``SameSite=Strict`` cookie scoped to ``/console`` (``Secure`` over HTTPS), so the
console is exactly as strong as the REST API and ends when the token does. Every change is a
POST whose form carries the session's CSRF token — an HMAC of the session token, so no page of
another site can know it — and whose ``Origin``, when the browser sends one, is this server.
The sandbox is a second cookie; every page reads through the engine scoped to the client's org
and that sandbox, as the REST routes do, so another sandbox's resources are not found.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from lakefeed.api.console.charts import short_duration
from lakefeed.api.security import root_engine, sandbox_engine, verified_client
from lakefeed.catalog.auth import DEFAULT_SANDBOX, ApiClient
from lakefeed.engine import Lakefeed
from lakefeed.errors import AuthenticationRequired, ConsoleRequestRefused, ConsoleSignInRequired
from lakefeed.values import human_size, timestamp

PATH = "/console"
SESSION_COOKIE = "lakefeed_console"
SANDBOX_COOKIE = "lakefeed_console_sandbox"
TEMPLATES = Path(__file__).parent / "templates"
HTMX = "htmx.org-2.0.11/htmx.min.js"

#: Scripts and styles from this server only, no inline script or style, no frames, forms post
#: here only. Pages hold an org's data: never cached, never framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in API client, and the engine seen from its org and current sandbox."""

    lf: Lakefeed
    client: ApiClient
    sandbox: str
    sandboxes: tuple[str, ...]
    csrf: str

    @property
    def org(self) -> str:
        return self.client.ims_org_id


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from its secret token, so it needs no storage and
    is the same on every server process."""
    mac = hmac.new(session_token.encode(), b"lakefeed-console-csrf", hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def root(request: Request) -> str:
    """The server's root path (behind a proxy that mounts it under a prefix), no trailing /."""
    value: str = request.scope.get("root_path", "")
    return value.rstrip("/")


def url(request: Request, path: str) -> str:
    return root(request) + path


def in_console(request: Request) -> bool:
    path: str = request.scope.get("path", "")
    prefix = root(request)
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    return path == PATH or path.startswith(PATH + "/")


@dataclass(frozen=True)
class ConsoleSession:
    """A valid session, whatever its sandbox: what signing out and switching sandbox need (a
    sandbox cookie the client may no longer use must not lock it in)."""

    client: ApiClient
    token: str
    csrf: str


async def console_session(request: Request) -> ConsoleSession:
    """:class:`ConsoleSignInRequired` without a valid session (pages then redirect to the
    sign-in page; actions answer 401)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise ConsoleSignInRequired("You are not signed in.", fix="Sign in at /console/sign-in.")
    try:
        client = await verified_client(request, token)
    except AuthenticationRequired:
        raise ConsoleSignInRequired(
            "Your console session has ended (signed out or expired).",
            fix="Sign in again at /console/sign-in.",
        ) from None
    return ConsoleSession(client, token, csrf_token(token))


async def console_user(request: Request) -> ConsoleUser:
    """The dependency of every page and action: :func:`console_session`, then the API's
    404/403 for a sandbox the client may not use."""
    session = await console_session(request)
    client = session.client
    sandbox = request.cookies.get(SANDBOX_COOKIE) or DEFAULT_SANDBOX
    lf = await sandbox_engine(request, client, sandbox)
    names = await run_in_threadpool(root_engine(request).auth.sandboxes, client.ims_org_id)
    usable = tuple(name for name in names if client.may_use(name))
    return ConsoleUser(lf, client, sandbox, usable, session.csrf)


UserDep = Annotated[ConsoleUser, Depends(console_user)]
SessionDep = Annotated[ConsoleSession, Depends(console_session)]


def same_origin(request: Request) -> bool:
    """Whether the request's ``Origin`` (sent by browsers on every POST) is this server; a
    request without one (not from a browser page) passes: it cannot carry the cookie's CSRF
    token either."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    # Behind a reverse proxy the browser's host may reach the server as X-Forwarded-Host (a
    # page of another site cannot set that header on a form post).
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # not a URL at all (an unclosed IPv6 bracket): not this server
        return False
    return netloc in hosts - {""}


async def checked_form(
    request: Request, user: ConsoleUser | ConsoleSession | None = None
) -> FormData:
    """The POSTed form of a console action, refused (:class:`ConsoleRequestRefused`, 403)
    when its ``csrf`` field is not the session's or another site sent it."""
    form = await request.form()
    sent = form.get("csrf")
    expected = user.csrf if user is not None else ""
    if not same_origin(request):
        raise ConsoleRequestRefused(
            "This request came from another site's page.",
            fix="Use the console's own pages to make changes.",
        )
    # As bytes: compare_digest refuses text with non-ASCII characters, which a form may hold.
    given = sent.encode("utf-8", "surrogatepass") if isinstance(sent, str) else b""
    if not given or not expected or not hmac.compare_digest(given, expected.encode()):
        raise ConsoleRequestRefused(
            "The form's CSRF token is missing or is not this session's.",
            fix="Reload the page and submit the form again.",
        )
    return form


def local_next(value: str | None) -> str:
    """A ``next`` page to go to after signing in: a console path of this server only (never
    another host, nor ``//host``), else the flows page."""
    if (
        value
        and (value == PATH or value.startswith(PATH + "/"))
        and "\\" not in value
        and not any(c in value for c in "\r\n")
    ):
        return value
    return PATH + "/flows"


# -- templates ---------------------------------------------------------------------------------


def when(ms: Any) -> str:
    """An epoch-milliseconds timestamp as ``2026-12-05 16:30:00 UTC``; ``—`` for none."""
    try:
        return timestamp(int(ms)) + " UTC"
    except (TypeError, ValueError, OverflowError, OSError):
        return "—"


def iso_when(ms: Any) -> str:
    """The same moment for ``<time datetime=…>``."""
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def age(seconds: Any) -> str:
    """How long something has waited, to the whole second (``45 s``, ``3 min 20 s``)."""
    try:
        return short_duration(max(int(float(seconds)), 0))
    except (TypeError, ValueError, OverflowError):
        return "—"


def size(count: Any) -> str:
    """Bytes for people (``3.4 KiB``); ``—`` when there is no number."""
    try:
        return human_size(float(count))
    except (TypeError, ValueError):
        return "—"


def count(value: Any) -> str:
    """A number with thousands separators; ``—`` when there is none."""
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def cell_text(value: Any, characters: int) -> str:
    """A value for a table cell: text as is, anything else as compact JSON (none: empty),
    cut at ``characters``."""
    if value is None:
        return ""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    )
    return text if len(text) <= characters else text[: characters - 1] + "…"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        when=when, iso_when=iso_when, age=age, size=size, count=count, duration=short_duration
    )
    environment.globals.update(quote=quote)
    return environment


templates = _environment()


def page_html(request: Request, name: str, context: dict[str, Any]) -> str:
    base = {
        "root": root(request),
        "htmx": f"{root(request)}/static/vendor/{HTMX}",
        "user": None,
        "csrf": "",
        "active": "",
        "here": request.url.path,
    }
    return templates.get_template(name).render({**base, **context})


def render(
    request: Request,
    user: ConsoleUser | None,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``name`` (a template extending ``base.html``) for ``user``."""
    if user is not None:
        context = {"user": user, "csrf": user.csrf, **context}
    html = page_html(request, name, context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
