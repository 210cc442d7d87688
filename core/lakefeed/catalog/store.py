"""Opening the control-plane database."""

from __future__ import annotations

import re
import threading
from typing import Any, Literal, TypeAlias

import sqlalchemy as sa

from lakefeed.catalog import migrate
from lakefeed.catalog.creation import create_schema, sqlite_path
from lakefeed.catalog.database_url import create_engine, reach, read_only_sqlite_url
from lakefeed.catalog.migrate import SchemaStatus, SchemaUpgrade
from lakefeed.config import make_private_file
from lakefeed.errors import DatabaseUnreachable, InvalidRequest

#: Pooled SQLite connections kept open. ``lakefeed serve`` runs sync routes on anyio's worker
#: threads (40 by default) plus a few run workers, each holding at most one connection at a
#: time; SQLAlchemy's default (5 kept, 10 overflow, the overflow closed on return) made most
#: requests open a new SQLite connection (and run its PRAGMAs) or wait for one.
SQLITE_POOL_SIZE = 48
SQLITE_MAX_OVERFLOW = 16
#: Seconds a writer waits for the in-process write lock before trying SQLite's own locking
#: anyway (the same as the busy timeout).
SQLITE_TIMEOUT = 30

#: Connections to a database server (PostgreSQL) kept open per process, and opened beyond
#: them at peaks (closed again when given back): ``lakefeed serve`` answers on up to 40 worker
#: threads, each holding one connection at a time. SQLAlchemy's default (5 + 10) made requests
#: queue for a connection under the 50-client load check.
SERVER_POOL_SIZE = 10
SERVER_MAX_OVERFLOW = 30

#: The control-plane database, as the stores take it (callers above the catalog name it so).
Database: TypeAlias = sa.Engine

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_HOLDS_LOCK = "lakefeed_write_lock"
_RELEASE_PENDING = "lakefeed_write_lock_release"


#: What opening a database does with a schema older than this lakefeed's: upgrade it, refuse
#: (:class:`~lakefeed.errors.DatabaseBehind`), or leave it (``lakefeed db`` looks at it first).
SchemaPolicy = Literal["upgrade", "refuse", "as-is"]


def open_engine(url: str, *, schema: SchemaPolicy = "upgrade") -> sa.Engine:
    """An engine for ``url`` with its schema at this lakefeed's revision (``schema``: what to do
    when it is not); SQLite gets WAL and a busy timeout so a CLI and a server can share one
    file. A database at the newest revision costs one query; one at a revision this lakefeed
    does not know is refused (:class:`~lakefeed.errors.DatabaseAhead`) unless ``as-is``. A
    database that cannot be reached is :class:`~lakefeed.errors.DatabaseUnreachable`, a URL
    that cannot be used :class:`~lakefeed.errors.DatabaseUrlInvalid`."""
    engine = connect(url)
    try:
        reach(engine)
        if schema == "as-is" or migrate.at_head(engine):
            return engine
        if schema == "refuse":
            migrate.check(engine)
        else:
            # Several processes may be starting on an empty database at once.
            create_schema(url, lambda: migrate.upgrade(engine))
    except BaseException:
        engine.dispose()
        raise
    return engine


def connect(url: str) -> sa.Engine:
    """An engine for ``url``, its schema untouched (nothing connected yet;
    :class:`~lakefeed.errors.DatabaseUrlInvalid` for a URL that cannot be used)."""
    if url.startswith("sqlite:///"):
        prepare_sqlite_file(url)
        engine = create_engine(
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
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=SERVER_POOL_SIZE,
            max_overflow=SERVER_MAX_OVERFLOW,
        )
        sa.event.listen(engine, "handle_error", _refuse_nul_bytes)
    return engine


def _refuse_nul_bytes(context: sa.engine.ExceptionContext) -> BaseException | None:
    """PostgreSQL stores no NUL byte in text (SQLite does): a value holding one (an id or a
    name in a JSON body, say) is the caller's mistake, not the database's failure."""
    if "cannot contain NUL" in str(context.original_exception):  # psycopg's DataError
        return InvalidRequest(
            "A value contains a NUL byte (\\u0000), which no id, name or text lakefeed stores "
            "may hold.",
            fix="Remove the NUL byte from the request.",
        )
    return None


def schema_status(url: str) -> SchemaStatus:
    """Where the schema of the database at ``url`` stands; nothing changed, and nothing created:
    a SQLite file is opened read-only, and one that does not exist is ``missing``."""
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            return SchemaStatus(None, migrate.HEAD, "missing")
        engine = create_engine(read_only_sqlite_url(path), poolclass=sa.pool.NullPool)
    else:
        engine = connect(url)
    try:
        reach(engine)
        return migrate.status(engine)
    finally:
        engine.dispose()


def upgrade_schema(url: str) -> SchemaUpgrade:
    """Upgrade the database at ``url`` to this lakefeed's revision (see
    :func:`lakefeed.catalog.migrate.upgrade`); safe beside other processes doing the same."""
    engine = connect(url)
    try:
        reach(engine)
        return create_schema(url, lambda: migrate.upgrade(engine))
    finally:
        engine.dispose()


def prepare_sqlite_file(url: str) -> None:
    """Create the file of a ``sqlite:///`` URL empty, mode 0600, in a 0700 folder, before
    SQLite does: SQLite would make it 0644 (less the umask), and it gives the ``-wal`` and
    ``-shm`` files the database's own mode."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        make_private_file(path)
    except OSError as exc:  # a home that is a file, a read-only or pseudo file system, …
        raise DatabaseUnreachable(
            f"Cannot create the SQLite database {str(path)!r}: "
            f"{exc.strerror or type(exc).__name__}.",
            fix="Point --home (LAKEFEED_HOME) at a folder this user can write (it is created "
            "when missing), or LAKEFEED_DATABASE_URL at another database.",
        ) from None


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
