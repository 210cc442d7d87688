"""Every failure of the CLI is one message (one JSON object on standard error under ``--json``),
never a traceback: lakefeed errors, usage errors of the root options, and the unforeseen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from lakefeed.cli import _register_commands, cli
from lakefeed.cli.output import json_option, stream_json_list
from lakefeed.errors import StorageNotFound
from lakefeed.testing.profiles import profile_table

RunCli = Callable[..., Result]


@pytest.fixture
def broken_home(tmp_path: Path) -> Path:
    """A home whose lakefeed.db is not a database."""
    home = tmp_path / "broken"
    home.mkdir()
    (home / "lakefeed.db").write_bytes(b"this is not an SQLite file\x00" * 200)
    return home


def test_an_unforeseen_error_is_one_line_not_a_traceback(
    broken_home: Path, run_cli: RunCli
) -> None:
    as_json = run_cli("--home", str(broken_home), "connections", "list", "--json", code=1)
    assert as_json.stdout == ""
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == "LF-1999" and "file is not a database" in error["message"]
    assert "LAKEFEED_DEBUG" in error["fix"]
    plain = run_cli("--home", str(broken_home), "connections", "list", code=1)
    assert "Traceback" not in plain.stderr and "LF-1999" in plain.stderr
    assert plain.stderr.startswith("Error LF-1999: lakefeed failed unexpectedly (DatabaseError")


def test_lakefeed_debug_shows_the_traceback(broken_home: Path) -> None:
    _register_commands()
    result = CliRunner().invoke(
        cli, ["--home", str(broken_home), "connections", "list"], env={"LAKEFEED_DEBUG": "1"}
    )
    assert result.exit_code == 1 and type(result.exception).__name__ == "DatabaseError"


def test_a_bad_root_option_is_json_under_json(tmp_path: Path, run_cli: RunCli) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = run_cli("--home", str(a_file), "connections", "list", "--json", code=2)
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "LF-1001" and "--home" in error["message"] and error["fix"]
    plain = run_cli("--home", str(a_file), "connections", "list", code=2)
    assert "Invalid value for '--home'" in plain.stderr and not plain.stderr.startswith("{")


def test_an_option_missing_its_value_has_a_fix(landing: Path, run_cli: RunCli) -> None:
    result = run_cli("ls", "raw", "--json", "--fields", code=2)
    error = json.loads(result.stderr)["error"]
    assert "--fields" in error["message"] and error["fix"] == "`lakefeed ls --help` lists them."


def test_json_lines_honours_fields(landing: Path, run_cli: RunCli, profile_schema: dict) -> None:
    pq.write_table(profile_table(20, bad={5: "email"}), landing / "p.parquet")
    out = run_cli(
        "ingest", "raw", "p.parquet", "--dataset", "profiles", "--schema", profile_schema["$id"],
        "--partial-ingestion-percent", "50", code=3,
    ).stdout  # fmt: skip
    batch_id = out.split("lakefeed batches errors ")[1].split()[0]
    lines = run_cli("batches", "errors", batch_id, "--json-lines", "--fields", "rowIndex").stdout
    assert [json.loads(line) for line in lines.splitlines()] == [{"rowIndex": 5}]
    typo = run_cli("batches", "errors", batch_id, "--json-lines", "--fields", "x", code=1)
    assert typo.stdout == "" and "--fields: no 'x'" in typo.stderr


@click.command("cut")
@json_option
def _cut_listing(as_json: bool) -> None:
    """A listing whose storage fails after the first page (as a dropped connection does)."""

    def entries() -> Iterator[dict]:
        yield {"path": "a.parquet"}
        raise StorageNotFound("The folder went away while listing.", fix="List it again.")

    stream_json_list(entries(), lambda e: e)


def test_a_streamed_list_cut_by_an_error_still_is_one_json_document() -> None:
    cli.add_command(_cut_listing)
    try:
        result = CliRunner().invoke(cli, ["cut", "--json"])
    finally:
        cli.commands.pop("cut")
    assert result.exit_code == 1
    document = json.loads(result.stdout)  # closed, not half a document
    assert document["items"] == [{"path": "a.parquet"}] and document["count"] == 1
    assert document["error"]["code"] == StorageNotFound.code
    assert json.loads(result.stderr)["error"] == document["error"]


@pytest.mark.parametrize("home", ["/dev/null", "/proc", "under-a-file"])
def test_a_home_where_no_database_can_be_made_is_named(
    tmp_path: Path, run_cli: RunCli, home: str
) -> None:
    """Was LF-1999 (NotADirectoryError, FileNotFoundError): a home that is a file, or on a
    file system that takes no new files."""
    if home == "under-a-file":
        (tmp_path / "a-file").write_text("not a folder")
        home = str(tmp_path / "a-file" / "home")
    refused = run_cli("--home", home, "connections", "list", "--json", code=1)
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "LF-1963", error
    assert f"Cannot create the SQLite database '{home}/lakefeed.db'" in error["message"]
    assert "LAKEFEED_HOME" in error["fix"]
