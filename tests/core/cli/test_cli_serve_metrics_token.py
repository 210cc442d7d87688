"""``lakefeed serve --metrics-token-file`` and ``LAKEFEED_METRICS_TOKEN``: the token is read
from the file (or the environment), required on ``/metrics`` and never shown; a file that
cannot give one stops the server before it listens."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from lakefeed.config import Settings
from tests_support import LAKEFEED_CLI, first_answer, free_port

RunCli = Callable[..., Result]
TOKEN = "file-token-5b0d8f4e2a6c4e19"


def test_serve_requires_the_token_of_the_file_on_metrics(tmp_path: Path) -> None:
    token_file = tmp_path / "metrics.token"
    token_file.write_text(f"{TOKEN}\n")
    port = free_port()
    env = {**os.environ, "LAKEFEED_HOME": str(tmp_path / "home")}
    command = [*LAKEFEED_CLI, "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(
        [*command, "--metrics-token-file", str(token_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        live = first_answer(process, f"{url}/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        assert httpx.get(f"{url}/readyz").status_code == 200
        refused = httpx.get(f"{url}/metrics")
        assert refused.status_code == 401 and refused.json()["report"]["code"] == "LF-2002"
        allowed = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200, allowed.text
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    assert "/metrics requires its bearer token" in stderr.decode()
    assert TOKEN not in (stdout + stderr).decode()


def test_serve_refuses_a_token_file_it_cannot_read(tmp_path: Path, run_cli: RunCli) -> None:
    refused = run_cli("serve", "--metrics-token-file", str(tmp_path / "missing.token"), code=1)
    assert refused.stderr.startswith("Error LF-1001: The metrics token file ")
    assert "cannot be read: No such file or directory." in refused.stderr
    endless = run_cli("serve", "--metrics-token-file", "/dev/zero", code=1)
    assert "'/dev/zero' cannot be read: it is longer than 1,048,576 characters." in endless.stderr


@pytest.mark.parametrize("content", ["", " \n\n"])
def test_serve_refuses_an_empty_token_file(tmp_path: Path, run_cli: RunCli, content: str) -> None:
    token_file = tmp_path / "metrics.token"
    token_file.write_text(content)
    refused = run_cli("serve", "--metrics-token-file", str(token_file), code=1)
    assert refused.stderr.startswith(
        f"Error LF-1001: The metrics token file '{token_file}' is empty."
    )
    assert "--metrics-token-file" in refused.stderr


def test_the_setting_reads_the_environment_and_never_shows_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.load().metrics_token is None
    monkeypatch.setenv("LAKEFEED_METRICS_TOKEN", "   ")
    assert Settings.load().metrics_token is None
    monkeypatch.setenv("LAKEFEED_METRICS_TOKEN", f"  {TOKEN} ")
    settings = Settings.load()
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)
