"""``BatchStore``: batches — what one run writes to a dataset, as the Catalog shows it — and each
batch's file plan (:class:`BatchFile`): the files it set out to ingest and what became of each.

The plan is stored with the batch, before any data file is written: recovery reads it back to
roll an interrupted run forward or back (:mod:`lakefeed.flows.recovery`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.ledger import entry_columns, entry_from_columns, identity_key
from lakefeed.catalog.records import ResourceTable, Scope, now_ms, record_from_row
from lakefeed.errors import ResourceNotFound
from lakefeed.storage.entries import FileEntry

t = tables.batches
T = TypeVar("T")
files_table = tables.batch_files

#: ``orderBy`` names of batch listings and their columns.
BATCH_ORDER = {
    "created": "created_at",
    "updated": "updated_at",
    "started": "started_at",
    "completed": "completed_at",
    "status": "status",
    "id": "id",
}


@dataclass(frozen=True)
class Batch:
    """A row of ``batches``."""

    id: str
    ims_org_id: str
    sandbox_name: str
    dataset_id: str
    run_id: str
    flow_id: str
    status: str  # loading | success | failed | aborted
    snapshot_id: int | None  # the Iceberg snapshot that committed it
    data_prefix: str  # where its data files go
    metrics: dict[str, Any]
    errors: list[dict[str, Any]]
    tags: dict[str, Any]
    started_at: int | None
    completed_at: int | None
    etag: str
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Batch:
        return record_from_row(cls, row)

    def to_dict(self) -> dict[str, Any]:
        """The Catalog batch object (the REST layer keys it by id)."""
        return {
            "id": self.id,
            "status": self.status,
            "tags": self.tags,
            "relatedObjects": [{"type": "dataSet", "id": self.dataset_id}],
            "externalId": self.run_id,
            "inputFormat": {"format": "parquet"},
            "imsOrg": self.ims_org_id,
            "sandboxName": self.sandbox_name,
            "started": self.started_at,
            "completed": self.completed_at,
            "created": self.created_at,
            "updated": self.updated_at,
            "version": self.etag,
            "metrics": self.metrics,
            "errors": self.errors,
            "snapshotId": self.snapshot_id,
            "flowId": self.flow_id,
        }


@dataclass(frozen=True)
class BatchFile:
    """A row of ``batch_files``: one file of a batch's plan."""

    batch_id: str
    path: str
    entry: FileEntry
    status: str  # planned | converted | failed
    records_in: int
    records_out: int
    records_failed: int
    error: dict[str, Any] | None

    @property
    def identity(self) -> str:
        """:func:`~lakefeed.catalog.ledger.identity_key` of the file version."""
        return identity_key(self.entry)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> BatchFile:
        return cls(
            batch_id=row["batch_id"],
            path=row["path"],
            entry=entry_from_columns(row),
            status=row["status"],
            records_in=row["records_in"],
            records_out=row["records_out"],
            records_failed=row["records_failed"],
            error=row["error"],
        )


# ``list`` is a method of the store: its return types are spelled out here.
Batches = list[Batch]
#: A filter on one field: its values, and whether a match is any of them (False) or none.
ValueFilter = tuple[Collection[T], bool]
BatchFiles = list[BatchFile]


