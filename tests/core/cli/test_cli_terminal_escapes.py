"""Names from other people's storage are printed so that they cannot drive the terminal of
whoever lists them: a file named with an escape sequence (``\\x1b[2J`` clears the screen,
``\\x1b]0;…`` retitles it) or a bidi override is shown with those characters escaped, in
tables, summaries, errors and the scheduler's log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed.cli.output import Lines, PrintableFormatter, cell_text, printable

RunCli = Callable[..., Result]

HOSTILE = "e\x1b[2J\x1b]0;pwned\x07\u202eg\x9b"
SHOWN = "e\\x1b[2J\\x1b]0;pwned\\x07\\u202eg\\x9b"


def unescaped(text: str) -> bool:
    return any(c in text for c in ("\x1b", "\x07", "\u202e", "\x9b"))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, SHOWN),
        ("tab\tnew\nline", "tab\tnew\nline"),  # kept: messages and tables use them
        ("é 数据 🙂 [b]", "é 数据 🙂 [b]"),  # printable text is left alone
        ("\x00\x7f\u2066", "\\x00\\x7f\\u2066"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_listing_inspecting_and_ingesting_a_hostile_name(landing: Path, run_cli: RunCli) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), landing / f"{HOSTILE}.parquet")
    (landing / f"{HOSTILE}-broken.parquet").write_bytes(b"not parquet")
    for args, code in (
        (("ls", "raw"), 0),
        (("inspect", "raw", "*"), 1),  # the broken file fails, named in the output
        (("ingest", "raw", ".", "--dataset", "d", "--infer"), 3),  # partial: one file failed
    ):
        done = run_cli(*args, code=code)
        assert not unescaped(done.output), (args, done.output)
        # (the run's file-error table may wrap the long name over lines)
        assert SHOWN in done.output or args[0] == "ingest", (args, done.output)
        assert "\\x1b[2J" in done.output, (args, done.output)


def test_an_error_naming_a_hostile_path(landing: Path, run_cli: RunCli) -> None:
    refused = run_cli("ls", "raw", f"{HOSTILE}/nowhere", code=1)
    assert "LF-" in refused.output and not unescaped(refused.output)


def test_the_scheduler_log_lines() -> None:
    record = logging.LogRecord("lakefeed", logging.INFO, __file__, 1, "read %s", (HOSTILE,), None)
    line = PrintableFormatter("%(message)s").format(record)
    assert line == f"read {SHOWN}"


def test_json_output_escapes_them_as_json_and_reads_back_the_same(
    landing: Path, run_cli: RunCli
) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), landing / f"{HOSTILE}.parquet")
    for args in (("ls", "raw", "--json"), ("inspect", "raw", "*", "--json")):
        done = run_cli(*args)
        assert not unescaped(done.stdout), (args, done.stdout)
        assert "\\u001b[2J" in done.stdout and "\\u202e" in done.stdout
        assert HOSTILE in strings(json.loads(done.stdout))  # the same name to a JSON reader


def strings(value: object) -> str:
    """Every string in a JSON value, joined."""
    if isinstance(value, dict):
        return " ".join(strings(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(strings(v) for v in value)
    return value if isinstance(value, str) else ""


def test_a_name_with_a_line_break_cannot_draw_another_row(landing: Path, run_cli: RunCli) -> None:
    forged = "real.parquet\n│ forged-looks-listed.parquet"
    pq.write_table(pa.table({"a": [1]}), landing / f"{forged}.parquet")
    listing = run_cli("ls", "raw").output
    (line,) = [line for line in listing.splitlines() if "real.parquet" in line]
    assert "real.parquet\\n│ forged-looks-listed.parquet.parquet" in line  # one row, one line
    assert not any(line.startswith("│ forged") for line in listing.splitlines())


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a\nb\rc", "a\\nb\\rc"),
        (Lines(["E1", "E2\nforged"]), "E1\nE2\\nforged"),  # one line per item, items escaped
        (["kept", "as before"], "['kept', 'as before']"),
        (None, ""),
    ],
)
def test_cell_text(value: object, shown: str) -> None:
    assert cell_text(value) == shown
