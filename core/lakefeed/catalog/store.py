"""Opening the control-plane database."""

from __future__ import annotations

import re
import threading
from typing import Any, TypeAlias

import sqlalchemy as sa

from lakefeed.catalog.creation import create_schema, sqlite_path
from lakefeed.catalog.tables import metadata
from lakefeed.config import make_private_file

#: Pooled SQLite connections kept open. ``lakefeed serve`` runs sync routes on anyio's worker
#: threads (40 by default) plus a few run workers, each holding at most one connection at a
#: time; SQLAlchemy's default (5 kept, 10 overflow, the overflow closed on return) made most
#: requests open a new SQLite connection (and run its PRAGMAs) or wait for one.
SQLITE_POOL_SIZE = 48
SQLITE_MAX_OVERFLOW = 16
#: Seconds a writer waits for the in-process write lock before trying SQLite's own locking
#: anyway (the same as the busy timeout).
SQLITE_TIMEOUT = 30

#: The control-plane database, as the stores take it (callers above the catalog name it so).
Database: TypeAlias = sa.Engine

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_HOLDS_LOCK = "lakefeed_write_lock"
_RELEASE_PENDING = "lakefeed_write_lock_release"


def open_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the schema created; SQLite gets WAL and a busy timeout so a
    CLI and a server can share one file."""
    if url.startswith("sqlite:///"):
        prepare_sqlite_file(url)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_TIMEOUT},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_MAX_OVERFLOW,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        _serialize_writes(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)

    def create() -> None:
        metadata.create_all(engine)
        _create_missing_indexes(engine)

    create_schema(url, create)  # several processes may be starting on an empty home
    return engine


def prepare_sqlite_file(url: str) -> None:
    """Create the file of a ``sqlite:///`` URL empty, mode 0600, in a 0700 folder, before
    SQLite does: SQLite would make it 0644 (less the umask), and it gives the ``-wal`` and
    ``-shm`` files the database's own mode."""
    path = sqlite_path(url)
    if path is not None:
        make_private_file(path)


def _create_missing_indexes(engine: sa.Engine) -> None:
    """``create_all`` skips the indexes of tables that already exist: add the ones a newer
    lakefeed declares to a database an older one created."""
    with engine.begin() as db:
        inspector = sa.inspect(db)
        for table in metadata.sorted_tables:
            if not table.indexes:
                continue
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in present:
                    # IF NOT EXISTS: another process may be adding it at the same moment.
                    db.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _serialize_writes(engine: sa.Engine) -> None:
    """Let one pooled connection at a time write, in this process.

    SQLite has one writer; the others wait in its busy handler, which sleeps 1 ms, then 2, 5,
    ... up to 100 ms between tries, so under concurrent writes (the REST service) the lock is
    often free while every waiter sleeps, and tail latency reaches seconds. Here a writer waits
    on a Python lock instead and wakes as soon as it is released. The lock is taken at a
    connection's first write statement and released when its transaction ends: on the next
    statement after commit or rollback, or when it goes back to the pool (which every
    ``engine.begin()`` block does right after committing). Other processes (CLI, schedulers)
    still meet SQLite's own locking and busy timeout, as before.
    """
    lock = threading.Lock()

    def release(info: dict[Any, Any]) -> None:
        info.pop(_RELEASE_PENDING, None)
        if info.pop(_HOLDS_LOCK, False):
            lock.release()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _acquire(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        info = conn.info
        if info.get(_RELEASE_PENDING):
            release(info)
        if info.get(_HOLDS_LOCK) or not _WRITE.match(statement):
            return
        # After the timeout, go on without it: SQLite still serializes (or times out) the write.
        if lock.acquire(timeout=SQLITE_TIMEOUT):
            info[_HOLDS_LOCK] = True

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _transaction_end(conn):  # type: ignore[no-untyped-def]
        # Fired before the COMMIT itself: releasing here would let the next writer meet
        # SQLite's lock and sleep; release at the next statement or at check-in instead.
        if conn.info.get(_HOLDS_LOCK):
            conn.info[_RELEASE_PENDING] = True

    @sa.event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        release(record.info)
