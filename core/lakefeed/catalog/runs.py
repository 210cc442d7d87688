"""Runs, batches, the file ledger and row errors: the records of what ingestion did.

The ledger is what makes ingestion exactly-once: a flow never plans a file version whose
identity (path, etag/version, size, mtime) it has already committed or failed for good.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.owners import this_process
from lakefeed.catalog.records import ResourceTable, Scope, audit_fields, new_etag, now_ms
from lakefeed.errors import ResourceNotFound
from lakefeed.flows.metrics import unstarted_metrics
from lakefeed.storage.entries import FileEntry, to_utc

#: Row errors kept per batch; beyond this only counts are kept (the run says so).
MAX_ROW_ERRORS_PER_BATCH = 100_000


#: ``orderBy`` names of batch listings and their columns.
BATCH_ORDER = {
    "created": "created_at",
    "updated": "updated_at",
    "started": "started_at",
    "completed": "completed_at",
    "status": "status",
    "id": "id",
}


def identity_key(entry: FileEntry) -> str:
    """A fixed-length key for a file version (path + etag/version + size + mtime)."""
    return hashlib.sha256(json.dumps(entry.identity).encode()).hexdigest()


def entry_to_json(entry: FileEntry) -> dict[str, Any]:
    return entry.to_dict()


def entry_from_json(data: Mapping[str, Any]) -> FileEntry:
    return FileEntry(
        path=data["path"],
        size=int(data["size"]),
        mtime=to_utc(data.get("mtime")),
        etag=data.get("etag"),
        version=data.get("version"),
    )


#: A flow's latest completed run (built once: GET /flows/{id} runs it on every call).
_LAST_COMPLETED_RUN = (
    sa.select(tables.runs)
    .where(
        (tables.runs.c.ims_org_id == sa.bindparam("ims_org_id"))
        & (tables.runs.c.sandbox_name == sa.bindparam("sandbox_name"))
        & (tables.runs.c.flow_id == sa.bindparam("flow_id"))
        & (tables.runs.c.state == "completed")
    )
    .order_by(tables.runs.c.created_at.desc(), tables.runs.c.id.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Run:
    row: Mapping[str, Any]

    id = property(lambda self: self.row["id"])
    flow_id = property(lambda self: self.row["flow_id"])
    state = property(lambda self: self.row["state"])
    status = property(lambda self: self.row["status"])
    metrics = property(lambda self: self.row["metrics"])

    @property
    def batch_id(self) -> str | None:
        for activity in self.row["activities"]:
            for target in activity.get("targetInfo", []):
                ids = target.get("reference", {}).get("ids") or []
                if ids:
                    return str(ids[0])
        return None

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service ``FlowRunItemDTO``."""
        return {
            **audit_fields(self.row),
            "flowId": self.row["flow_id"],
            "state": self.row["state"],
            "providerRefId": f"M-{self.row['flow_id']}-incremental-0:{self.row['id']}",
            "params": self.row["params"],
            "metrics": self.row["metrics"],
            "activities": self.row["activities"],
        }


@dataclass(frozen=True)
class Batch:
    row: Mapping[str, Any]

    id = property(lambda self: self.row["id"])
    status = property(lambda self: self.row["status"])
    dataset_id = property(lambda self: self.row["dataset_id"])
    run_id = property(lambda self: self.row["run_id"])
    snapshot_id = property(lambda self: self.row["snapshot_id"])
    metrics = property(lambda self: self.row["metrics"])
    errors = property(lambda self: self.row["errors"])
    tags = property(lambda self: self.row["tags"])

    def to_dict(self) -> dict[str, Any]:
        """The Catalog batch object (the REST layer keys it by id)."""
        return {
            "id": self.row["id"],
            "status": self.row["status"],
            "tags": self.row["tags"],
            "relatedObjects": [{"type": "dataSet", "id": self.row["dataset_id"]}],
            "externalId": self.row["run_id"],
            "inputFormat": {"format": "parquet"},
            "imsOrg": self.row["ims_org_id"],
            "sandboxName": self.row["sandbox_name"],
            "started": self.row["started_at"],
            "completed": self.row["completed_at"],
            "created": self.row["created_at"],
            "updated": self.row["updated_at"],
            "version": self.row["etag"],
            "metrics": self.row["metrics"],
            "errors": self.row["errors"],
            "snapshotId": self.row["snapshot_id"],
            "flowId": self.row["flow_id"],
        }


