"""The compatibility suite: raw HTTP requests shaped as Adobe's SDKs and published Postman
collections send them, against a real server. One server per module; ``sdk`` is a client of
org ACME, sandbox prod, that sends ``Content-Type: application/json`` on every request (bodies
or not, as those collections do) and never follows a redirect (a 307 is an answer to it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from api_support import Server, running_server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    home, tmp = tmp_path_factory.mktemp("compat-home"), tmp_path_factory.getbasetemp()
    with running_server(
        home, local_roots=[tmp], allow_endpoints=["127.0.0.1"], database_url=server_database()
    ) as running:
        yield running


@pytest.fixture(scope="module")
def sdk(server: Server) -> Iterator[httpx.Client]:
    with server.client(follow_redirects=False) as client:
        client.headers["Content-Type"] = "application/json"
        client.headers["Accept"] = "application/json"
        yield client
