"""Latency of the REST service under concurrent clients on loopback.

Starts ``lakefeed serve`` (uvicorn, one process) on a fresh LAKEFEED_HOME with a flow in it,
then runs ``--clients`` concurrent clients (asyncio + httpx, one connection each) that call
``GET /flows/{id}`` and ``POST /connections`` ``--requests`` times each, and prints p50, p99
and throughput. Baseline, measured in the same run: a bare FastAPI route answering a small
JSON document on the same uvicorn settings (what the framework costs before any lakefeed work).

    python benchmarks/api_latency.py --clients 50 --requests 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ORG = "BENCH0001@AdobeOrg"
BASELINE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/hello/{id}")
    def hello(id: str) -> dict:
        return {"items": [{"id": id, "name": "baseline", "state": "enabled"}]}
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def prepare(home: Path) -> tuple[dict[str, str], str]:
    """A client, a token and a flow in a fresh home; returns (headers, flow id)."""
    from lakefeed import Lakefeed
    from lakefeed.catalog.records import Scope
    from lakefeed.testing.profiles import create_profile_schema

    root = Lakefeed(home=home)
    lf = root.scoped(Scope(ORG, "prod"))
    api_key, _ = root.auth.create_client(ORG)
    token, _ = root.auth.issue_token(api_key)
    data = home / "landing"
    data.mkdir()
    connection = lf.create_connection("files", "local-files", None, {"rootPath": str(data)})
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
    return headers, flow.id


async def load(
    clients: int, requests: int, call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> tuple[list[float], float]:
    """Latencies (ms) of ``clients`` x ``requests`` calls, and the wall time (s)."""
    latencies: list[float] = []
    # Clients are made before the clock starts: each builds an SSL context (~20 ms of CPU), and
    # 50 of them built on the one event loop used to show up as ~1 s on every first request.
    pool = [httpx.AsyncClient(timeout=60) for _ in range(clients)]

    async def one_client(n: int) -> None:
        async with pool[n] as client:
            for i in range(requests):
                start = time.perf_counter()
                response = await call(client, n * requests + i)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code >= 400:
                    raise SystemExit(f"{response.status_code}: {response.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(one_client(n) for n in range(clients)))
    return latencies, time.perf_counter() - start


def summary(name: str, latencies: list[float], wall: float) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:28s} n={len(ordered):5d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
        f"{len(ordered) / wall:7.0f} req/s"
    )
    return p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client and route")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        headers, flow_id = prepare(home)
        lf_port, base_port = free_port(), free_port()
        baseline_file = Path(tmp) / "baseline_app.py"
        baseline_file.write_text(BASELINE_APP)
        # POST /connections stores local-files connections: the server must allow their root.
        env = {**os.environ, "LAKEFEED_HOME": str(home), "LAKEFEED_LOCAL_ROOTS": str(home)}
        cli = str(Path(sys.executable).with_name("lakefeed"))
        servers = [
            subprocess.Popen(
                [cli, "serve", "--port", str(lf_port), "--log-level", "warning"], env=env
            ),
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "baseline_app:app",
                    "--port",
                    str(base_port),
                    "--host",
                    "127.0.0.1",
                    "--log-level",
                    "warning",
                ],
                cwd=tmp,
            ),
        ]
        try:
            lf_url, base_url = f"http://127.0.0.1:{lf_port}", f"http://127.0.0.1:{base_port}"
            wait_ready(f"{lf_url}/openapi.json", servers[0])
            wait_ready(f"{base_url}/hello/x", servers[1])
            fs = f"{lf_url}/data/foundation/flowservice"
            body = {
                "auth": {"specName": "Local Path", "params": {"rootPath": str(home / "landing")}},
                "connectionSpec": {"id": "local-files"},
            }

            def get_flow(c: httpx.AsyncClient, _: int) -> Awaitable[httpx.Response]:
                return c.get(f"{fs}/flows/{flow_id}", headers=headers)

            def post_connection(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
                return c.post(
                    f"{fs}/connections",
                    headers=headers,
                    json={**body, "name": f"c{n}-{time.perf_counter_ns()}"},
                )

            def baseline(c: httpx.AsyncClient, n: int) -> Awaitable[httpx.Response]:
                return c.get(f"{base_url}/hello/{n}")

            print(f"{args.clients} concurrent clients x {args.requests} requests, loopback")
            results = {}
            for name, call in (
                ("baseline GET (bare FastAPI)", baseline),
                ("GET /flows/{id}", get_flow),
                ("POST /connections", post_connection),
            ):
                asyncio.run(load(2, 5, call))  # warm up
                results[name] = summary(name, *asyncio.run(load(args.clients, args.requests, call)))
            base50, base99 = results["baseline GET (bare FastAPI)"]
            for name in ("GET /flows/{id}", "POST /connections"):
                p50, p99 = results[name]
                print(f"{name:28s} vs baseline: p50 {p50 / base50:5.1f}x  p99 {p99 / base99:5.1f}x")
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
