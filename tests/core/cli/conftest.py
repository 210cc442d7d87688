"""Fixtures of the CLI tests: the CLI run in-process, a landing folder with a connection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lakefeed import Lakefeed
from lakefeed.cli import _register_commands, cli
from lakefeed.testing.profiles import create_profile_schema

RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``run_cli(*args, input=None, code=0)``: the CLI in-process; asserts the exit code and
    that any failure was a clean exit, never an uncaught exception."""
    monkeypatch.setenv("COLUMNS", "250")
    _register_commands()

    def run(*args: str, input: str | None = None, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
        return result

    return run


@pytest.fixture
def lf() -> Lakefeed:
    """The engine of the isolated LAKEFEED_HOME the CLI uses too."""
    return Lakefeed()


@pytest.fixture
def landing(tmp_path: Path, lf: Lakefeed) -> Path:
    """An empty folder behind the local connection ``raw``."""
    root = tmp_path / "landing"
    root.mkdir()
    lf.create_connection("raw", "local-files", None, {"rootPath": str(root)})
    return root


@pytest.fixture
def profile_schema(lf: Lakefeed) -> dict:
    """The registered Loyalty Profiles schema (Profile class + loyalty field group)."""
    return create_profile_schema(lf.schemas)
