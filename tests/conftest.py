"""Shared fixtures: an isolated LAKEFEED_HOME per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakefeed.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test ever touches ~/.lakefeed."""
    home = tmp_path_factory.mktemp("lakefeed-home")
    monkeypatch.setenv("LAKEFEED_HOME", str(home))
    for var in (
        "LAKEFEED_LOAD_PLUGINS",
        "LAKEFEED_DISABLE_PLUGINS",
        "LAKEFEED_TRACE_PLUGINS",
        "LAKEFEED_DATABASE_URL",
        "LAKEFEED_SECRET_KEY_FILE",
        "LAKEFEED_ICEBERG_CATALOG_URL",
        "LAKEFEED_WAREHOUSE",
        "LAKEFEED_SERVER",
        "LAKEFEED_API_KEY",
        "LAKEFEED_CLIENT_SECRET",
        "LAKEFEED_ORG",
        "LAKEFEED_SANDBOX",
        "LAKEFEED_ALLOW_ENDPOINTS",
        "LAKEFEED_CONNECT_TIMEOUT",
        "LAKEFEED_READ_TIMEOUT",
    ):
        monkeypatch.delenv(var, raising=False)
    yield home
    reset_plugins()
