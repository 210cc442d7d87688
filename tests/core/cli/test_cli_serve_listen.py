"""``lakefeed serve`` binds its socket before anything starts: a port in use is a lakefeed
error (exit 1) naming the address and the fix, not uvicorn's log line and exit 3 (the code of
a partial run); ``--port 0`` says which port it got, and serves there."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests_support import LAKEFEED_CLI, first_answer

RunCli = Callable[..., Result]


def test_a_port_in_use_is_a_clear_error(run_cli: RunCli) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        refused = run_cli("serve", "--port", str(port), code=1)
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use." in refused.stderr
    assert "--port" in refused.stderr and "lakefeed serving" not in refused.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_port_0_serves_on_the_port_it_names(tmp_path: Path, host: str) -> None:
    """ "localhost" is 127.0.0.1 (IPv4), as uvicorn binds it."""
    process = subprocess.Popen(
        [*LAKEFEED_CLI, "serve", "--host", host, "--port", "0", "--log-level", "warning"],
        env={**os.environ, "LAKEFEED_HOME": str(tmp_path / "home")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline().decode()
        found = re.search(rf"on http://{host}:(\d+) ", first)
        assert found and found.group(1) != "0", first
        answer = first_answer(process, f"http://127.0.0.1:{found.group(1)}/healthz")
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)
