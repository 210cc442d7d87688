"""A LAKEFEED_DATABASE_URL that is wrong — a refused port, a wrong password, a database that
does not exist, a scheme SQLAlchemy does not know, a port that is not a number — is reported as
``DatabaseUnreachable`` (LF-1963) or ``DatabaseUrlInvalid`` (LF-1964): by the Python API, as one
``Error LF-…`` line by the CLI, and at the start of ``lakefeed scheduler`` and ``lakefeed serve``;
never as ``InternalError`` (LF-1999), and never with the password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from lakefeed import Lakefeed
from lakefeed.errors import DatabaseUnreachable, DatabaseUrlInvalid, LakefeedError
from tests_support import free_port, lakefeed

PASSWORD = "Pw-9f3c2e71-never-shown"


def refused_port() -> str:
    return f"postgresql+psycopg://lakefeed:{PASSWORD}@127.0.0.1:{free_port()}/lakefeed"


def wrong_password() -> str:
    base = sa.make_url(os.environ["LAKEFEED_TEST_POSTGRES_URL"])
    return base.set(password=PASSWORD).render_as_string(hide_password=False)


def unknown_database() -> str:
    base = sa.make_url(os.environ["LAKEFEED_TEST_POSTGRES_URL"])
    url = base.set(database="lakefeed_no_such_database")
    # The server's own password: the test checks it is not shown either.
    return url.render_as_string(hide_password=False)


#: (case, URL maker, expected error, what the message says beside the code)
CASES: list[tuple[str, Callable[[], str], type[LakefeedError], list[str]]] = [
    (
        "refused port",
        refused_port,
        DatabaseUnreachable,
        ["host 127.0.0.1, port", "database lakefeed", "Connection refused"],
    ),
    (
        "wrong password",
        wrong_password,
        DatabaseUnreachable,
        ["host 127.0.0.1", "password authentication failed"],
    ),
    (
        "unknown database",
        unknown_database,
        DatabaseUnreachable,
        ["database lakefeed_no_such_database", "does not exist"],
    ),
    (
        "postgres scheme",
        lambda: f"postgres://lakefeed:{PASSWORD}@127.0.0.1:5432/lakefeed",
        DatabaseUrlInvalid,
        ["no database dialect is called 'postgres'", "postgresql+psycopg://user:password@host"],
    ),
    (
        "port not a number",
        lambda: f"postgresql+psycopg://lakefeed:{PASSWORD}@127.0.0.1:notaport/lakefeed",
        DatabaseUrlInvalid,
        ["'notaport'", "sqlite:////absolute/path"],
    ),
]
NEEDS_SERVER = {"wrong password", "unknown database"}


def cases() -> list[object]:
    return [
        pytest.param(
            *case, id=case[0], marks=[pytest.mark.servers] if case[0] in NEEDS_SERVER else []
        )
        for case in CASES
    ]


def secrets_of(url: str) -> list[str]:
    """The password of ``url``, as written and as the server's (for the unknown database)."""
    found = [PASSWORD]
    try:
        password = sa.make_url(url).password
    except ValueError:
        password = None
    return found + ([str(password)] if password else [])


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("case", "make_url", "error", "says"), cases())
def test_the_python_api_names_the_database_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    make_url: Callable[[], str],
    error: type[LakefeedError],
    says: list[str],
) -> None:
    url = make_url()
    monkeypatch.setenv("LAKEFEED_DATABASE_URL", url)
    for attempt in (
        lambda: Lakefeed().flows.list_flows(),
        lambda: Lakefeed().database_schema(),
        lambda: Lakefeed().upgrade_database(),
    ):
        with pytest.raises(error) as raised:
            attempt()
        shown = str(raised.value)
        assert all(part in shown for part in says), shown
        assert not any(secret in shown for secret in secrets_of(url)), shown
        assert not any(secret in repr(raised.value.to_dict()) for secret in secrets_of(url))


@pytest.mark.parametrize(("case", "make_url", "error", "says"), cases())
def test_the_cli_prints_one_error_line_without_the_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    make_url: Callable[[], str],
    error: type[LakefeedError],
    says: list[str],
) -> None:
    url = make_url()
    monkeypatch.setenv("LAKEFEED_DATABASE_URL", url)
    for command in (["flows", "list"], ["db", "current"], ["db", "upgrade"]):
        out = lakefeed(tmp_path, *command)
        assert out.returncode == 1, (command, out.stdout, out.stderr)
        assert out.stderr.startswith(f"Error {error.code}: "), out.stderr
        assert "Traceback" not in out.stderr and "LF-1999" not in out.stderr
        assert all(part in flat(out.stderr) for part in says), out.stderr
        assert not any(secret in out.stdout + out.stderr for secret in secrets_of(url))

    as_json = lakefeed(tmp_path, "flows", "list", "--json")
    reported = json.loads(as_json.stderr)["error"]
    assert (as_json.returncode, reported["code"], reported["title"]) == (1, error.code, error.title)
    assert not any(secret in as_json.stderr for secret in secrets_of(url))


@pytest.mark.parametrize(
    ("make_url", "error"),
    [
        pytest.param(refused_port, DatabaseUnreachable, id="refused port"),
        pytest.param(CASES[3][1], DatabaseUrlInvalid, id="postgres scheme"),
    ],
)
@pytest.mark.parametrize("start", ["scheduler", "serve"])
def test_scheduler_and_server_refuse_to_start_with_a_clean_error(
    tmp_path: Path, make_url: Callable[[], str], error: type[LakefeedError], start: str
) -> None:
    """Both open the database as they start (the server before it listens), so a wrong URL
    stops them with the error, not every request or tick later with a traceback."""
    url = make_url()
    args = ["scheduler", "--once"] if start == "scheduler" else ["serve", "--port", "0"]
    out = subprocess.run(
        [sys.executable, "-c", "from lakefeed.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LAKEFEED_HOME": str(tmp_path), "LAKEFEED_DATABASE_URL": url},
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith(f"Error {error.code}: "), out.stderr
    assert "Traceback" not in out.stderr and "lakefeed serving" not in out.stderr
    assert PASSWORD not in out.stdout + out.stderr


def test_a_sqlite_path_that_is_a_folder_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEFEED_DATABASE_URL", f"sqlite:///{tmp_path}")
    with pytest.raises(DatabaseUnreachable, match=f"the SQLite database {tmp_path}: "):
        Lakefeed().flows.list_flows()
