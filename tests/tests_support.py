"""Helpers shared by test modules (imported as a top-level module: tests/ is on sys.path)."""

from __future__ import annotations

import os

import pytest


def server_env(name: str) -> str:
    """An endpoint or credential written by tests/servers/start.sh. Missing means the servers
    were not started: fail loudly, never skip a backend."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: the test servers are not running. Run `make test`, or "
            "`make servers-start` and `source /tmp/lakefeed-test-servers/run/servers.env`.",
            pytrace=False,
        )
    return value
