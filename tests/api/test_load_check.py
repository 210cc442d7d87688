"""The load check of issue 14: 50 concurrent API clients for 30 s (``LAKEFEED_LOAD_SECONDS``)
hold without errors, on SQLite and on PostgreSQL (tests/load_check.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from load_check import run_load_check


def test_fifty_clients_for_thirty_seconds_hold_without_errors(
    tmp_path: Path, database_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = float(os.environ.get("LAKEFEED_LOAD_SECONDS", "30"))
    url = os.environ.get("LAKEFEED_DATABASE_URL") if database_backend == "postgresql" else None
    result, created, left = run_load_check(
        tmp_path / "home", database_backend, url, clients=50, seconds=seconds
    )
    with capsys.disabled():
        print("\n" + result.line())
    assert result.errors == []
    assert all(answered > 0 for answered in result.per_client), result.per_client
    assert created["made"] > 0 and left == created["made"] - created["deleted"]
