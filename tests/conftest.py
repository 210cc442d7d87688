"""Shared fixtures: an isolated LAKEFEED_HOME per test; the database-dependent tests run once on
SQLite and once on PostgreSQL (tests/databases.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from databases import BACKENDS, DATABASE_TESTS, fresh_postgres_database
from lakefeed.config import ENVIRONMENT
from lakefeed.plugins import reset_plugins

TESTS = Path(__file__).parent


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test of the database-dependent folders once per backend."""
    relative = metafunc.definition.path.relative_to(TESTS).as_posix()
    if not relative.startswith(DATABASE_TESTS):
        return
    if "database_backend" not in metafunc.fixturenames:
        metafunc.fixturenames.append("database_backend")
    # The PostgreSQL run needs the test servers: `make test-unit` (-m "not servers") skips it.
    backends = [
        pytest.param(backend, marks=pytest.mark.servers) if backend == "postgresql" else backend
        for backend in BACKENDS
    ]
    metafunc.parametrize("database_backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def database_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the backend this test runs on (SQLite outside the
    database-dependent folders)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="module")
def server_database(database_backend: str) -> Iterator[Callable[[], str | None]]:
    """For module-scoped servers: each call gives a PostgreSQL database of its own on the
    PostgreSQL run (dropped at the end of the module), None on SQLite (the server's home
    holds its database). Depending on the backend, such a server is made again for each run."""
    with ExitStack() as stack:

        def new_database() -> str | None:
            if database_backend != "postgresql":
                return None
            return stack.enter_context(fresh_postgres_database())

        yield new_database


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Path]:
    """No test ever touches ~/.lakefeed. On the PostgreSQL run, LAKEFEED_DATABASE_URL names a
    fresh database of the test's own."""
    home = tmp_path_factory.mktemp("lakefeed-home")
    for var in ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAKEFEED_HOME", str(home))
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("database_backend") == "postgresql":
        empty = request.node.get_closest_marker("empty_database") is not None
        with fresh_postgres_database(empty=empty) as url:
            monkeypatch.setenv("LAKEFEED_DATABASE_URL", url)
            yield home
    else:
        yield home
    reset_plugins()
