"""A real uvicorn server on 127.0.0.1 (a free port), and httpx clients with Platform headers."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from lakefeed import Lakefeed
from lakefeed.api import create_app
from lakefeed.config import Settings

ORG = "ACME0001@AdobeOrg"
FS = "/data/foundation/flowservice"


@dataclass
class Server:
    url: str
    lf: Lakefeed
    home: Path
    app: Any

    def client(self, org: str = ORG, sandbox: str = "prod", **kw: Any) -> httpx.Client:
        """An httpx client with a new API client's token and the Platform headers."""
        api_key, secret = self.lf.auth.create_client(org, kw.pop("sandboxes", ()))
        token = httpx.post(
            f"{self.url}/ims/token/v3",
            data={
                "client_id": api_key,
                "client_secret": secret,
                "grant_type": "client_credentials",
            },
        ).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": api_key,
            "x-gw-ims-org-id": org,
            "x-sandbox-name": sandbox,
        }
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)


@contextmanager
def running_server(
    home: Path,
    local_roots: Iterable[Path] = (),
    allow_endpoints: Iterable[str] = (),
    database_url: str | None = None,
    allow_ambient_credentials: bool = False,
) -> Iterator[Server]:
    """A server over ``home`` whose ``LAKEFEED_LOCAL_ROOTS`` is ``local_roots``, whose
    ``LAKEFEED_ALLOW_ENDPOINTS`` is ``allow_endpoints`` and whose
    ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS`` is ``allow_ambient_credentials``; its database is
    ``database_url`` when given (else the settings' own). ``Server.lf`` is the unconfined
    engine (the Python API's view); the app uses a confined copy of it."""
    settings = Settings.load(home)
    if database_url is not None:
        settings = dataclasses.replace(
            settings, database_url=database_url, iceberg_catalog_url=database_url
        )
    settings = dataclasses.replace(
        settings,
        local_roots=tuple(str(root) for root in local_roots),
        allow_endpoints=tuple(allow_endpoints),
        allow_ambient_credentials=allow_ambient_credentials,
    )
    lf = Lakefeed(settings=settings)
    app = create_app(lf)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield Server(f"http://127.0.0.1:{port}", lf, home, app)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


def refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """Assert an error answer: its status (also in the Flow Service error JSON) and the words
    its detailed message must contain; returns the body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["report"]["detailed-message"]
    for word in words:
        assert word in body["report"]["detailed-message"], body
    return body


def created(response: httpx.Response) -> dict[str, Any]:
    """Assert a 201 and return its body (``{"id", "etag"}`` for Flow Service creates)."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def item(api: httpx.Client, path: str) -> dict[str, Any]:
    """The one Flow Service entity at ``FS/path`` (``{"items": [entity]}``)."""
    response = api.get(f"{FS}/{path}")
    assert response.status_code == 200, response.text
    (entity,) = response.json()["items"]
    return dict(entity)


def wait_for_run(api: httpx.Client, run_id: str, seconds: float = 60) -> dict[str, Any]:
    """The run once it is completed (polled, with a deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        run = item(api, f"runs/{run_id}")
        if run["state"] == "completed":
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['state']}"
        time.sleep(0.05)


@contextmanager
def busy_run_workers(server: Server) -> Iterator[None]:
    """Occupy the server's run workers, so that a run started meanwhile waits, in progress,
    until the block ends."""
    from lakefeed.api.app import RUN_WORKERS

    release = threading.Event()
    workers = server.app.state.run_workers
    holds = [workers.submit(release.wait, 60) for _ in range(RUN_WORKERS)]
    try:
        yield
    finally:
        release.set()
        for hold in holds:
            hold.result(timeout=60)
