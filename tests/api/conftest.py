"""Fixtures: one real uvicorn server per test module, and a client of org ACME, sandbox prod."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api_support import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("api-home")) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
