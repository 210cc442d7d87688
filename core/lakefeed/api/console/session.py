"""Signing in and out of the console, and switching sandbox.

Signing in is the REST API's own client-credentials exchange (``POST /ims/token/v3``,
throttled the same way): the API key and client secret buy an access token, kept in the
session cookie. Signing out revokes that token, so a copy of the cookie is worthless after.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lakefeed.api.console.web import (
    PATH,
    SANDBOX_COOKIE,
    SESSION_COOKIE,
    SessionDep,
    checked_form,
    local_next,
    render,
    same_origin,
    url,
)
from lakefeed.api.ims import exchange
from lakefeed.api.security import revoke_token, root_engine, sandbox_engine, verified_client
from lakefeed.catalog.auth import DEFAULT_SANDBOX
from lakefeed.errors import (
    AuthenticationRequired,
    ConsoleRequestRefused,
    LakefeedError,
    TooManyAttempts,
)

router = APIRouter()


def _sign_in_page(
    request: Request,
    *,
    next: str,
    client_id: str = "",
    error: str = "",
    status_code: int = 200,
    retry_after: int | None = None,
    signed_out: bool = False,
) -> HTMLResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return render(
        request,
        None,
        "sign_in.html",
        status_code=status_code,
        headers=headers,
        next=local_next(next),
        client_id=client_id,
        error=error,
        signed_out=signed_out,
    )


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def console_home(request: Request) -> RedirectResponse:
    return RedirectResponse(url(request, PATH + "/flows"), status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    signed_out: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The sign-in form: an API client's id (its API key) and secret."""
    return _sign_in_page(request, next=next or "", signed_out=signed_out)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    client_id: Annotated[str, Form(max_length=200)] = "",
    client_secret: Annotated[str, Form(max_length=500)] = "",
    sandbox: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Exchange the credentials for a token and keep it in the session cookie; the form again,
    with the reason, when they are wrong (the secret is never echoed)."""
    if not same_origin(request):
        raise ConsoleRequestRefused(
            "This sign-in came from another site's page.", fix="Sign in on /console/sign-in."
        )
    client_id = client_id.strip()
    if not client_id or not client_secret:
        return _sign_in_page(
            request,
            next=next,
            client_id=client_id,
            error="Enter the API key (client id) and the client secret.",
            status_code=400,
        )
    try:
        token, expires_in = await run_in_threadpool(exchange, request, client_id, client_secret)
    except TooManyAttempts as refused:
        return _sign_in_page(
            request,
            next=next,
            client_id=client_id,
            error=f"{refused.message} {refused.fix}",
            status_code=429,
            retry_after=refused.retry_after,
        )
    except AuthenticationRequired:
        return _sign_in_page(
            request,
            next=next,
            client_id=client_id,
            error="The API key or the client secret is wrong.",
            status_code=401,
        )
    sandbox = sandbox.strip() or DEFAULT_SANDBOX
    try:
        await sandbox_engine(request, await verified_client(request, token), sandbox)
    except LakefeedError as refused:
        await revoke_token(request, token)
        return _sign_in_page(
            request, next=next, client_id=client_id, error=refused.message, status_code=403
        )
    response = RedirectResponse(url(request, local_next(next)), status_code=303)
    _keep(request, response, SESSION_COOKIE, token, expires_in)
    _keep(request, response, SANDBOX_COOKIE, sandbox, expires_in)
    return response


def _keep(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    """Set a console cookie: for /console only, out of scripts' reach, never sent by another
    site's request, over HTTPS only when the console is reached over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=url(request, PATH),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep) -> RedirectResponse:
    """Revoke the session's token and drop its cookies."""
    await checked_form(request, session)
    await revoke_token(request, session.token)
    response = RedirectResponse(url(request, PATH + "/sign-in?signed_out=1"), status_code=303)
    for name in (SESSION_COOKIE, SANDBOX_COOKIE):
        response.delete_cookie(name, path=url(request, PATH), httponly=True, samesite="strict")
    return response


@router.post("/sandbox")
async def switch_sandbox(request: Request, session: SessionDep) -> RedirectResponse:
    """Work in another sandbox of the org: refused as the API refuses it (404 for none such,
    403 for one the client may not use)."""
    form = await checked_form(request, session)
    sandbox = str(form.get("sandbox") or "").strip()[:100] or DEFAULT_SANDBOX
    await sandbox_engine(request, session.client, sandbox)
    response = RedirectResponse(url(request, PATH + "/flows"), status_code=303)
    _keep(request, response, SANDBOX_COOKIE, sandbox, root_engine(request).auth.token_ttl_seconds)
    return response
