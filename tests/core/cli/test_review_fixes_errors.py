"""Review fixes of CLI errors: a closed pipe ends quietly, a malformed --param never shows its
value, and a deeply nested --params-file is a clear LF-1001."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakefeed import Lakefeed

from .conftest import RunCli

SECRET = "hunter2-do-not-show"


def _run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """``lakefeed ARGS`` as a real process whose standard output is a pipe with no reader
    (`lakefeed … | head` after head has gone): every write to it fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-c", "from lakefeed.cli import main; main()", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("ls", "raw", "-r", "--json"),  # fails while the command writes
        ("connections", "list", "--json"),  # small: fails only at the final flush
    ],
)
def test_closed_pipe_ends_quietly(landing: Path, args: tuple[str, ...]) -> None:
    for i in range(300):
        (landing / f"orders-{i:04}.parquet").write_bytes(b"x")

    done = _run_into_closed_pipe(*args)

    assert done.stderr == ""
    assert done.returncode == 141


def _error_text(result: object) -> str:
    return str(getattr(result, "output", "")) + str(getattr(result, "stderr", ""))


@pytest.mark.parametrize(
    "token", [f"s3SecretKey:{SECRET}", f"s3SecretKey {SECRET}", SECRET, f"={SECRET}"]
)
def test_malformed_param_never_shows_its_value(run_cli: RunCli, landing: Path, token: str) -> None:
    create = run_cli(
        "connections", "create", "x", "--spec", "local-files",
        "-p", f"rootPath={landing}", "-p", token, "--no-test", code=1,
    )  # fmt: skip
    update = run_cli("connections", "update", "raw", "-p", token, code=1)
    as_json = run_cli("connections", "update", "raw", "-p", token, "--json", code=1)

    for result in (create, update, as_json):
        text = _error_text(result)
        assert "LF-1001" in text and "NAME=VALUE" in text
        assert SECRET not in text
    if token.startswith("s3SecretKey"):
        assert "s3SecretKey" in _error_text(create)
    else:
        assert "--param number 2" in _error_text(create)


def test_malformed_tag_is_cut(run_cli: RunCli, lf: Lakefeed, profile_schema: dict) -> None:
    lf.datasets.create("profiles", profile_schema["$id"])
    long_tag = "team:" + "g" * 5000

    text = _error_text(run_cli("datasets", "update", "profiles", "--tag", long_tag, code=1))

    assert "LF-1001" in text and "team:ggg" in text
    assert "g" * 200 not in text


@pytest.mark.parametrize("command", ["create", "update"])
@pytest.mark.parametrize("from_stdin", [False, True])
def test_deeply_nested_params_file_is_a_clear_error(
    run_cli: RunCli, landing: Path, tmp_path: Path, command: str, from_stdin: bool
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    source = "-" if from_stdin else str(deep)
    args = (
        ["create", "x", "--spec", "local-files", "--no-test"]
        if command == "create"
        else ["update", "raw"]
    )

    result = run_cli(
        "connections", *args, "--params-file", source, "--json",
        input=deep.read_text() if from_stdin else None, code=1,
    )  # fmt: skip

    error = json.loads(result.stderr)["error"]
    assert error["code"] == "LF-1001"
    assert "nested too deeply" in error["message"]
    assert ("standard input" if from_stdin else str(deep)) in error["message"]
