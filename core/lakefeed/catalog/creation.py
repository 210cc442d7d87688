"""Creating a database schema when several processes start on an empty home at once.

Creating tables is check-then-create: two processes may both find a table missing, and the
second ``CREATE TABLE`` fails ("table connections already exists"). On SQLite — one machine —
creation runs under an exclusive lock on the database's folder, so processes create the schema
one after the other and the later ones find it made. Where that lock is not available
(PostgreSQL across machines, a platform without ``flock``), a creation that lost the race is
tried again: the tables the winner made are found and skipped. (lakefeed's own schema is
upgraded under this lock too, and on PostgreSQL under an advisory lock as well:
:mod:`lakefeed.catalog.migrate`; pyiceberg creates the Iceberg catalog's tables with
``create_all``.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")
#: Tries of a creation that keeps losing races to other processes (one per table at most).
ATTEMPTS = 10
#: What a database says when another process created the same object first: SQLite and
#: PostgreSQL ("already exists"), PostgreSQL's catalog index on type names ("duplicate key").
_LOST_RACE = ("already exists", "duplicate key")


def create_schema(url: str, create: Callable[[], T]) -> T:
    """Run ``create`` (which creates the tables of the database at ``url`` where missing, and
    may be run again) safely against other processes doing the same."""
    with _sqlite_folder_lock(url):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return create()
            except sa.exc.DBAPIError as exc:
                if attempt == ATTEMPTS or not any(s in str(exc.orig) for s in _LOST_RACE):
                    raise
    raise AssertionError("unreachable")


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL; None for another database or SQLite's
    in-memory one."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def _sqlite_folder_lock(url: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the folder of a ``sqlite:///`` database file (not on the
    file itself: closing any descriptor of it would drop SQLite's own locks in this process)."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: the retries alone
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
