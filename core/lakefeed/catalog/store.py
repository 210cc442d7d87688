"""Opening the control-plane database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lakefeed.catalog.tables import metadata


def open_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the schema created; SQLite gets WAL and a busy timeout so a
    CLI and a server can share one file."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
