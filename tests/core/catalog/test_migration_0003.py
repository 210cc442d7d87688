"""Revision 0003 copies the file ledger and the batches' file plans into their compact shape a
page at a time, every row kept, and the ledgered versions still match the files they name;
going back restores the 0001 shape, keys included. (A whole lakefeed 0.1.0 database:
test_migrations_release.py.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from lakefeed.catalog import migrate
from lakefeed.catalog.ledger import entry_from_columns, identity_key
from lakefeed.catalog.migrations.versions import r0003_compact_file_rows as r0003
from lakefeed.catalog.store import connect
from lakefeed.config import Settings

# Their databases start with no table: they test the schema being migrated.
pytestmark = pytest.mark.empty_database

ROWS = 2 * r0003.PAGE + 3  # three pages, the last one short
START = datetime(2026, 12, 5, 10, 31, tzinfo=UTC)


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    found = connect(Settings.load().database_url)
    yield found
    found.dispose()


def migrate_to(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as db:
        (command.downgrade if down else command.upgrade)(migrate.alembic_config(db), revision)


def entry_json(n: int) -> dict[str, Any]:
    """A file version as 0001 stored it (``FileEntry.to_dict``)."""
    path = f"bucket/landing/day={n % 7}/part-{n:05d}.parquet"
    mtime = None if n % 5 == 0 else (START + timedelta(microseconds=n * 1001)).isoformat()
    return {
        "path": path,
        "name": path.rsplit("/", 1)[-1],
        "size": 1000 + n,
        "mtime": mtime,
        "etag": None if n % 3 == 0 else f"{n:032x}",
        "version": "7" if n % 4 == 0 else None,
    }


def key_of(entry: dict[str, Any]) -> str:
    identity = [entry[k] for k in ("path", "etag", "version", "size", "mtime")]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def test_0003_copies_every_row_in_pages_and_goes_back(engine: sa.Engine) -> None:
    migrate_to(engine, "0002")
    entries = [entry_json(n) for n in range(ROWS)]
    failure = {"code": "LF-2415", "message": "not Parquet", "permanent": True}
    old = sa.MetaData()
    old.reflect(engine, only=["file_ledger", "batch_files"])
    ledger, plans = old.tables["file_ledger"], old.tables["batch_files"]
    with engine.begin() as db:
        db.execute(
            ledger.insert(),
            [
                {
                    "flow_id": f"flow-{n % 2}",
                    "identity": key_of(e),
                    "path": e["path"],
                    "entry": e,
                    "status": "failed" if n % 11 == 0 else "committed",
                    "batch_id": f"batch-{n % 2}",
                    "run_id": f"run-{n % 2}",
                    "error": failure if n % 11 == 0 else None,
                    "recorded_at": 1_764_930_660_000 + n,
                }
                for n, e in enumerate(entries)
            ],
        )
        db.execute(
            plans.insert(),
            [
                {
                    "batch_id": f"batch-{n % 2}",
                    "path": e["path"],
                    "identity": key_of(e),
                    "entry": e,
                    "status": "converted",
                    "records_in": n,
                    "records_out": n,
                    "records_failed": 0,
                    "error": None,
                }
                for n, e in enumerate(entries)
            ],
        )
    with engine.connect() as db:
        before = {t: db.execute(sa.select(tbl)).mappings().all() for t, tbl in old.tables.items()}

    migrate_to(engine, "0003")

    with engine.connect() as db:
        ledgered = db.execute(sa.text("SELECT * FROM file_ledger")).mappings().all()
        planned = db.execute(sa.text("SELECT * FROM batch_files")).mappings().all()
    assert len(ledgered) == len(planned) == ROWS
    by_key = {row["identity"]: row for row in ledgered}
    for entry in entries:
        row = by_key[key_of(entry)[:32]]  # the same digest, cut: the next run still skips it
        version = entry_from_columns(row)
        assert identity_key(version) == row["identity"]
        assert version.to_dict() == entry
    assert {row["error"] is None for row in planned} == {True}

    migrate_to(engine, "0002", down=True)

    with engine.connect() as db:
        after = {t: db.execute(sa.select(tbl)).mappings().all() for t, tbl in old.tables.items()}

    def rows(found: dict[str, Any]) -> dict[str, list[str]]:
        return {
            table: sorted(json.dumps(dict(r), sort_keys=True, default=str) for r in table_rows)
            for table, table_rows in found.items()
        }

    assert rows(after) == rows(before)
