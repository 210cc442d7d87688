"""Fixtures of the console's tests: one real uvicorn server per module, whose local-files
connections may read the session's temporary folders and whose connections may reach the
test servers on loopback. The console calls the engine as the REST routes do, and those run
on both databases in tests/api; these run on the default one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api_support import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home, tmp = tmp_path_factory.mktemp("console-home"), tmp_path_factory.getbasetemp()
    with running_server(home, local_roots=[tmp], allow_endpoints=["127.0.0.1"]) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    """A REST client of org ACME, sandbox prod (``Server.client``)."""
    with server.client() as client:
        yield client
