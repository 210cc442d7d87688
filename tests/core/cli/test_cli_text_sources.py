"""Files and standard input the CLI reads text from (schema documents, mapping sets,
``--params-file``, ``NAME=@FILE``, ``--secret-file``) are read up to a bound: ``/dev/zero``
given by mistake was read forever, holding ever more memory. Pipes are still read as files."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.cli.text_source import MAX_TEXT_CHARS
from lakefeed.testing.profiles import PROFILE_CLASS

RunCli = Callable[..., Result]

TOO_LONG = f"longer than {MAX_TEXT_CHARS:,} characters"

#: Each command that reads a source, with ``{}`` where the source goes.
READERS = [
    ("schemas", "create", "{}"),
    ("mappings", "create", "{}"),
    ("mappings", "validate", "{}"),
    ("connections", "create", "c", "--spec", "local-files", "--params-file", "{}"),
    ("connections", "create", "c", "--spec", "local-files", "-p", "rootPath=@{}"),
]


def command(reader: tuple[str, ...], source: str) -> list[str]:
    return [part.replace("{}", source) for part in reader]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: " ".join(r[:2] + r[-2:-1]))
def test_an_endless_file_is_refused_not_read_forever(
    reader: tuple[str, ...], run_cli: RunCli, lf: Lakefeed
) -> None:
    refused = run_cli(*command(reader, "/dev/zero"), code=1)
    assert "/dev/zero" in refused.stderr and TOO_LONG in refused.stderr, refused.stderr
    assert lf.connections.list() == []  # nothing half-made


@pytest.mark.parametrize("reader", READERS[:3], ids=lambda r: " ".join(r[:2]))
def test_standard_input_is_bounded_too(reader: tuple[str, ...], run_cli: RunCli) -> None:
    refused = run_cli(*command(reader, "-"), input=" " * (MAX_TEXT_CHARS + 1), code=1)
    assert "standard input" in refused.stderr and TOO_LONG in refused.stderr


def test_a_document_at_the_bound_is_read_and_one_past_it_is_not(
    tmp_path: Path, run_cli: RunCli
) -> None:
    text = json.dumps({"title": "Padded", "type": "object", "allOf": [{"$ref": PROFILE_CLASS}]})
    at_bound = tmp_path / "at.json"
    at_bound.write_text(text + " " * (MAX_TEXT_CHARS - len(text)), encoding="utf-8")
    past = tmp_path / "past.json"
    past.write_text(text + " " * (MAX_TEXT_CHARS - len(text) + 1), encoding="utf-8")
    refused = run_cli("schemas", "create", str(past), code=1)
    assert TOO_LONG in refused.stderr
    created = run_cli("schemas", "create", str(at_bound), "--json")
    assert json.loads(created.stdout)["title"] == "Padded"


def test_a_named_pipe_is_read_as_a_file(tmp_path: Path, run_cli: RunCli) -> None:
    """As ``<(command)`` hands one to the CLI."""
    fifo = tmp_path / "schema.fifo"
    os.mkfifo(fifo)
    document = {"title": "Piped", "type": "object", "allOf": [{"$ref": PROFILE_CLASS}]}
    writer = threading.Thread(target=fifo.write_text, args=(json.dumps(document),))
    writer.start()
    try:
        created = run_cli("schemas", "create", str(fifo), "--json")
    finally:
        writer.join(timeout=10)
    assert json.loads(created.stdout)["title"] == "Piped"
