"""The file ledger and the batches' file plans store a file version in compact columns.

Revision 0001 stored, per file and twice (``file_ledger`` and ``batch_files``), the whole entry
as JSON (its path and name again, the mtime as ISO text) and a 64-digit SHA-256 key, beside a
separate primary-key index: about 1.2 KB per ingested file on SQLite. Now a file version is
``path``, ``size``, ``mtime_us`` (epoch microseconds), ``etag`` and ``version``; the ledger's
key is the first 32 hex digits of the same digest (so the rows already ledgered keep matching
the files they name); errors are SQL NULL when there is none; and on SQLite both tables are
``WITHOUT ROWID`` (the rows live in their primary key's b-tree, not beside it).

The rows are copied in pages of :data:`PAGE` (keyset order), never all at once. This revision is
self-contained: it never imports lakefeed code, which may change after it is released.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PAGE = 2000
DIGITS = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _compact_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_us", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("version", sa.String(length=1024), nullable=True),
    ]


def _compact_ledger(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        *_compact_columns(),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "identity"),
        sqlite_with_rowid=False,
    )


def _compact_plan(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        *_compact_columns(),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("records_in", sa.BigInteger(), nullable=False),
        sa.Column("records_out", sa.BigInteger(), nullable=False),
        sa.Column("records_failed", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "path"),
        sqlite_with_rowid=False,
        postgresql_with={"fillfactor": 50},
    )


def _json_ledger(name: str) -> sa.Table:
    """``file_ledger`` as revision 0001 made it."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "identity"),
    )


def _json_plan(name: str) -> sa.Table:
    """``batch_files`` as revision 0001 made it."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("records_in", sa.BigInteger(), nullable=False),
        sa.Column("records_out", sa.BigInteger(), nullable=False),
        sa.Column("records_failed", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "path"),
    )


# --- one file version, both ways ------------------------------------------------------------


def _mtime_us(text: str | None) -> int | None:
    if not text:
        return None
    mtime = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    mtime = mtime.replace(tzinfo=UTC) if mtime.tzinfo is None else mtime.astimezone(UTC)
    return (mtime - _EPOCH) // _MICROSECOND


def _to_compact(entry: Any) -> dict[str, Any]:
    data = json.loads(entry) if isinstance(entry, str) else dict(entry)
    return {
        "size": int(data.get("size") or 0),
        "mtime_us": _mtime_us(data.get("mtime")),
        "etag": data.get("etag"),
        "version": data.get("version"),
    }


def _to_json(row: Any) -> dict[str, Any]:
    """The 0001 entry JSON (``FileEntry.to_dict``) and identity key of a compact row."""
    micros = row.mtime_us
    mtime = None if micros is None else (_EPOCH + timedelta(microseconds=int(micros))).isoformat()
    path = row.path
    identity = (path, row.etag, row.version, int(row.size), mtime)
    return {
        "entry": {
            "path": path,
            "name": path.rstrip("/").rsplit("/", 1)[-1],
            "size": int(row.size),
            "mtime": mtime,
            "etag": row.etag,
            "version": row.version,
        },
        "identity": hashlib.sha256(json.dumps(identity).encode()).hexdigest(),
    }


# --- copying a table into its new shape -------------------------------------------------------


def _pages(source: sa.Table, keys: tuple[str, str]) -> Iterator[list[Any]]:
    """The rows of ``source`` in pages of :data:`PAGE`, in key order (keyset paging: every
    page is one indexed range, however large the table)."""
    db = op.get_bind()
    first, second = (source.c[k] for k in keys)
    last: tuple[Any, Any] | None = None
    while True:
        query = sa.select(source).order_by(first, second).limit(PAGE)
        if last is not None:
            query = query.where(sa.tuple_(first, second) > sa.tuple_(*last))
        rows = list(db.execute(query))
        if not rows:
            return
        yield rows
        last = (getattr(rows[-1], keys[0]), getattr(rows[-1], keys[1]))


def _replace(
    name: str,
    old: Callable[[str], sa.Table],
    new: Callable[[str], sa.Table],
    keys: tuple[str, str],
    convert: Callable[[Any], dict[str, Any]],
) -> None:
    """Rename table ``name`` aside, create it anew in the ``new`` shape, copy its rows over
    with ``convert``, and drop the old one."""
    db = op.get_bind()
    aside = f"{name}_r0003"
    op.rename_table(name, aside)
    if db.dialect.name == "postgresql":
        # The old primary key's index keeps its name on a rename: free it for the new table.
        pk = sa.inspect(db).get_pk_constraint(aside).get("name")
        if pk:
            op.execute(f'ALTER TABLE "{aside}" RENAME CONSTRAINT "{pk}" TO "{aside}_pkey"')
    target = new(name)
    target.create(db)
    for rows in _pages(old(aside), keys):
        db.execute(target.insert(), [convert(row) for row in rows])
    op.drop_table(aside)


def _ledger_up(row: Any) -> dict[str, Any]:
    return {
        "flow_id": row.flow_id,
        "identity": row.identity[:DIGITS],
        "path": row.path,
        **_to_compact(row.entry),
        "status": row.status,
        "batch_id": row.batch_id,
        "run_id": row.run_id,
        "error": row.error,  # None: SQL NULL (none_as_null)
        "recorded_at": row.recorded_at,
    }


def _plan_up(row: Any) -> dict[str, Any]:
    return {
        "batch_id": row.batch_id,
        "path": row.path,
        **_to_compact(row.entry),
        "status": row.status,
        "records_in": row.records_in,
        "records_out": row.records_out,
        "records_failed": row.records_failed,
        "error": row.error,  # None: SQL NULL (none_as_null)
    }


def _ledger_down(row: Any) -> dict[str, Any]:
    return {
        "flow_id": row.flow_id,
        "path": row.path,
        **_to_json(row),
        "status": row.status,
        "batch_id": row.batch_id,
        "run_id": row.run_id,
        "error": row.error,
        "recorded_at": row.recorded_at,
    }


def _plan_down(row: Any) -> dict[str, Any]:
    return {
        "batch_id": row.batch_id,
        "path": row.path,
        **_to_json(row),
        "status": row.status,
        "records_in": row.records_in,
        "records_out": row.records_out,
        "records_failed": row.records_failed,
        "error": row.error,
    }


def upgrade() -> None:
    _replace("file_ledger", _json_ledger, _compact_ledger, ("flow_id", "identity"), _ledger_up)
    _replace("batch_files", _json_plan, _compact_plan, ("batch_id", "path"), _plan_up)


def downgrade() -> None:
    _replace("file_ledger", _compact_ledger, _json_ledger, ("flow_id", "identity"), _ledger_down)
    _replace("batch_files", _compact_plan, _json_plan, ("batch_id", "path"), _plan_down)
