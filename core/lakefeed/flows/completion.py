"""Recording how a run ended: its metrics and activities, its batch, the ledger of the files it
committed or failed for good, and the flow's backlog — the batch, ledger and run in one
transaction, so a crash leaves either all of them or none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.records import now_ms

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.context import RunContext
    from lakefeed.flows.metrics import RunMetrics
    from lakefeed.storage.entries import FileEntry


def record_outcome(
    ctx: RunContext,
    flow: Flow,
    run: Run,
    metrics: RunMetrics,
    *,
    batch_id: str | None,
    batch_values: Mapping[str, Any] | None,
    committed: Sequence[FileEntry],
    failed: Sequence[tuple[FileEntry, dict[str, Any]]],
    planned: Sequence[FileEntry] | None,
) -> None:
    """Finish ``run``: ``batch_values`` (None without a batch) complete its batch, with the
    batch's metrics and errors taken from ``metrics``; ``committed`` and ``failed`` are
    ledgered; what was ``planned`` and is neither stays in the flow's backlog."""
    m = metrics
    m.completed_at = now_ms()
    batch: dict[str, Any] = {}
    if batch_values is not None:
        batch = {
            **batch_values,
            "completed_at": m.completed_at,
            "metrics": {
                "inputByteSize": m.input_bytes,
                "inputFileCount": m.input_files,
                "inputRecordCount": m.input_records,
                "outputRecordCount": m.output_records,
                "failedRecordCount": m.failed_records,
                "outputByteSize": m.output_bytes,
            },
            "errors": [{"code": e["code"], "description": e["message"]} for e in m.errors],
        }
    if planned is not None:
        done = {id(e) for e in committed} | {id(e) for e, _ in failed}
        waiting = [e for e in planned if id(e) not in done]
        ctx.backlog.record(flow, waiting, observed_at=m.completed_at)
    ctx.completion.complete_batch(
        flow_id=flow.id,
        run_id=run.id,
        batch_id=batch_id,
        committed=list(committed),
        failed=list(failed),
        batch_values=batch,
        run_values={
            "state": "completed",
            "status": m.status,
            "metrics": m.to_flow_service(),
            "activities": m.activities(
                source_connection_id=flow.source_connection_id,
                target_connection_id=flow.target_connection_id,
                batch_id=batch_id,
            ),
        },
    )
