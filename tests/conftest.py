"""Shared fixtures: an isolated LAKEFEED_HOME per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakefeed.config import ENVIRONMENT
from lakefeed.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test ever touches ~/.lakefeed."""
    home = tmp_path_factory.mktemp("lakefeed-home")
    for var in ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAKEFEED_HOME", str(home))
    yield home
    reset_plugins()
