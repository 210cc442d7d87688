"""The console for tests: an httpx client signed in through ``/console/sign-in`` (the session
cookie in its jar, the CSRF token at hand), and the demo's chain made with the Python API —
a local-files connection, the Loyalty Profiles schema and one partial run with rejected rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from api_support import Server
from lakefeed import Lakefeed
from lakefeed.testing.profiles import create_profile_schema, profile_table

#: The org of the Python API's default scope (``Lakefeed()`` without a scope).
LOCAL_ORG = "local"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    """A signed-in console session."""

    http: httpx.Client
    csrf: str
    api_key: str

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        """A console action with the session's CSRF token (unless ``data`` names its own)."""
        return self.http.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)


def sign_in(
    server: Server, org: str = LOCAL_ORG, sandbox: str = "prod", sandboxes: tuple[str, ...] = ()
) -> Console:
    """A new API client of ``org`` signed in to the console in ``sandbox``."""
    api_key, secret = server.lf.auth.create_client(org, sandboxes)
    http = httpx.Client(base_url=server.url, follow_redirects=False, timeout=60)
    answer = http.post(
        "/console/sign-in",
        data={"client_id": api_key, "client_secret": secret, "sandbox": sandbox},
    )
    assert answer.status_code == 303, answer.text
    page = http.get("/console/flows")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None
    return Console(http, found.group(1), api_key)


@dataclass(frozen=True)
class Demo:
    """The demo chain: its folder, flow id and the first run's id."""

    landing: Path
    flow_id: str
    run_id: str
    dataset: str
    schema_id: str


def demo_chain(lf: Lakefeed, landing: Path, *, name: str = "loyalty-profiles") -> Demo:
    """Profiles (300 rows, 2 of them breaking the schema) ingested into dataset ``name`` with
    partial ingestion, then a second file (200 rows, 1 bad) waiting for the next run."""
    landing.mkdir(parents=True, exist_ok=True)
    tenant = lf.schemas.tenant_id
    first = profile_table(300, start=0, tenant_id=tenant, bad={5: "email", 9: "gender"})
    pq.write_table(first, landing / "profiles-0.parquet")
    schema = create_profile_schema(lf.schemas)
    lf.create_connection(f"{name}-landing", "local-files", None, {"rootPath": str(landing)})
    run = lf.ingest(
        f"{name}-landing", ".", dataset=name, schema=schema["$id"], partial_ingestion_percent=5
    )
    second = profile_table(200, start=300, tenant_id=tenant, bad={3: "loyalty_id"})
    pq.write_table(second, landing / "profiles-1.parquet")
    return Demo(landing, run.flow_id, run.id, name, str(schema["$id"]))
