"""``BatchCompletion``: the end of a run in one transaction — the file ledger, the batch and the
run together.

That atomicity is what makes crash recovery exact: after the Iceberg commit (or the decision
to commit nothing) either all three say what happened or none does, and recovery finds the
run ``inProgress`` and decides again from the table's snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.ledger import LOOKUP_CHUNK, entry_columns, identity_key
from lakefeed.catalog.records import Scope, chunked, now_ms
from lakefeed.errors import ResourceNotFound
from lakefeed.storage.entries import FileEntry


class BatchCompletion:
    """Completes the batches and runs of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope

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
        """Mark the ledger (``committed`` files, and ``failed`` ones with the error each
        failed for good with), the batch (``batch_values``: its columns, e.g. ``status``,
        ``snapshot_id``, ``completed_at``, ``metrics``, ``errors``) and the run
        (``run_values``: ``state``, ``status``, ``metrics``, ``activities``) in one
        transaction. :class:`ResourceNotFound` when the run is not ``flow_id``'s run in this
        org and sandbox (then nothing is written)."""
        now = now_ms()
        ledger = [
            _ledger_row(flow_id, run_id, batch_id, e, "committed", None, now) for e in committed
        ] + [
            _ledger_row(flow_id, run_id, batch_id, e, "failed", dict(err), now) for e, err in failed
        ]
        runs, batches, t = tables.runs, tables.batches, tables.file_ledger
        with self.engine.begin() as db:
            owner = sa.select(runs.c.id).where(
                self.scope.where(runs), runs.c.id == run_id, runs.c.flow_id == flow_id
            )
            if db.execute(owner).first() is None:
                raise ResourceNotFound(
                    f"No run {run_id!r} of flow {flow_id!r} in sandbox "
                    f"{self.scope.sandbox_name!r}.",
                    fix="`lakefeed runs list` shows the runs that exist.",
                )
            if ledger:
                # A retried completion (recovery) must not trip over its own earlier rows.
                for keys in chunked([row["identity"] for row in ledger], LOOKUP_CHUNK):
                    db.execute(t.delete().where((t.c.flow_id == flow_id) & t.c.identity.in_(keys)))
                db.execute(t.insert(), ledger)
            if batch_id is not None and batch_values:
                db.execute(
                    batches.update()
                    .where(self.scope.where(batches), batches.c.id == batch_id)
                    .values(updated_at=now, **batch_values)
                )
            if run_values:
                db.execute(
                    runs.update()
                    .where(self.scope.where(runs), runs.c.id == run_id)
                    .values(updated_at=now, **run_values)
                )


def _ledger_row(
    flow_id: str,
    run_id: str,
    batch_id: str | None,
    entry: FileEntry,
    status: str,
    error: dict[str, Any] | None,
    now: int,
) -> dict[str, Any]:
    return {
        "flow_id": flow_id,
        "identity": identity_key(entry),
        **entry_columns(entry),
        "status": status,
        "batch_id": batch_id,
        "run_id": run_id,
        "error": error,
        "recorded_at": now,
    }
