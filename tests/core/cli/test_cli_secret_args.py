"""Secrets on the ``connections`` command line: one reader for ``NAME=@FILE``, ``--params-file``
and ``--secret-file``; a bare ``@`` refused; a plain secret on ``create`` warned about; no hidden
prompt when standard input is not a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.errors import ConnectionNotFound

RunCli = Callable[..., Result]

SECRET = "plain-secret-5c9e1a7f33"
#: Bytes that are not UTF-8 (as /bin/true is): reading them used to end in a traceback.
NOT_TEXT = b"\x7fELF\x02\x01\x01\x00\xff\xfe\xfa" + SECRET.encode()


@pytest.fixture
def s3(lf: Lakefeed) -> str:
    return lf.create_connection(
        "s3c", "amazon-s3", None, {"s3AccessKey": "AKIAEXAMPLE", "s3SecretKey": "old-secret-00"}
    ).id


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "binary.bin"
    path.write_bytes(NOT_TEXT)
    return path


def _error(result: Result) -> dict:
    assert result.stdout == ""
    return json.loads(result.stderr)["error"]


def test_undecodable_files_are_errors_naming_the_file(
    s3: str, binary: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    create = ["connections", "create", "new", "--spec", "amazon-s3", "-p", "s3AccessKey=A"]
    for args in (
        ["connections", "update", "s3c", "-p", f"s3SecretKey=@{binary}", "--json"],
        [*create, "-p", f"s3SecretKey=@{binary}", "--json"],
        [*create, "--params-file", str(binary), "--json"],
        ["connections", "update", "s3c", "--secret", "s3SecretKey", "--secret-file", str(binary),
         "--json"],
    ):  # fmt: skip
        error = _error(run_cli(*args, code=1))
        assert error["code"] == "LF-1001" and str(binary) in error["message"]
        assert "not UTF-8 text" in error["message"] and SECRET not in json.dumps(error)
    missing = run_cli(*create, "-p", "s3SecretKey=@/no/such/file", code=1)
    assert "'/no/such/file'" in missing.stderr and "No such file" in missing.stderr
    with pytest.raises(ConnectionNotFound):
        lf.connection("new")


def test_bare_at_is_refused(s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    refused = run_cli(
        "connections", "create", "new", "--spec", "amazon-s3",
        "-p", "s3AccessKey=A", "-p", "s3SecretKey=@", code=1,
    )  # fmt: skip
    assert "s3SecretKey=@ names no file" in refused.stderr and "@FILE" in refused.stderr
    with pytest.raises(ConnectionNotFound):
        lf.connection("new")
    run_cli("connections", "update", "s3c", "-p", "s3SecretKey=@", code=1)
    assert lf.connection("s3c").auth.secrets()["s3SecretKey"] == "old-secret-00"


def test_at_dash_reads_standard_input(s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    run_cli("connections", "update", "s3c", "-p", "s3SecretKey=@-", input=f"{SECRET}\n")
    assert lf.connection("s3c").auth.secrets()["s3SecretKey"] == SECRET


def test_plain_secret_on_create_is_stored_with_a_warning(lf: Lakefeed, run_cli: RunCli) -> None:
    created = run_cli(
        "connections", "create", "s3p", "--spec", "amazon-s3",
        "-p", "s3AccessKey=AKIAEXAMPLE", "-p", f"s3SecretKey={SECRET}", "--json",
    )  # fmt: skip
    assert json.loads(created.stdout)["id"]  # still accepted: existing scripts keep working
    assert lf.connection("s3p").auth.secrets()["s3SecretKey"] == SECRET
    warning = created.stderr
    assert "Warning: --param s3SecretKey is a secret" in warning
    assert "s3SecretKey=@FILE" in warning and "--params-file" in warning and "prompted" in warning
    assert SECRET not in warning
    quiet = run_cli(
        "connections", "create", "s3q", "--spec", "amazon-s3",
        "-p", "s3AccessKey=AKIAEXAMPLE", "-p", "s3SecretKey=@-", input=SECRET,
    )  # fmt: skip
    assert "Warning" not in quiet.stderr  # @FILE (here standard input) is the safe form


def test_no_hidden_prompt_without_a_terminal(s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    """CliRunner's standard input is not a terminal, as a pipe or cron's is not: refused with
    the way that works, rather than click reading the pipe ("may be echoed") or "Aborted!"."""
    for answers in ("", f"{SECRET}\n{SECRET}\n"):
        refused = run_cli(
            "connections", "update", "s3c", "--secret", "s3SecretKey", input=answers, code=1
        )
        assert "not a terminal" in refused.stderr and "--secret-file -" in refused.stderr
        assert "echoed" not in refused.stderr and "Aborted" not in refused.stderr
    assert lf.connection("s3c").auth.secrets()["s3SecretKey"] == "old-secret-00"
    as_json = _error(
        run_cli("connections", "update", "s3c", "--secret", "s3SecretKey", "--json", code=1)
    )
    assert as_json["code"] == "LF-1001" and "--secret-file -" in as_json["fix"]
