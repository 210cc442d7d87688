"""Names of a home's connections, flows and datasets for shell completion: one SELECT over a
database that is only read, never created, migrated or written (the engine's store would do
all three on first use, and pressing TAB must not)."""

from __future__ import annotations

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import Scope

KINDS = {
    "connections": tables.connections,
    "flows": tables.flows,
    "datasets": tables.datasets,
}


def read_names(database_url: str, kind: str) -> list[str]:
    """The names of ``kind`` (``connections``, ``flows`` or ``datasets``) of the default org
    and sandbox, sorted. ``database_url`` should open the database read-only (for SQLite, a
    ``file:…?mode=ro&uri=true`` URL)."""
    table = KINDS[kind]
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.select(table.c.name).where(Scope().where(table)))
            return sorted(str(name) for (name,) in rows)
    finally:
        engine.dispose()
