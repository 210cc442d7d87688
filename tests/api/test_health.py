"""``GET /healthz`` and ``GET /readyz`` on a real server, on SQLite and PostgreSQL: both answer
without headers; ``/readyz`` answers 503, naming the part and the fix, while the database does
not answer or is not at this lakefeed's schema revision (or the Iceberg catalog cannot open),
and 200 again once it is; ``/healthz`` stays 200 all along. Neither shows the database's URL,
host, path or password."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command

from api_support import Server, running_server
from databases import server_url
from faultproxy import wait_until
from lakefeed.catalog import migrate
from lakefeed.catalog.store import connect
from tests_support import free_port


@pytest.fixture
def own_server(tmp_path: Path, server_database: Callable[[], str | None]) -> Iterator[Server]:
    """A server of the test's own: these tests break its database."""
    with running_server(tmp_path / "home", database_url=server_database()) as running:
        yield running


def readyz(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=60)


def failed_check(response: httpx.Response, name: str) -> dict[str, Any]:
    """The check ``name`` of a 503 answer, asserted not ready."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable", body
    check: dict[str, Any] = body["checks"][name]
    assert check["ready"] is False and check["fix"], body
    return check


def test_healthz_answers_without_headers(server: Server) -> None:
    answer = httpx.get(f"{server.url}/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_readyz_answers_ready_without_headers(server: Server) -> None:
    answer = readyz(server)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "ready",
        "checks": {
            "database": {"ready": True, "state": "current"},
            "icebergCatalog": {"ready": True, "state": "ready"},
        },
    }


def test_the_probes_need_no_credentials_in_the_openapi_document(server: Server) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    for path in ("/healthz", "/readyz"):
        assert not paths[path]["get"].get("security"), paths[path]
    assert "503" in paths["/readyz"]["get"]["responses"]


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = connect(url)
    try:
        with engine.begin() as db:
            (command.downgrade if down else command.upgrade)(migrate.alembic_config(db), revision)
    finally:
        engine.dispose()


def _set_revision(url: str, revision: str) -> None:
    engine = connect(url)
    try:
        with engine.begin() as db:
            db.execute(
                sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :r"), {"r": revision}
            )
    finally:
        engine.dispose()


def test_readyz_answers_503_while_the_schema_is_behind(own_server: Server) -> None:
    url = own_server.lf.settings.database_url
    assert readyz(own_server).status_code == 200

    _migrate(url, "0002", down=True)
    check = failed_check(readyz(own_server), "database")
    assert (check["state"], check["code"]) == ("behind", "LF-1960")
    assert "revision 0002" in check["message"] and migrate.HEAD in check["message"]
    assert "lakefeed db upgrade" in check["fix"]

    _migrate(url, migrate.HEAD)  # what the operator runs: lakefeed db upgrade
    assert readyz(own_server).status_code == 200


def test_readyz_answers_503_while_a_newer_lakefeed_owns_the_schema(own_server: Server) -> None:
    """A rolling upgrade: another lakefeed moved the shared database past this server's head;
    this one stops taking traffic instead of writing to a schema it does not know."""
    url = own_server.lf.settings.database_url
    _set_revision(url, "9999")
    try:
        check = failed_check(readyz(own_server), "database")
        assert (check["state"], check["code"]) == ("ahead", "LF-1961")
        assert "9999" in check["message"] and "Upgrade this server" in check["fix"]
    finally:
        _set_revision(url, migrate.HEAD)
    assert readyz(own_server).status_code == 200


@contextmanager
def database_down(server: Server, backend: str) -> Iterator[list[str]]:
    """The server's database refuses connections for the block; yields what must never show
    in an answer (the URL's password, host, port, database, SQLite path)."""
    url = sa.make_url(server.lf.settings.database_url)
    if backend == "sqlite":
        path = Path(str(url.database))
        aside = path.with_name(path.name + ".aside")
        server.lf.db.dispose()  # pooled connections would keep the file open
        path.rename(aside)
        path.mkdir()  # a folder where the file was: SQLite cannot open it
        try:
            yield [str(path.parent)]
        finally:
            path.rmdir()
            aside.rename(path)
        return
    admin = sa.create_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = str(url.database)
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            db.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        yield [str(url.password), name, f"{url.host}:{url.port}", str(url.host)]
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_readyz_answers_503_while_the_database_is_down_and_healthz_200(
    own_server: Server, database_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lakefeed.api")
    assert readyz(own_server).status_code == 200

    with database_down(own_server, database_backend) as hidden:
        answer = readyz(own_server)
        check = failed_check(answer, "database")
        assert (check["state"], check["code"]) == ("unreachable", "LF-1963")
        assert "LAKEFEED_DATABASE_URL" in check["fix"]
        assert not [word for word in hidden if word in answer.text], answer.text
        # The process is alive: an orchestrator must not restart it for the database.
        live = httpx.get(f"{own_server.url}/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})

    # The operator finds the details in the log, the password hidden.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "lakefeed.api")
    assert "Cannot connect to" in logged, logged
    if database_backend == "postgresql":
        assert "lakefeed-pass" not in logged and "***" in logged, logged
    wait_until(lambda: readyz(own_server).status_code == 200, 60, "/readyz to answer 200")


def test_readyz_answers_503_when_the_iceberg_catalog_cannot_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The catalog opens at the first request that needs it: a catalog database that does not
    answer makes the server unready (the control-plane database is fine: it says so)."""
    caplog.set_level(logging.WARNING, logger="lakefeed.api")
    port = free_port()
    url = f"postgresql+psycopg://lakefeed:catalog-secret@127.0.0.1:{port}/catalog"
    monkeypatch.setenv("LAKEFEED_ICEBERG_CATALOG_URL", url)
    # The control-plane database is the test's own (LAKEFEED_DATABASE_URL on PostgreSQL).
    with running_server(tmp_path / "home") as server:
        answer = readyz(server)
    check = failed_check(answer, "icebergCatalog")
    assert (check["state"], check["code"]) == ("unavailable", "LF-1965")
    assert "LAKEFEED_ICEBERG_CATALOG_URL" in check["fix"]
    assert answer.json()["checks"]["database"] == {"ready": True, "state": "current"}
    assert "catalog-secret" not in answer.text and str(port) not in answer.text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "lakefeed.api")
    assert "Iceberg catalog failed" in logged and "catalog-secret" not in logged, logged


def test_readyz_answers_503_in_time_when_the_iceberg_catalog_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog database that accepts the connection and never answers (a server that hangs)
    makes the probe answer 503 when its checks' time is up, not when the driver gives up."""
    import socket

    from lakefeed.api import health

    monkeypatch.setattr(health, "CHECK_SECONDS", 1.0)
    with socket.socket() as silent:  # the handshake completes; nothing is ever said
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://lakefeed:catalog-secret@127.0.0.1:{port}/catalog"
        monkeypatch.setenv("LAKEFEED_ICEBERG_CATALOG_URL", url)
        with running_server(tmp_path / "home") as server:
            answer = readyz(server)  # without a time limit of its own: no answer in 60 s
            check = failed_check(answer, "icebergCatalog")
            assert (check["state"], check["code"]) == ("timeout", "LF-1966")
            assert "catalog-secret" not in answer.text and str(port) not in answer.text
