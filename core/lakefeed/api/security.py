"""Who is calling, for which org and sandbox: the headers every route requires.

``Authorization: Bearer <token>`` (401 when missing, unknown or expired), ``x-api-key`` (403
unless it is the token's client), ``x-gw-ims-org-id`` (400 when missing, 403 unless it is the
client's org), ``x-sandbox-name`` (400 when missing, 404 when the org has no such sandbox, 403
when the client may not use it).
"""

from __future__ import annotations

import hmac
import threading
import time
import weakref
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lakefeed.catalog.auth import DEFAULT_SANDBOX, AccessToken, ApiClient, digest
from lakefeed.catalog.records import Scope, now_ms
from lakefeed.engine import Lakefeed
from lakefeed.errors import AuthenticationRequired, Forbidden, MissingHeader, quoted


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


_scoped: weakref.WeakKeyDictionary[Lakefeed, dict[Scope, Lakefeed]] = weakref.WeakKeyDictionary()
_scoped_lock = threading.Lock()


def scoped_engine(lf: Lakefeed, scope: Scope) -> Lakefeed:
    """``lf.scoped(scope)``, made once per org and sandbox and reused by later requests.

    A scoped engine holds only stateless stores (over the shared database engine), so reusing
    it changes no answer; it saves rebuilding them on every request, and above all the
    connection store's Fernet cipher, which reads the key file each time it is built. (The key
    file is thus read once per org and sandbox, as a CLI process reads it once.) Only callers
    that passed authentication reach here, so the entries are bounded by the orgs and
    sandboxes that exist.
    """
    with _scoped_lock:
        engines = _scoped.setdefault(lf, {})
        engine = engines.get(scope)
        if engine is None:
            engine = engines[scope] = lf.scoped(scope)
        return engine


#: Seconds a verified token, and a sandbox found to exist, are trusted without reading the
#: store again. A token's own expiry is still checked on every request; a client deleted or a
#: sandbox removed in the store is noticed within this delay.
AUTH_CACHE_SECONDS = 5.0
AUTH_CACHE_ENTRIES = 10_000


class _AuthCache:
    """Recent answers of :meth:`AuthStore.verify` (by token hash) and :meth:`AuthStore.sandbox`
    (positive only: a refusal is always read from the store), for ``AUTH_CACHE_SECONDS``."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[float, AccessToken]] = {}
        self.sandboxes: dict[tuple[str, str], float] = {}

    @staticmethod
    def _fresh(stored_at: float) -> bool:
        return time.monotonic() - stored_at < AUTH_CACHE_SECONDS

    def token(self, key: str) -> AccessToken | None:
        found = self.tokens.get(key)
        if found is None or not self._fresh(found[0]):
            return None
        return found[1]

    def keep_token(self, key: str, access: AccessToken) -> None:
        if len(self.tokens) >= AUTH_CACHE_ENTRIES:
            self.tokens.clear()
        self.tokens[key] = (time.monotonic(), access)

    def sandbox(self, org: str, name: str) -> bool:
        stored_at = self.sandboxes.get((org, name))
        return stored_at is not None and self._fresh(stored_at)

    def keep_sandbox(self, org: str, name: str) -> None:
        if len(self.sandboxes) >= AUTH_CACHE_ENTRIES:
            self.sandboxes.clear()
        self.sandboxes[(org, name)] = time.monotonic()


_auth_caches: weakref.WeakKeyDictionary[Lakefeed, _AuthCache] = weakref.WeakKeyDictionary()


def _auth_cache(lf: Lakefeed) -> _AuthCache:
    with _scoped_lock:
        cache = _auth_caches.get(lf)
        if cache is None:
            cache = _auth_caches[lf] = _AuthCache()
        return cache


async def token_client(request: Request) -> ApiClient:
    """The API client of the request's ``Authorization: Bearer`` token:
    :class:`AuthenticationRequired` (401) when it is missing, unknown or expired.

    Async, so that a token checked in the last few seconds is accepted on the event loop,
    without a trip through the thread pool; the store is read (in the thread pool) otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired(
            "The Authorization header with a bearer token is missing.",
            fix="Send Authorization: Bearer <token> (POST /ims/token/v3 gives one).",
        )
    return await verified_client(request, token.strip())


async def verified_client(request: Request, token: str) -> ApiClient:
    """The API client ``token`` was issued to: :class:`AuthenticationRequired` (401) when it
    is unknown or expired. Shared by the bearer header and the console's session cookie."""
    lf = root_engine(request)
    cache = _auth_cache(lf)
    key = digest(token)
    access = cache.token(key)
    if access is None or access.expires_at <= now_ms():
        access = await run_in_threadpool(lf.auth.verify, token)
        cache.keep_token(key, access)
    return access.client


async def revoke_token(request: Request, token: str) -> None:
    """Revoke ``token`` in the store and forget it here, so it is refused from now on."""
    lf = root_engine(request)
    await run_in_threadpool(lf.auth.revoke, token)
    _auth_cache(lf).tokens.pop(digest(token), None)


async def sandbox_engine(request: Request, client: ApiClient, sandbox: str) -> Lakefeed:
    """The engine seen from ``client``'s org and ``sandbox``: :class:`SandboxNotFound` (404)
    when the org has no such sandbox, :class:`Forbidden` (403) when the client may not use it."""
    lf = root_engine(request)
    cache = _auth_cache(lf)
    org = client.ims_org_id
    if sandbox != DEFAULT_SANDBOX and not cache.sandbox(org, sandbox):
        await run_in_threadpool(lf.auth.sandbox, org, sandbox)  # 404 when there is no such one
        cache.keep_sandbox(org, sandbox)
    if not client.may_use(sandbox):
        raise Forbidden(
            f"This API client may not use sandbox {quoted(sandbox)}.",
            fix="Use one of its sandboxes, or create a client for this one.",
        )
    return scoped_engine(lf, Scope(org, sandbox))


async def caller(request: Request) -> Caller:
    """FastAPI dependency of every Platform route (see :func:`token_client`)."""
    client = await token_client(request)
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise Forbidden("The x-api-key header is missing.", fix="Send your client's API key.")
    # As bytes: a header decodes as Latin-1, and compare_digest refuses non-ASCII text.
    if not hmac.compare_digest(api_key.encode("latin-1", "replace"), client.api_key.encode()):
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
            f"The token's client does not belong to org {quoted(org)}.",
            fix="Send the org the API client was created for.",
        )
    sandbox = request.headers.get("x-sandbox-name")
    if not sandbox:
        raise MissingHeader(
            "The x-sandbox-name header is missing.", fix="Send x-sandbox-name: prod (or another)."
        )
    return Caller(await sandbox_engine(request, client, sandbox), client, org, sandbox)
