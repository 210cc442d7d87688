"""Fixtures: one real uvicorn server per test module, and a client of org ACME, sandbox prod."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from api_support import Server, running_server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    # Local-files connections of the tests live in the session's temporary folders; the
    # test servers (and the unused ports some tests point connections at) are on loopback.
    home, tmp = tmp_path_factory.mktemp("api-home"), tmp_path_factory.getbasetemp()
    with running_server(
        home, local_roots=[tmp], allow_endpoints=["127.0.0.1"], database_url=server_database()
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
