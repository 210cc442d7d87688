"""Who is calling, for which org and sandbox: the headers every route requires.

``Authorization: Bearer <token>`` (401 when missing, unknown or expired), ``x-api-key`` (403
unless it is the token's client), ``x-gw-ims-org-id`` (400 when missing, 403 unless it is the
client's org), ``x-sandbox-name`` (400 when missing, 404 when the org has no such sandbox, 403
when the client may not use it).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request

from lakefeed.catalog.auth import ApiClient
from lakefeed.catalog.records import Scope
from lakefeed.engine import Lakefeed
from lakefeed.errors import AuthenticationRequired, Forbidden, MissingHeader


@dataclass(frozen=True)
class Caller:
    """The engine seen from the caller's org and sandbox."""

    lf: Lakefeed
    client: ApiClient
    ims_org_id: str
    sandbox_name: str


def root_engine(request: Request) -> Lakefeed:
    lf: Lakefeed = request.app.state.lakefeed
    return lf


def caller(request: Request) -> Caller:
    """FastAPI dependency of every Platform route."""
    lf = root_engine(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired(
            "The Authorization header with a bearer token is missing.",
            fix="Send Authorization: Bearer <token> (POST /ims/token/v3 gives one).",
        )
    access = lf.auth.verify(token.strip())
    client = access.client
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise Forbidden("The x-api-key header is missing.", fix="Send your client's API key.")
    if not hmac.compare_digest(api_key, client.api_key):
        raise Forbidden(
            "The x-api-key header is not the API key the token was issued to.",
            fix="Send the API key of the client that requested the token.",
        )
    org = request.headers.get("x-gw-ims-org-id")
    if not org:
        raise MissingHeader(
            "The x-gw-ims-org-id header is missing.", fix="Send your org id in x-gw-ims-org-id."
        )
    if org != client.ims_org_id:
        raise Forbidden(
            f"The token's client does not belong to org {org!r}.",
            fix="Send the org the API client was created for.",
        )
    sandbox = request.headers.get("x-sandbox-name")
    if not sandbox:
        raise MissingHeader(
            "The x-sandbox-name header is missing.", fix="Send x-sandbox-name: prod (or another)."
        )
    lf.auth.sandbox(org, sandbox)  # 404 when the org has no such sandbox
    if not client.may_use(sandbox):
        raise Forbidden(
            f"This API client may not use sandbox {sandbox!r}.",
            fix="Use one of its sandboxes, or create a client for this one.",
        )
    return Caller(lf.scoped(Scope(org, sandbox)), client, org, sandbox)
