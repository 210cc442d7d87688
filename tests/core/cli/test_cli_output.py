"""What the CLI prints for programs: one ``--json`` shape for lists, errors as JSON under
``--json``, ``--fields``, and output that is not a terminal never wrapped at 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]

LIST_COMMANDS = [
    ("plugins",),
    ("specs",),
    ("ls", "raw"),
    ("connections", "list"),
    ("schemas", "list"),
    ("datasets", "list"),
    ("mappings", "list"),
    ("flows", "list"),
    ("runs", "list"),
]


@pytest.mark.parametrize("command", LIST_COMMANDS, ids=" ".join)
def test_every_list_prints_items_and_count(
    command: tuple[str, ...], landing: Path, run_cli: RunCli
) -> None:
    pq.write_table(pa.table({"a": [1]}), landing / "one.parquet")
    listed = json.loads(run_cli(*command, "--json").stdout)
    assert set(listed) >= {"items", "count"}, listed
    assert isinstance(listed["items"], list) and listed["count"] == len(listed["items"])


def test_errors_are_json_on_stderr_under_json(landing: Path, run_cli: RunCli) -> None:
    missing = run_cli("connections", "show", "nope", "--json", code=1)
    assert missing.stdout == ""
    error = json.loads(missing.stderr)["error"]
    assert error["code"] == "LF-1101" and error["title"] == "Connection not found"
    assert "nope" in error["message"] and set(error) == {"code", "title", "message", "fix"}

    usage = run_cli("connections", "show", "--json", "--bogus", code=2)
    assert usage.stdout == ""
    assert "--bogus" in json.loads(usage.stderr)["error"]["message"]

    text = run_cli("connections", "show", "nope", code=1)  # without --json: text, as before
    assert text.stderr.startswith("Error LF-1101") and "Fix:" in text.stderr


def test_fields_pick_nested_fields_as_json_or_a_table(landing: Path, run_cli: RunCli) -> None:
    picked = json.loads(
        run_cli("connections", "list", "--json", "--fields", "name,auth.params.rootPath").stdout
    )
    assert picked == {
        "items": [{"name": "raw", "auth.params.rootPath": str(landing)}],
        "count": 1,
    }
    one = json.loads(run_cli("connections", "show", "raw", "--json", "--fields", "id,name").stdout)
    assert [set(item) for item in one["items"]] == [{"id", "name"}]

    table = run_cli("connections", "list", "--fields", "name,auth.params.rootPath").stdout
    header = next(line for line in table.splitlines() if "name" in line)
    assert "auth.params.rootPath" in header and "state" not in header
    assert str(landing) in table

    pq.write_table(pa.table({"a": [1]}), landing / "one.parquet")
    files = json.loads(run_cli("ls", "raw", "--json", "--fields", "name,size").stdout)
    assert files["items"][0]["name"] == "one.parquet" and set(files["items"][0]) == {
        "name",
        "size",
    }

    typo = run_cli("connections", "list", "--json", "--fields", "nmae", code=1)
    error = json.loads(typo.stderr)["error"]
    assert "'nmae'" in error["message"] and "name" in error["message"]
    streamed = run_cli("ls", "raw", "--json", "--fields", "name,sise", code=1)
    assert streamed.stdout == "" and "'sise'" in json.loads(streamed.stderr)["error"]["message"]


def test_output_that_is_not_a_terminal_is_not_wrapped(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "and-another-long-one"
    deep.mkdir(parents=True)
    lf.create_connection("deep", "local-files", None, {"rootPath": str(deep)})
    name = "orders-of-a-day-with-a-long-descriptive-name.parquet"
    pq.write_table(pa.table({"a": [1]}), deep / name)
    full = str(deep / name)
    assert len(full) > 150

    monkeypatch.delenv("COLUMNS")
    in_process = run_cli("ls", "deep").stdout
    assert any(full in line for line in in_process.splitlines())

    # As a cron job or a pipe sees it: the real process, standard output a pipe.
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped = subprocess.run(
        [sys.executable, "-c", "from lakefeed.cli import main; main()", "ls", "deep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (row,) = [line for line in piped.splitlines() if name in line]
    assert full in row and len(row) > 160