class BatchStore:
    """Batches and their file plans, of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self.rows = ResourceTable(
            engine, t, scope, ResourceNotFound, "batch", "lakefeed datasets batches"
        )

    def create(
        self,
        *,
        dataset_id: str,
        run_id: str,
        flow_id: str,
        data_prefix: str,
        tags: Mapping[str, Any],
        entries: Sequence[FileEntry],
        batch_id: str | None = None,
    ) -> Batch:
        """A batch in state ``loading`` with the files it plans to ingest, in one transaction:
        recovery relies on the plan being stored before any data file is written."""
        row = self.scope.new_row(
            id=batch_id or str(uuid.uuid4()),
            dataset_id=dataset_id,
            run_id=run_id,
            flow_id=flow_id,
            status="loading",
            snapshot_id=None,
            data_prefix=data_prefix,
            metrics={},
            errors=[],
            tags=dict(tags),
            started_at=now_ms(),
            completed_at=None,
        )
        with self.engine.begin() as db:
            db.execute(t.insert().values(**row))
            if entries:
                db.execute(
                    files_table.insert(),
                    [
                        {
                            "batch_id": row["id"],
                            **entry_columns(e),
                            "status": "planned",
                            "records_in": 0,
                            "records_out": 0,
                            "records_failed": 0,
                            "error": None,
                        }
                        for e in entries
                    ],
                )
        return Batch.from_row(row)

    # -- reading -------------------------------------------------------------------------------

    def get(self, batch_id: str) -> Batch:
        """The batch, or :class:`ResourceNotFound` (also for another sandbox's batch)."""
        return Batch.from_row(self.rows.get(batch_id))

    def list(self, dataset_id: str | None = None) -> Batches:
        """The batches (of ``dataset_id``), oldest first."""
        where = [] if dataset_id is None else [t.c.dataset_id == dataset_id]
        return [Batch.from_row(r) for r in self.rows.select(*where)]

    def of_run(self, run_id: str) -> Batches:
        return [Batch.from_row(r) for r in self.rows.select(t.c.run_id == run_id)]

    def search(
        self,
        *,
        dataset_id: str | None = None,
        status: str | None = None,
        statuses: ValueFilter[str] | None = None,
        times: Mapping[str, ValueFilter[float]] | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        order_by: str = "created",
        descending: bool = False,
        order: Sequence[tuple[str, bool]] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Batches:
        """Batches matching every filter given (times in epoch ms, bounds exclusive): a
        ``status``, or ``statuses`` (``(values, negate)``: any of them, or none); by
        ``times`` name (``created``, ``updated``, ``started``, ``completed``) ``(values,
        negate)``: one of them (a batch without that time matches only a negated filter).
        Ordered by ``order_by`` (``created``, ``updated``, ``started``, ``completed``,
        ``status`` or ``id``), or by each ``(name, descending)`` of ``order`` in turn; absent
        values last, ties by id in the first field's direction."""
        query = sa.select(t).where(self.scope.where(t))
        if dataset_id is not None:
            query = query.where(t.c.dataset_id == dataset_id)
        if status is not None:
            query = query.where(t.c.status == status)
        if statuses is not None:
            values, negate = statuses
            query = query.where(t.c.status.not_in(values) if negate else t.c.status.in_(values))
        for name, (numbers, negate) in (times or {}).items():
            column = t.c[BATCH_ORDER[name]]
            matches = column.is_not(None) & column.in_(list(numbers))
            query = query.where(sa.not_(matches) if negate else matches)
        if created_after is not None:
            query = query.where(t.c.created_at > created_after)
        if created_before is not None:
            query = query.where(t.c.created_at < created_before)
        fields = list(order or [(order_by, descending)])
        columns = [*fields, ("id", fields[0][1])]
        query = query.order_by(
            *(
                (t.c[BATCH_ORDER[f]].desc() if d else t.c[BATCH_ORDER[f]].asc()).nulls_last()
                for f, d in columns
            )
        )
        query = query.offset(offset).limit(limit)
        with self.engine.connect() as db:
            return [Batch.from_row(r) for r in db.execute(query).mappings()]

    def dataset_fields(self, dataset_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """By dataset id (of ``dataset_ids``, or every dataset), the Catalog ``dataSet`` fields
        that follow from its batches: ``lastBatchId``, ``lastBatchStatus``,
        ``lastSuccessfulBatch``, ``lastFailedBatch``."""
        query = sa.select(t.c.dataset_id, t.c.id, t.c.status).where(self.scope.where(t))
        if dataset_ids is not None:
            query = query.where(t.c.dataset_id.in_(list(dataset_ids)))
        fields: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as db:
            for row in db.execute(query.order_by(t.c.created_at, t.c.id)):
                found = fields.setdefault(row.dataset_id, {})
                found.update(lastBatchId=row.id, lastBatchStatus=row.status)
                if row.status == "success":
                    found["lastSuccessfulBatch"] = row.id
                elif row.status == "failed":
                    found["lastFailedBatch"] = row.id
        return fields

    def last_batches(self, dataset_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """By dataset id (of ``dataset_ids``, or every dataset with batches), the Catalog
        ``lastBatches`` fields: ``lastBatchId``, ``lastBatchStatus``,
        ``lastSuccessfulBatchId``, ``lastFailedBatchId``, ``created`` (its first batch's) and
        ``updated`` (the latest change of any of its batches)."""
        columns = (t.c.dataset_id, t.c.id, t.c.status, t.c.created_at, t.c.updated_at)
        query = sa.select(*columns).where(self.scope.where(t))
        if dataset_ids is not None:
            query = query.where(t.c.dataset_id.in_(list(dataset_ids)))
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as db:
            for row in db.execute(query.order_by(t.c.created_at, t.c.id)):
                last = found.setdefault(row.dataset_id, {"created": row.created_at, "updated": 0})
                last.update(lastBatchId=row.id, lastBatchStatus=row.status)
                last["updated"] = max(last["updated"], row.updated_at)
                if row.status == "success":
                    last["lastSuccessfulBatchId"] = row.id
                elif row.status == "failed":
                    last["lastFailedBatchId"] = row.id
        return found

    # -- the file plan -------------------------------------------------------------------------

    def _files_of(self, batch_id: str) -> sa.ColumnElement[bool]:
        """Plan rows of ``batch_id``, and only when that batch is of this org and sandbox."""
        in_scope = sa.select(t.c.id).where(self.scope.where(t), t.c.id == batch_id)
        return (files_table.c.batch_id == batch_id) & files_table.c.batch_id.in_(in_scope)

    def files(self, batch_id: str) -> BatchFiles:
        """The batch's file plan, by path (empty for another sandbox's batch)."""
        query = sa.select(files_table).where(self._files_of(batch_id))
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(files_table.c.path)).mappings()
            return [BatchFile.from_row(r) for r in rows]

    def record_file(
        self,
        batch_id: str,
        path: str,
        *,
        status: str,
        records_in: int | None = None,
        records_out: int | None = None,
        records_failed: int | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        """What became of one planned file (``converted`` or ``failed``); counts and error
        left out stay as they are."""
        given = {
            "records_in": records_in,
            "records_out": records_out,
            "records_failed": records_failed,
            "error": None if error is None else dict(error),
        }
        values = {"status": status, **{k: v for k, v in given.items() if v is not None}}
        where = self._files_of(batch_id) & (files_table.c.path == path)
        with self.engine.begin() as db:
            db.execute(files_table.update().where(where).values(**values))

    def record_converted(self, batch_id: str, files: Sequence[tuple[str, int, int, int]]) -> None:
        """:meth:`record_file` ``converted`` for many files in one statement: each a tuple of
        path, records in, out and failed (a run records its converted files in bulk; one
        transaction per file was a sixth of ingesting small files)."""
        if not files:
            return
        in_scope = sa.select(t.c.id).where(self.scope.where(t), t.c.id == batch_id)
        statement = (
            files_table.update()
            .where(
                files_table.c.batch_id == batch_id,
                files_table.c.batch_id.in_(in_scope),
                files_table.c.path == sa.bindparam("file_path"),
            )
            .values(
                status="converted",
                records_in=sa.bindparam("file_in"),
                records_out=sa.bindparam("file_out"),
                records_failed=sa.bindparam("file_failed"),
            )
        )
        rows = [
            {"file_path": p, "file_in": i, "file_out": o, "file_failed": f} for p, i, o, f in files
        ]
        with self.engine.begin() as db:
            db.execute(statement, rows)
