"""Recovery of a run whose process stopped (killed, crashed, machine lost) before it finished.

The Iceberg table decides: if a snapshot carries the batch id, the commit happened and the run
is rolled forward (ledger and records completed from the stored file plan); otherwise it is
rolled back (the batch's data files are deleted, nothing is ledgered, and the files are planned
again by the next run). Either way no row lands twice and none is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakefeed.catalog.records import now_ms
from lakefeed.catalog.runs import Run, entry_from_json, run_alive
from lakefeed.datasets.iceberg import snapshot_for_batch
from lakefeed.datasets.writer import remove_batch_files
from lakefeed.flows import metrics as codes
from lakefeed.flows.runner import PERMANENT

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed


def recover(lf: Lakefeed, run: Run, *, force: bool = False) -> bool:
    """Finish ``run`` if its process is gone (or ``force``); False when it is still running."""
    if not force and run_alive(run.row["owner"], run.row["heartbeat_at"]):
        return False
    batches = lf.runs.batches_of_run(run.id)
    metrics = dict(run.metrics)
    status = metrics.setdefault("statusSummary", {"status": "failed", "errors": []})
    errors = list(status.get("errors") or [])
    if not batches:
        errors.append(_error("before it planned a batch; nothing was written"))
        metrics["statusSummary"] = {"status": "failed", "errors": errors}
        lf.runs.update_run(run.id, state="completed", status="failed", metrics=metrics)
        return True
    batch = batches[0]
    dataset = lf.datasets.get(batch.dataset_id)
    table = lf.datasets.table(dataset)
    snapshot = snapshot_for_batch(table, batch.id)
    files = lf.runs.batch_files(batch.id)
    permanent_codes = {cls.code for cls in PERMANENT}
    converted = [entry_from_json(f["entry"]) for f in files if f["status"] == "converted"]
    failed = [
        (entry_from_json(f["entry"]), f["error"] or {})
        for f in files
        if f["status"] == "failed" and (f["error"] or {}).get("code") in permanent_codes
    ]
    totals = {
        "inputRecordCount": sum(f["records_in"] for f in files if f["status"] == "converted"),
        "outputRecordCount": sum(f["records_out"] for f in files if f["status"] == "converted"),
        "failedRecordCount": sum(f["records_failed"] for f in files if f["status"] == "converted"),
    }
    if snapshot is not None or batch.status == "success":
        errors.append(_error("after its commit; the batch was completed (rolled forward)"))
        metrics["recordSummary"] = totals
        batch_values = {
            "status": "success",
            "snapshot_id": snapshot.snapshot_id if snapshot is not None else batch.snapshot_id,
            "completed_at": now_ms(),
            "metrics": {**totals, "inputFileCount": len(files)},
        }
        new_status = "success"
    else:
        removed = remove_batch_files(table, batch.row["data_prefix"])
        errors.append(
            _error(
                f"before its commit; the batch was rolled back ({removed} data files removed) "
                "and its files are planned again"
            )
        )
        converted, failed = [], []
        batch_values = {"status": "aborted", "completed_at": now_ms()}
        new_status = "failed"
    status.update(status=new_status, errors=errors)
    metrics.setdefault("durationSummary", {})["completedAtUTC"] = now_ms()
    lf.runs.complete_batch(
        flow_id=run.flow_id,
        run_id=run.id,
        batch_id=batch.id,
        committed=converted,
        failed=failed,
        batch_values=batch_values,
        run_values={"state": "completed", "status": new_status, "metrics": metrics},
    )
    return True


def _error(when: str) -> dict[str, Any]:
    return {
        "code": codes.INTERRUPTED,
        "message": f"The process running this run stopped {when}.",
    }
