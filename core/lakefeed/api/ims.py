"""``POST /ims/token/v3``: the client-credentials exchange Adobe IMS offers, for local clients.

Failed exchanges are throttled per client id and per caller address (:mod:`lakefeed.api.throttle`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request

from lakefeed.api.security import root_engine
from lakefeed.api.throttle import LoginThrottle
from lakefeed.errors import AuthenticationRequired, InvalidRequest

PREFIX = "/ims"
router = APIRouter(tags=["ims"])


@router.post("/token/v3")
def token(
    request: Request,
    client_id: str = Form(...),
    client_secret: str = Form(...),
    grant_type: str = Form(...),
) -> dict[str, Any]:
    """Exchange an API client's id and secret for a bearer token."""
    if grant_type != "client_credentials":
        raise InvalidRequest(
            f"grant_type {grant_type!r} is not supported.", fix="Use client_credentials."
        )
    access_token, expires_in = exchange(request, client_id, client_secret)
    return {"access_token": access_token, "token_type": "bearer", "expires_in": expires_in}


def exchange(request: Request, client_id: str, client_secret: str) -> tuple[str, int]:
    """The client-credentials grant, throttled: ``(access_token, expires_in seconds)``;
    :class:`AuthenticationRequired` for wrong credentials, :class:`TooManyAttempts` while the
    client id or the caller's address is locked out."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else ""
    throttle.check(client_id, address)  # 429 while locked out, whatever the secret
    try:
        access_token, expires_in = root_engine(request).auth.exchange(client_id, client_secret)
    except AuthenticationRequired:
        throttle.failed(client_id, address)
        raise
    throttle.succeeded(client_id)
    return access_token, expires_in
