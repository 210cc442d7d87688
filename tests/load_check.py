"""The load check: ``clients`` concurrent API clients against one ``lakefeed serve`` process
for ``seconds``, each calling a mix of reads and writes without pause. It holds when no request
fails (no 5xx, no refused or dropped connection, no unexpected 4xx), every client got answers
throughout, and the store is consistent afterwards. Latency figures are reported, not asserted.

    python tests/load_check.py --database sqlite|postgresql [--clients 50] [--seconds 30]

(PostgreSQL: source the test servers' env first, for LAKEFEED_TEST_POSTGRES_URL.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed

ORG = "LOAD0001@AdobeOrg"
FS = "/data/foundation/flowservice"


@dataclass
class LoadResult:
    database: str
    clients: int
    seconds: float
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    per_client: list[int] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    per_second: float = 0.0

    def line(self) -> str:
        return (
            f"{self.database:10s} {self.clients} clients x {self.seconds:.0f} s: "
            f"{self.requests} requests, {self.per_second:.0f}/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.0f} ms, errors {len(self.errors)}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _engine(home: Path, database_url: str | None) -> Lakefeed:
    """The engine over ``home`` and ``database_url`` (None: SQLite in the home)."""
    import dataclasses

    from lakefeed import Lakefeed
    from lakefeed.config import Settings

    settings = Settings.load(home)
    if database_url:
        settings = dataclasses.replace(
            settings, database_url=database_url, iceberg_catalog_url=database_url
        )
    return Lakefeed(settings=settings)


def _prepare(home: Path, database_url: str | None) -> tuple[dict[str, str], str, str]:
    """A client, its token and a flow over a landing folder with a few files."""
    from lakefeed.catalog.records import Scope
    from lakefeed.testing.profiles import create_profile_schema

    root = _engine(home, database_url)
    lf = root.scoped(Scope(ORG, "prod"))
    api_key, _ = root.auth.create_client(ORG)
    token, _ = root.auth.issue_token(api_key)
    landing = home / "landing"
    landing.mkdir(parents=True)
    connection = lf.create_connection("files", "local-files", None, {"rootPath": str(landing)})
    dataset = lf.datasets.create("profiles", create_profile_schema(lf.schemas)["$id"])
    source = lf.flows.create_source_connection(name="s", base_connection_id=connection.id, path=".")
    target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name="f", source_connection_ids=[source.id], target_connection_ids=[target.id]
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": api_key,
        "x-gw-ims-org-id": ORG,
        "x-sandbox-name": "prod",
    }
    return headers, flow.id, root.connection_spec("local-files").id


@contextlib.contextmanager
def _serving(home: Path, database_url: str | None) -> Iterator[str]:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LAKEFEED_") or key.startswith("LAKEFEED_TEST_")
    }
    env |= {"LAKEFEED_HOME": str(home), "LAKEFEED_LOCAL_ROOTS": str(home)}
    if database_url:
        env["LAKEFEED_DATABASE_URL"] = database_url
    cli = str(Path(sys.executable).with_name("lakefeed"))
    log = (home / "serve.log").open("wb")
    server = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"lakefeed serve exited: {(home / 'serve.log').read_text()}")
            try:
                httpx.get(f"{url}/metrics", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("lakefeed serve did not start in 60 s") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


async def _client(
    n: int,
    url: str,
    headers: dict[str, str],
    flow_id: str,
    spec_id: str,
    landing: str,
    until: float,
    result: LoadResult,
    latencies: list[float],
    created: Counter[str],
) -> None:
    """One client's loop: read the flow, list flows and runs, and make, patch and delete a
    connection of its own; one client in ten also asks for runs of the flow."""
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as api:
        step = 0

        async def call(
            method: str, path: str, ok: tuple[int, ...], **kw: object
        ) -> httpx.Response | None:
            start = time.perf_counter()
            try:
                response = await api.request(method, path, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                result.errors.append(f"client {n} {method} {path}: {type(exc).__name__}: {exc}")
                return None
            latencies.append((time.perf_counter() - start) * 1000)
            result.per_client[n] += 1
            key = f"{method} {response.status_code}"
            result.statuses[key] = result.statuses.get(key, 0) + 1
            if response.status_code not in ok:
                result.errors.append(
                    f"client {n} {method} {path}: {response.status_code} {response.text[:200]}"
                )
                return None
            return response

        while time.monotonic() < until:
            step += 1
            await call("GET", f"{FS}/flows/{flow_id}", (200,))
            await call("GET", f"{FS}/flows?limit=5", (200,))
            await call("GET", f"{FS}/runs?property=flowId=={flow_id}&limit=5", (200,))
            body = {
                "name": f"load-{n}-{step}",
                "connectionSpec": {"id": spec_id, "version": "1.0"},
                "auth": {"specName": "Local Path", "params": {"rootPath": landing}},
            }
            made = await call("POST", f"{FS}/connections", (201,), json=body)
            if made is None:
                continue
            created["made"] += 1
            connection_id = made.json()["id"]
            patched = await call(
                "PATCH",
                f"{FS}/connections/{connection_id}",
                (200,),
                json=[{"op": "replace", "path": "/description", "value": f"step {step}"}],
                headers={"If-Match": made.json()["etag"]},
            )
            if patched is not None and await call(
                "DELETE", f"{FS}/connections/{connection_id}", (204,)
            ):
                created["deleted"] += 1
            if n % 10 == 0:
                # 409: a run of the flow is in progress already; both are answers, not errors.
                await call("POST", f"{FS}/runs", (201, 409), json={"flowId": flow_id})


async def _load(
    url: str, headers: dict[str, str], flow_id: str, spec_id: str, landing: str, result: LoadResult
) -> Counter[str]:
    latencies: list[float] = []
    created: Counter[str] = Counter()
    result.per_client = [0] * result.clients
    until = time.monotonic() + result.seconds
    start = time.perf_counter()
    await asyncio.gather(
        *(
            _client(n, url, headers, flow_id, spec_id, landing, until, result, latencies, created)
            for n in range(result.clients)
        )
    )
    wall = time.perf_counter() - start
    ordered = sorted(latencies)
    result.requests = len(ordered)
    if ordered:
        result.p50_ms = statistics.median(ordered)
        result.p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        result.max_ms = ordered[-1]
    result.per_second = len(ordered) / wall
    return created


def run_load_check(
    home: Path, database: str, database_url: str | None, *, clients: int = 50, seconds: float = 30
) -> tuple[LoadResult, Counter[str], int]:
    """Run the check on a fresh ``home`` (and ``database_url``, or SQLite in the home);
    returns the result, the connections made and deleted, and those left in the store."""
    headers, flow_id, spec_id = _prepare(home, database_url)
    result = LoadResult(database=database, clients=clients, seconds=seconds)
    with _serving(home, database_url) as url:
        created = asyncio.run(_load(url, headers, flow_id, spec_id, str(home / "landing"), result))
    from lakefeed.catalog.records import Scope

    left = [
        c
        for c in _engine(home, database_url).scoped(Scope(ORG, "prod")).connections.list()
        if c.name.startswith("load-")
    ]
    return result, created, len(left)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from databases import fresh_postgres_database

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        os.environ["LAKEFEED_HOME"] = str(Path(tmp) / "home")
        url = (
            stack.enter_context(fresh_postgres_database())
            if args.database == "postgresql"
            else None
        )
        result, created, left = run_load_check(
            Path(tmp) / "home", args.database, url, clients=args.clients, seconds=args.seconds
        )
    print(result.line())
    print(f"connections made {created['made']}, deleted {created['deleted']}, left {left}")
    for error in result.errors[:20]:
        print("  ", error)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