class RunRecords:
    """Runs, batches, batch files, ledger and row errors of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self.runs = ResourceTable(
            engine, tables.runs, scope, ResourceNotFound, "run", "lakefeed runs list"
        )
        self.batches = ResourceTable(
            engine, tables.batches, scope, ResourceNotFound, "batch", "lakefeed datasets batches"
        )

    # -- runs ----------------------------------------------------------------------------------

    def start_run(self, flow_id: str, params: Mapping[str, Any], metrics: Mapping[str, Any]) -> Run:
        """Insert a run in state ``inProgress``, owned by this process."""
        return self._insert_run(flow_id, "inProgress", params, metrics, this_process(), now_ms())

    def schedule_run(self, flow_id: str, params: Mapping[str, Any]) -> Run:
        """Insert a run in state ``scheduled``: an on-demand run whose ``params.startTime`` is
        still ahead; a scheduler starts it then (:meth:`adopt_scheduled`)."""
        return self._insert_run(flow_id, "scheduled", params, unstarted_metrics("scheduled"), "", 0)

    def _insert_run(
        self,
        flow_id: str,
        state: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        owner: str,
        heartbeat_at: int,
    ) -> Run:
        row = self.scope.new_row(
            id=str(uuid.uuid4()),
            flow_id=flow_id,
            state=state,
            status=state,
            params=dict(params),
            metrics=dict(metrics),
            activities=[],
            owner=owner,
            heartbeat_at=heartbeat_at,
        )
        self.runs.insert(row)
        return Run(row)

    def adopt_scheduled(self, run_id: str, metrics: Mapping[str, Any]) -> Run | None:
        """Move a ``scheduled`` run to ``inProgress``, owned by this process; None when
        another process was quicker (or it is no longer scheduled)."""
        moved = self._leave_scheduled(
            run_id,
            state="inProgress",
            status="inProgress",
            metrics=dict(metrics),
            owner=this_process(),
            heartbeat_at=now_ms(),
        )
        return self.run(run_id) if moved else None

    def fail_scheduled(self, run_id: str, code: str, message: str) -> bool:
        """Close a ``scheduled`` run unrun (its flow is gone, disabled or changed); False when
        it is no longer scheduled."""
        metrics = unstarted_metrics("failed", [{"code": code, "message": message}])
        return self._leave_scheduled(run_id, state="completed", status="failed", metrics=metrics)

    def _leave_scheduled(self, run_id: str, **values: Any) -> bool:
        """Update a run only while it is ``scheduled``: one process wins."""
        t = tables.runs
        update = (
            t.update()
            .where(self.scope.where(t), t.c.id == run_id, t.c.state == "scheduled")
            .values(updated_at=now_ms(), etag=new_etag(), **values)
        )
        with self.engine.begin() as db:
            return bool(db.execute(update).rowcount == 1)

    def active_runs(self, flow_id: str) -> list[Run]:
        t = tables.runs
        return [Run(r) for r in self.runs.select(t.c.flow_id == flow_id, t.c.state == "inProgress")]

    def run(self, run_id: str) -> Run:
        return Run(self.runs.get(run_id))

    def list_runs(self, flow_id: str | None = None) -> list[Run]:
        where = [] if flow_id is None else [tables.runs.c.flow_id == flow_id]
        return [Run(r) for r in self.runs.select(*where)]

    def last_completed_runs(self, flow_ids: Sequence[str] | None = None) -> dict[str, Run]:
        """By flow id, the flow's latest completed run (by creation time, then id, as
        :meth:`list_runs` orders them), for ``flow_ids`` or every flow. One query that reads
        only those runs, not every run of the sandbox."""
        if flow_ids is not None and len(set(flow_ids)) <= 1:
            if not flow_ids:
                return {}
            params = {
                "ims_org_id": self.scope.ims_org_id,
                "sandbox_name": self.scope.sandbox_name,
                "flow_id": flow_ids[0],
            }
            with self.engine.connect() as db:
                row = db.execute(_LAST_COMPLETED_RUN, params).first()
            return {} if row is None else {row.flow_id: Run(dict(row._mapping))}
        t = tables.runs
        where = [self.scope.where(t), t.c.state == "completed"]
        if flow_ids is not None:
            where.append(t.c.flow_id.in_(sorted(set(flow_ids))))
        rank = (
            sa.func.row_number()
            .over(partition_by=t.c.flow_id, order_by=(t.c.created_at.desc(), t.c.id.desc()))
            .label("rank")
        )
        ranked = sa.select(t, rank).where(*where).subquery()
        query = sa.select(*(ranked.c[c.name] for c in t.columns)).where(ranked.c.rank == 1)
        with self.engine.connect() as db:
            return {r.flow_id: Run(dict(r._mapping)) for r in db.execute(query)}

    def adopt_interrupted(self, run: Run) -> bool:
        """Make this process the owner of an ``inProgress`` run whose owner is gone, to
        recover it; False when the run changed meanwhile (another process adopted or finished
        it), so one process recovers it."""
        t = tables.runs
        update = (
            t.update()
            .where(
                self.scope.where(t),
                t.c.id == run.id,
                t.c.state == "inProgress",
                t.c.owner == run.row["owner"],
                t.c.heartbeat_at == run.row["heartbeat_at"],
            )
            .values(owner=this_process(), heartbeat_at=now_ms())
        )
        with self.engine.begin() as db:
            return bool(db.execute(update).rowcount == 1)

    def heartbeat(self, run_id: str) -> None:
        t = tables.runs
        with self.engine.begin() as db:
            db.execute(t.update().where(t.c.id == run_id).values(heartbeat_at=now_ms()))

    def update_run(self, run_id: str, **values: Any) -> Run:
        self.runs.update(run_id, **values)
        return self.run(run_id)

    # -- batches -------------------------------------------------------------------------------

    def create_batch(
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
        now = now_ms()
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
            started_at=now,
            completed_at=None,
        )
        with self.engine.begin() as db:
            db.execute(tables.batches.insert().values(**row))
            if entries:
                db.execute(
                    tables.batch_files.insert(),
                    [
                        {
                            "batch_id": row["id"],
                            "path": e.path,
                            "identity": identity_key(e),
                            "entry": entry_to_json(e),
                            "status": "planned",
                            "records_in": 0,
                            "records_out": 0,
                            "records_failed": 0,
                            "error": None,
                        }
                        for e in entries
                    ],
                )
        return Batch(row)

    def batch(self, batch_id: str) -> Batch:
        return Batch(self.batches.get(batch_id))

    def list_batches(self, dataset_id: str | None = None) -> list[Batch]:
        where = [] if dataset_id is None else [tables.batches.c.dataset_id == dataset_id]
        return [Batch(r) for r in self.batches.select(*where)]

    def find_batches(
        self,
        *,
        dataset_id: str | None = None,
        status: str | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        order_by: str = "created",
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Batch]:
        """Batches matching every filter given (times in epoch ms, bounds exclusive), ordered by
        ``created``, ``updated``, ``started``, ``completed``, ``status`` or ``id``."""
        t = tables.batches
        column = t.c[BATCH_ORDER[order_by]]
        query = sa.select(t).where(self.scope.where(t))
        if dataset_id is not None:
            query = query.where(t.c.dataset_id == dataset_id)
        if status is not None:
            query = query.where(t.c.status == status)
        if created_after is not None:
            query = query.where(t.c.created_at > created_after)
        if created_before is not None:
            query = query.where(t.c.created_at < created_before)
        order = (column.desc(), t.c.id.desc()) if descending else (column, t.c.id)
        query = query.order_by(*order).offset(offset).limit(limit)
        with self.engine.connect() as db:
            return [Batch(dict(r._mapping)) for r in db.execute(query)]

    def dataset_batch_fields(
        self, dataset_ids: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """By dataset id (of ``dataset_ids``, or every dataset), the Catalog ``dataSet`` fields
        that follow from its batches: ``lastBatchId``, ``lastBatchStatus``,
        ``lastSuccessfulBatch``, ``lastFailedBatch``."""
        t = tables.batches
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

    def update_batch(self, batch_id: str, **values: Any) -> None:
        self.batches.update(batch_id, **values)

    def batch_files(self, batch_id: str) -> list[Any]:
        t = tables.batch_files
        with self.engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.batch_id == batch_id).order_by(t.c.path))
            return [r._mapping for r in rows]

    def record_file(self, batch_id: str, path: str, **values: Any) -> None:
        t = tables.batch_files
        with self.engine.begin() as db:
            db.execute(
                t.update().where((t.c.batch_id == batch_id) & (t.c.path == path)).values(**values)
            )

    # -- row errors ----------------------------------------------------------------------------

    def delete_row_errors(self, batch_id: str, source_file: str) -> None:
        """Forget the rejected rows of one file (it failed as a whole after all)."""
        t = tables.row_errors
        with self.engine.begin() as db:
            db.execute(
                t.delete().where((t.c.batch_id == batch_id) & (t.c.source_file == source_file))
            )

    def add_row_errors(
        self, batch_id: str, start_seq: int, errors: Iterable[Mapping[str, Any]]
    ) -> int:
        """Store rejected rows (``source_file``, ``row_index``, ``errors``, ``record``); returns
        how many were stored."""
        rows = [
            {"batch_id": batch_id, "seq": start_seq + i, **error} for i, error in enumerate(errors)
        ]
        if rows:
            with self.engine.begin() as db:
                db.execute(tables.row_errors.insert(), rows)
        return len(rows)

    def count_row_errors(self, batch_id: str) -> int:
        """How many rejected rows of the batch are kept (404 for another sandbox's batch)."""
        self.batch(batch_id)
        t = tables.row_errors
        query = sa.select(sa.func.count()).select_from(t).where(t.c.batch_id == batch_id)
        with self.engine.connect() as db:
            return int(db.scalar(query) or 0)

    def row_errors(
        self, batch_id: str, *, limit: int | None = None, offset: int = 0
    ) -> Iterator[dict[str, Any]]:
        self.batch(batch_id)  # 404 for another sandbox's batch
        t = tables.row_errors
        query = sa.select(t).where(t.c.batch_id == batch_id).order_by(t.c.seq)
        query = query.offset(offset).limit(limit)
        with self.engine.connect() as db:
            for r in db.execute(query):
                yield {
                    "sourceFile": r.source_file,
                    "rowIndex": r.row_index,
                    "errors": r.errors,
                    "record": r.record,
                }

    # -- ledger --------------------------------------------------------------------------------

    def ledgered(self, flow_id: str, *, include_failed: bool = True) -> set[str]:
        """Identities this flow must not ingest again: committed ones, and (unless a retry of
        failed files is asked for) those that failed for good (corrupt, schema mismatch)."""
        t = tables.file_ledger
        query = sa.select(t.c.identity).where(t.c.flow_id == flow_id)
        if not include_failed:
            query = query.where(t.c.status == "committed")
        with self.engine.connect() as db:
            return set(db.scalars(query))

    def failed_for_good(self, flow_id: str) -> dict[str, Mapping[str, Any]]:
        """The file versions of this flow that failed for good, by identity: the error each
        failed with (``code``, ``message``, …), as the ledger recorded it."""
        t = tables.file_ledger
        query = sa.select(t.c.identity, t.c.error).where(
            (t.c.flow_id == flow_id) & (t.c.status == "failed")
        )
        with self.engine.connect() as db:
            return {row.identity: row.error or {} for row in db.execute(query)}

    def batches_of_run(self, run_id: str) -> list[Batch]:
        return [Batch(r) for r in self.batches.select(tables.batches.c.run_id == run_id)]

    def forget_ledger(self, flow_id: str) -> None:
        t = tables.file_ledger
        with self.engine.begin() as db:
            db.execute(t.delete().where(t.c.flow_id == flow_id))

    def ledger(self, flow_id: str) -> list[Any]:
        t = tables.file_ledger
        with self.engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.flow_id == flow_id).order_by(t.c.recorded_at))
            return [r._mapping for r in rows]

    def complete_batch(
        self,
        *,
        flow_id: str,
        run_id: str,
        batch_id: str | None,
        committed: Sequence[FileEntry],
        failed: Sequence[tuple[FileEntry, Mapping[str, Any]]],
        batch_values: Mapping[str, Any] | None = None,
        run_values: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark the ledger, the batch and the run in one transaction (after the Iceberg commit,
        or after deciding nothing is committed)."""
        now = now_ms()
        ledger = [
            {
                "flow_id": flow_id,
                "identity": identity_key(e),
                "path": e.path,
                "entry": entry_to_json(e),
                "status": "committed",
                "batch_id": batch_id,
                "run_id": run_id,
                "error": None,
                "recorded_at": now,
            }
            for e in committed
        ] + [
            {
                "flow_id": flow_id,
                "identity": identity_key(e),
                "path": e.path,
                "entry": entry_to_json(e),
                "status": "failed",
                "batch_id": batch_id,
                "run_id": run_id,
                "error": dict(error),
                "recorded_at": now,
            }
            for e, error in failed
        ]
        with self.engine.begin() as db:
            if ledger:
                t = tables.file_ledger
                keys = [row["identity"] for row in ledger]
                # A retried completion (recovery) must not trip over its own earlier rows.
                db.execute(t.delete().where((t.c.flow_id == flow_id) & t.c.identity.in_(keys)))
                db.execute(t.insert(), ledger)
            if batch_id is not None and batch_values:
                db.execute(
                    tables.batches.update()
                    .where(tables.batches.c.id == batch_id)
                    .values(updated_at=now, **batch_values)
                )
            if run_values:
                db.execute(
                    tables.runs.update()
                    .where(tables.runs.c.id == run_id)
                    .values(updated_at=now, **run_values)
                )
