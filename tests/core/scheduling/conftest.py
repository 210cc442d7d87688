"""A scheduling scenario: a flow over local files, a scheduler on a manual clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingestion_suite import IngestSource, Scenario


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    root = tmp_path / "landing"
    root.mkdir()
    return Scenario(tmp_path / "home", IngestSource("local-files", None, {"rootPath": str(root)},
                                                    str(root)))  # fmt: skip


@pytest.fixture
def start() -> int:
    """A start time a little in the future (flows may not start in the past)."""
    return int(time.time()) + 30
