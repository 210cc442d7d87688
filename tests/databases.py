"""The control-plane databases the database-dependent tests run on: SQLite (the embedded
default, a file in the test's home) and PostgreSQL (a fresh database per test on the server
``tests/servers/start.sh`` runs, ``LAKEFEED_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql")

#: Test folders (relative to tests/) and modules whose tests run once per backend: the stores,
#: the scheduler and the REST API.
DATABASE_TESTS = (
    "api/",
    "compat/",
    "core/catalog/",
    "core/scheduling/",
    "core/test_connections_store.py",
    "core/test_flow_resources.py",
    "core/test_concurrent_first_use.py",
    "core/test_run_liveness.py",
    "core/test_labels.py",
    "core/flows/test_commit_outcome.py",
)


def server_url() -> str:
    url = os.environ.get("LAKEFEED_TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError(
            "LAKEFEED_TEST_POSTGRES_URL is not set: start the test servers "
            "(bash tests/servers/start.sh) and source their env file, or run make test."
        )
    return url


def _create_sql(name: str) -> str:
    # A production cluster sorts text by a language's rules (en_US.UTF-8 and the like), not
    # byte by byte as SQLite does: test on such a collation.
    return (
        f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
        "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    )


class _Databases:
    """Empty databases made ahead of need, and used ones dropped, on threads of their own: a
    CREATE DATABASE takes ~0.2 s of the server's time on a busy machine, which the tests
    would otherwise wait for once per test."""

    AHEAD = 3

    def __init__(self) -> None:
        self.base = sa.make_url(server_url())
        self.admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT", pool_size=2)
        self.ready: queue.Queue[str] = queue.Queue(maxsize=self.AHEAD)
        self.used: queue.Queue[str] = queue.Queue()
        self.failure: Exception | None = None
        self.template = self._migrated_template()
        for work in (self._make, self._drop):
            threading.Thread(target=work, daemon=True).start()
        atexit.register(self.close)

    def _migrated_template(self) -> str:
        """A database at this lakefeed's schema revision, with the Iceberg SQL catalog's
        tables: the tests' databases are copies of it, as a deployment's database is migrated
        once, not at every start (the migration tests take empty ones)."""
        from pyiceberg.catalog.sql import SqlCatalog

        from lakefeed.catalog.store import open_engine

        name = self.empty()
        url = self.url(name)
        open_engine(url).dispose()
        catalog = SqlCatalog("template", uri=url, warehouse="file:///nonexistent")
        catalog.engine.dispose()
        return name

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def empty(self) -> str:
        """A new database with no table."""
        name = f"lf_test_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as db:
            db.execute(sa.text(_create_sql(name)))
        return name

    def _make(self) -> None:
        try:
            while True:
                name = f"lf_test_{uuid.uuid4().hex[:16]}"
                with self.admin.connect() as db:
                    db.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
                self.ready.put(name)
        except Exception as exc:  # the server went away: every later take() says so
            self.failure = exc

    def _drop(self) -> None:
        while True:
            name = self.used.get()
            try:
                self._drop_one(name)
            finally:
                self.used.task_done()

    def _drop_one(self, name: str) -> None:
        """Drop ``name``; a few tries, since FORCE may not end a backend of another role
        (autovacuum working on it) at once. A database left behind costs only disk: start.sh
        begins every cluster empty."""
        for attempt in range(5):
            try:
                with self.admin.connect() as db:
                    db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except sa.exc.DBAPIError:
                time.sleep(0.2 * (attempt + 1))

    def take(self) -> str:
        deadline = time.monotonic() + 120
        while self.failure is None and time.monotonic() < deadline:
            try:
                return self.ready.get(timeout=0.5)
            except queue.Empty:
                continue
        raise RuntimeError(f"no PostgreSQL test database could be made: {self.failure!r}")

    def give_back(self, name: str) -> None:
        self.used.put(name)

    def close(self) -> None:
        """Drop the spare databases and the template, and wait for the drops (at exit)."""
        while True:
            try:
                self.used.put(self.ready.get_nowait())
            except queue.Empty:
                break
        self.used.put(self.template)
        deadline = time.monotonic() + 60  # never hold the interpreter's exit for long
        while self.used.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)


_databases: _Databases | None = None
_databases_lock = threading.Lock()


@contextmanager
def fresh_postgres_database(*, empty: bool = False) -> Iterator[str]:
    """A new PostgreSQL database of the caller's own for as long as the block runs, dropped
    after (with any connection still open to it): at this lakefeed's schema revision, or with
    no table at all when ``empty`` (what the migration tests start from)."""
    global _databases
    with _databases_lock:
        if _databases is None:
            _databases = _Databases()
    databases = _databases
    name = databases.empty() if empty else databases.take()
    try:
        yield databases.url(name)
    finally:
        databases.give_back(name)
