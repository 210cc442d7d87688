"""``RowErrorStore``: the rows a batch rejected, with their reasons, source file, row number and
original values (error diagnostics). A batch keeps at most :data:`MAX_ROW_ERRORS_PER_BATCH`.

The table has no scope columns of its own: rejected rows belong to a batch, and every method
reaches them through a batch of this store's org and sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import ResourceTable, Scope, record_from_row
from lakefeed.errors import ResourceNotFound

t = tables.row_errors

#: Row errors kept per batch; beyond this only counts are kept (the run says so).
MAX_ROW_ERRORS_PER_BATCH = 100_000


@dataclass(frozen=True)
class RowError:
    """A row of ``row_errors``: one rejected row."""

    source_file: str
    row_index: int  # in its source file, from 0
    errors: list[dict[str, Any]]  # [{code, message, field}]
    record: dict[str, Any]  # the original values, JSON-safe

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> RowError:
        return record_from_row(cls, row)

    def to_dict(self) -> dict[str, Any]:
        """The shape diagnostics show (CLI ``--json``, the export API)."""
        return {
            "sourceFile": self.source_file,
            "rowIndex": self.row_index,
            "errors": self.errors,
            "record": self.record,
        }


class RowErrorStore:
    """Rejected rows of the batches of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self.batches = ResourceTable(
            engine, tables.batches, scope, ResourceNotFound, "batch", "lakefeed datasets batches"
        )

    def _of_batch(self, batch_id: str) -> sa.ColumnElement[bool]:
        b = tables.batches
        in_scope = sa.select(b.c.id).where(self.scope.where(b), b.c.id == batch_id)
        return (t.c.batch_id == batch_id) & t.c.batch_id.in_(in_scope)

    def add(self, batch_id: str, start_seq: int, errors: Iterable[RowError]) -> int:
        """Store rejected rows, numbered from ``start_seq``; returns how many were stored."""
        rows = [
            {
                "batch_id": batch_id,
                "seq": start_seq + i,
                "source_file": error.source_file,
                "row_index": error.row_index,
                "errors": error.errors,
                "record": error.record,
            }
            for i, error in enumerate(errors)
        ]
        if rows:
            self.batches.get(batch_id)  # another sandbox's batch takes none
            with self.engine.begin() as db:
                db.execute(t.insert(), rows)
        return len(rows)

    def forget_file(self, batch_id: str, source_file: str) -> None:
        """Forget the rejected rows of one file (it failed as a whole after all)."""
        with self.engine.begin() as db:
            db.execute(t.delete().where(self._of_batch(batch_id), t.c.source_file == source_file))

    def count(self, batch_id: str) -> int:
        """How many rejected rows of the batch are kept (404 for another sandbox's batch)."""
        self.batches.get(batch_id)
        query = sa.select(sa.func.count()).select_from(t).where(self._of_batch(batch_id))
        with self.engine.connect() as db:
            return int(db.scalar(query) or 0)

    def list(
        self, batch_id: str, *, limit: int | None = None, offset: int = 0
    ) -> Iterator[RowError]:
        """The batch's rejected rows, in the order they were found (404, when iterated, for
        another sandbox's batch)."""
        self.batches.get(batch_id)
        query = sa.select(t).where(self._of_batch(batch_id)).order_by(t.c.seq)
        query = query.offset(offset).limit(limit)
        with self.engine.connect() as db:
            for row in db.execute(query).mappings():
                yield RowError.from_row(row)
