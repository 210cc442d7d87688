"""API clients, access tokens and sandboxes: who may call the REST API, and where.

Client secrets and tokens are random 256-bit values; only their SHA-256 is stored, and they
are compared in constant time. (A slow password hash buys nothing for values no one can
guess.) Tokens expire.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import now_ms
from lakefeed.errors import (
    AuthenticationRequired,
    InvalidRequest,
    NameTaken,
    SandboxNotFound,
    quoted,
)

DEFAULT_SANDBOX = "prod"
TOKEN_TTL_SECONDS = 24 * 3600  # as IMS tokens
_SANDBOX_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def digest(value: str) -> str:
    """How secrets and tokens are stored: SHA-256, hex."""
    return hashlib.sha256(value.encode()).hexdigest()


# The lookups of every request, built once (building a statement costs more than running it).
# A token and its client in one query; the client's columns are NULL once it is gone.
_VERIFY = (
    sa.select(
        tables.api_tokens.c.expires_at,
        tables.api_clients.c.api_key,
        tables.api_clients.c.ims_org_id,
        tables.api_clients.c.sandboxes,
    )
    .select_from(
        tables.api_tokens.outerjoin(
            tables.api_clients, tables.api_clients.c.api_key == tables.api_tokens.c.api_key
        )
    )
    .where(tables.api_tokens.c.token_hash == sa.bindparam("token_hash"))
)
_SANDBOX = sa.select(tables.sandboxes.c.name).where(
    (tables.sandboxes.c.ims_org_id == sa.bindparam("ims_org_id"))
    & (tables.sandboxes.c.name == sa.bindparam("name"))
)


@dataclass(frozen=True)
class ApiClient:
    api_key: str
    ims_org_id: str
    sandboxes: tuple[str, ...]  # empty: every sandbox of the org

    def may_use(self, sandbox: str) -> bool:
        return not self.sandboxes or sandbox in self.sandboxes


@dataclass(frozen=True)
class Sandbox:
    ims_org_id: str
    name: str
    type: str  # production | development


@dataclass(frozen=True)
class AccessToken:
    client: ApiClient
    expires_at: int  # epoch ms


class AuthStore:
    def __init__(self, engine: sa.Engine, *, token_ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        self.engine = engine
        self.token_ttl_seconds = token_ttl_seconds

    # -- clients and tokens --------------------------------------------------------------------

    def create_client(self, ims_org_id: str, sandboxes: Sequence[str] = ()) -> tuple[str, str]:
        """A new client of ``ims_org_id``; returns ``(api_key, client_secret)``. The secret is
        shown once: only its hash is kept."""
        if not ims_org_id.strip():
            raise InvalidRequest("An API client needs an org.", fix="Pass --org ORG.")
        for name in sandboxes:
            self.sandbox(ims_org_id, name)  # must exist
        api_key = secrets.token_hex(16)
        secret = "p8e-" + secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            db.execute(
                tables.api_clients.insert().values(
                    api_key=api_key,
                    ims_org_id=ims_org_id,
                    secret_hash=digest(secret),
                    sandboxes=list(sandboxes),
                    created_at=now_ms(),
                )
            )
        return api_key, secret

    def client(self, api_key: str) -> ApiClient | None:
        t = tables.api_clients
        with self.engine.connect() as db:
            row = db.execute(sa.select(t).where(t.c.api_key == api_key)).first()
        if row is None:
            return None
        return ApiClient(row.api_key, row.ims_org_id, tuple(row.sandboxes))

    def clients(self, ims_org_id: str) -> list[ApiClient]:
        t = tables.api_clients
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(t).where(t.c.ims_org_id == ims_org_id).order_by(t.c.created_at)
            )
            return [ApiClient(r.api_key, r.ims_org_id, tuple(r.sandboxes)) for r in rows]

    def exchange(self, api_key: str, client_secret: str) -> tuple[str, int]:
        """The client-credentials grant: ``(access_token, expires_in seconds)``."""
        t = tables.api_clients
        with self.engine.connect() as db:
            row = db.execute(sa.select(t.c.secret_hash).where(t.c.api_key == api_key)).first()
        # Compare even when the client is unknown, so timing does not tell which it was.
        expected = row.secret_hash if row is not None else digest(secrets.token_hex(16))
        if not hmac.compare_digest(expected, digest(client_secret)) or row is None:
            raise AuthenticationRequired(
                "Invalid client credentials.",
                fix="Check client_id and client_secret (`lakefeed auth create-client`).",
            )
        return self.issue_token(api_key)

    def issue_token(self, api_key: str) -> tuple[str, int]:
        client = self.client(api_key)
        if client is None:
            raise AuthenticationRequired(f"Unknown API key {api_key!r}.", fix="Create a client.")
        token = secrets.token_urlsafe(48)
        with self.engine.begin() as db:
            db.execute(
                tables.api_tokens.insert().values(
                    token_hash=digest(token),
                    api_key=api_key,
                    ims_org_id=client.ims_org_id,
                    expires_at=now_ms() + self.token_ttl_seconds * 1000,
                )
            )
        return token, self.token_ttl_seconds

    def revoke(self, token: str) -> None:
        """Make ``token`` invalid now (signing out of the console); an unknown one is a no-op."""
        t = tables.api_tokens
        with self.engine.begin() as db:
            db.execute(t.delete().where(t.c.token_hash == digest(token)))

    def verify(self, token: str) -> AccessToken:
        """The token's client, or AuthenticationRequired (unknown or expired)."""
        with self.engine.connect() as db:
            row = db.execute(_VERIFY, {"token_hash": digest(token)}).first()
        # The lookup is by hash: an attacker learns nothing from timing about stored tokens.
        if row is None or row.expires_at <= now_ms():
            raise AuthenticationRequired(
                "The access token is invalid or has expired.",
                fix="Get a new one from POST /ims/token/v3 (or `lakefeed auth token`).",
            )
        if row.api_key is None:
            raise AuthenticationRequired(
                "The token's client no longer exists.", fix="Re-create it."
            )
        client = ApiClient(row.api_key, row.ims_org_id, tuple(row.sandboxes))
        return AccessToken(client, row.expires_at)

    # -- sandboxes -----------------------------------------------------------------------------

    def create_sandbox(self, ims_org_id: str, name: str, type: str = "development") -> None:
        if not _SANDBOX_NAME.match(name):
            raise InvalidRequest(
                f"Sandbox name {name!r} is not valid.",
                fix="Use lowercase letters, digits and '-', starting with a letter or digit.",
            )
        if name in self.sandboxes(ims_org_id):
            raise NameTaken(f"Sandbox {name!r} already exists.", fix="Choose another name.")
        with self.engine.begin() as db:
            db.execute(
                tables.sandboxes.insert().values(
                    ims_org_id=ims_org_id, name=name, type=type, created_at=now_ms()
                )
            )

    def sandboxes(self, ims_org_id: str) -> list[str]:
        """Sandbox names of the org; ``prod`` always exists."""
        t = tables.sandboxes
        with self.engine.connect() as db:
            names = db.scalars(sa.select(t.c.name).where(t.c.ims_org_id == ims_org_id))
            return sorted({DEFAULT_SANDBOX, *names})

    def list_sandboxes(self, ims_org_id: str) -> list[Sandbox]:
        """The org's sandboxes by name; ``prod`` (production) always exists."""
        t = tables.sandboxes
        query = sa.select(t.c.name, t.c.type).where(t.c.ims_org_id == ims_org_id)
        with self.engine.connect() as db:
            types = {DEFAULT_SANDBOX: "production", **{r.name: r.type for r in db.execute(query)}}
        return [Sandbox(ims_org_id, name, types[name]) for name in sorted(types)]

    def sandbox(self, ims_org_id: str, name: str) -> str:
        """``name``, or SandboxNotFound unless the org has that sandbox (``prod`` always)."""
        if name == DEFAULT_SANDBOX:
            return name
        with self.engine.connect() as db:
            found = db.execute(_SANDBOX, {"ims_org_id": ims_org_id, "name": name}).first()
        if found is None:
            raise SandboxNotFound(
                f"Sandbox {quoted(name)} does not exist in org {ims_org_id!r}.",
                fix="`lakefeed sandboxes list --org ORG` shows them; names are lowercase.",
            )
        return name
