"""Names people choose are printed as text, never as rich markup: ``bad[/]name`` used to crash
the command after its change was made (exit 1, yet the connection was created or deleted)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.errors import ConnectionNotFound

RunCli = Callable[..., Result]

NAME = "bad[/]name"


def test_connection_named_with_markup(tmp_path: Path, lf: Lakefeed, run_cli: RunCli) -> None:
    created = run_cli("connections", "create", NAME, "--spec", "local-files",
                      "-p", f"rootPath={tmp_path}", "--test")  # fmt: skip
    assert f"Created connection {NAME} (" in created.stdout
    assert lf.connection(NAME).name == NAME
    shown = run_cli("connections", "show", NAME)
    assert f"Connection {NAME}" in shown.stdout
    assert "OK" in run_cli("connections", "test", NAME).stdout
    run_cli("connections", "update", NAME, "--description", "[bold]x[/bold]")
    deleted = run_cli("connections", "delete", NAME)
    assert f"Deleted connection {NAME} (" in deleted.stdout
    with pytest.raises(ConnectionNotFound):
        lf.connection(NAME)


def test_sandbox_of_an_org_named_with_markup(run_cli: RunCli) -> None:
    created = run_cli("sandboxes", "create", "dev-1", "--org", "org[/]1")
    assert "sandbox dev-1 in org org[/]1" in created.stdout


def test_inspect_names_a_failed_file_as_text(landing: Path, run_cli: RunCli) -> None:
    (landing / "x[red]y.parquet").write_bytes(b"not parquet at all")
    failed = run_cli("inspect", "raw", "x[red]y.parquet", code=1)
    assert "x[red]y.parquet" in failed.stdout
