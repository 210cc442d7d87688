"""Helpers shared by test modules (imported as a top-level module: tests/ is on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def sftp_params(**extra: Any) -> dict[str, Any]:
    """Auth params of the test sshd with password authentication, plus ``extra``."""
    return {
        "host": server_env("LAKEFEED_TEST_SFTP_HOST"),
        "port": int(server_env("LAKEFEED_TEST_SFTP_PORT")),
        "userName": server_env("LAKEFEED_TEST_SFTP_USER"),
        "password": server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
        "knownHosts": Path(server_env("LAKEFEED_TEST_SFTP_KNOWN_HOSTS")).read_text(),
        **extra,
    }


#: A valid base64 storage key that is not the emulator's (Azure tests of bad credentials).
WRONG_AZURE_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk9PQ=="


def lakefeed(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``lakefeed`` CLI in a subprocess with its own LAKEFEED_HOME."""
    cli = Path(sys.executable).with_name("lakefeed")
    return subprocess.run(
        [str(cli), *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "LAKEFEED_HOME": str(home), "COLUMNS": "200"},
    )


#: The CLI as a subprocess command of this interpreter (for processes a test keeps running).
LAKEFEED_CLI = [sys.executable, "-c", "from lakefeed.cli import main; main()"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def registered(plugins: Any, plugin: object, name: str) -> Iterator[None]:
    """``plugin`` registered under ``name`` for the body of a ``for _ in registered(...)`` loop
    (one pass), and unregistered after it whatever happens."""
    plugins.register(plugin, name)
    try:
        yield
    finally:
        plugins.unregister(name)


def first_answer(process: subprocess.Popen[bytes], url: str) -> Any:
    """``GET url`` once the ``lakefeed serve`` ``process`` answers (within 60 s; its stderr
    when it exits before)."""
    import time

    import httpx

    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "lakefeed serve did not answer in 60 s"
            time.sleep(0.1)
