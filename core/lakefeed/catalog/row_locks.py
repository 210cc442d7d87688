"""Taking a row for one transaction, without waiting for others that are taking it too.

Schedulers and recovering processes compete for the same rows (a window whose lease expired, a
run waiting for its start time, a run whose process is gone). Each change is already a
conditional update that one process wins. On PostgreSQL the loser of such an update would
first wait for the winner's transaction to end; selecting the row ``FOR UPDATE SKIP LOCKED``
first lets it skip the row at once and go on with the next. SQLite has no row locks (one writer
at a time): SQLAlchemy leaves the clause out there, and the conditional update alone decides.
"""

from __future__ import annotations

import sqlalchemy as sa


def take_row(db: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> bool:
    """Lock the row of ``table`` matching ``where`` until the transaction of ``db`` ends;
    False when no row matches or another transaction holds it."""
    key = list(table.primary_key.columns)
    query = sa.select(*key).where(*where).with_for_update(skip_locked=True)
    return db.execute(query).first() is not None
