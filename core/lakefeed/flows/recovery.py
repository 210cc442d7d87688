"""Recovery of a run whose process stopped (killed, crashed, machine lost) before it finished.

The Iceberg table decides: if a snapshot carries the batch id, the commit happened and the run
is rolled forward (ledger and records completed from the stored file plan); otherwise it is
rolled back (the batch's data files are deleted, nothing is ledgered, and the files are planned
again by the next run). Either way no row lands twice and none is lost.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.owners import run_alive
from lakefeed.catalog.records import Scope, now_ms
from lakefeed.catalog.runs import Run
from lakefeed.datasets.iceberg import snapshot_for_batch
from lakefeed.datasets.writer import remove_batch_files
from lakefeed.errors import CommitOutcomeUnknown, CorruptParquet, NotParquet, SchemaMismatch
from lakefeed.flows import metrics as codes
from lakefeed.flows.metrics import run_outcome

if TYPE_CHECKING:
    from lakefeed.flows.context import RunContext

log = logging.getLogger("lakefeed.recovery")


def recover_interrupted(ctx: RunContext) -> list[Run]:
    """Recover, in every org and sandbox, the runs still ``inProgress`` whose process is gone
    (on this host) or whose heartbeat went quiet (on any host), and return them finished. A
    server or scheduler does this as it starts, so a run killed with its process is closed at
    once, not when the next run of its flow starts. A run still owned by a live process, or by
    another host within its heartbeat, is left alone. Each run is adopted first, so of several
    processes starting together one recovers it."""
    recovered = []
    for run in ctx.runs.all_scopes_in_progress():
        if run_alive(run.owner, run.heartbeat_at):
            continue
        scoped = ctx.in_scope(Scope(ims_org_id=run.ims_org_id, sandbox_name=run.sandbox_name))
        if not scoped.runs.adopt_interrupted(run):
            continue
        log.warning("recovering run %s of flow %s (process %s is gone)",
                    run.id, run.flow_id, run.owner)  # fmt: skip
        try:
            recover(scoped, scoped.runs.get(run.id), force=True)
        except Exception:
            log.exception("recovering run %s failed; the next run of its flow retries", run.id)
            # Given back to its gone owner, so the next run of the flow recovers it at once.
            scoped.runs.set_owner(run.id, owner=run.owner, heartbeat_at=run.heartbeat_at)
            continue
        recovered.append(scoped.runs.get(run.id))
    return recovered


def recover(ctx: RunContext, run: Run, *, force: bool = False) -> bool:
    """Finish ``run`` if its process is gone (or ``force``); False when it is still running."""
    if not force and run_alive(run.owner, run.heartbeat_at):
        return False
    batches = ctx.batches.of_run(run.id)
    metrics = dict(run.metrics)
    status = metrics.setdefault("statusSummary", {"status": "failed", "errors": []})
    errors = list(status.get("errors") or [])
    # A run that stopped on a commit it could not see the outcome of: its process is alive.
    unknown = any(e.get("code") == CommitOutcomeUnknown.code for e in errors)
    if not batches:
        errors.append(_error("before it planned a batch; nothing was written"))
        metrics["statusSummary"] = {"status": "failed", "errors": errors}
        ctx.runs.update(run.id, state="completed", status="failed", metrics=metrics)
        return True
    batch = batches[0]
    dataset = ctx.datasets.get(batch.dataset_id)
    table = ctx.datasets.table(dataset)
    snapshot = snapshot_for_batch(table, batch.id)
    files = ctx.batches.files(batch.id)
    done = [f for f in files if f.status == "converted"]
    converted = [f.entry for f in done]
    failed = [
        (f.entry, f.error or {})
        for f in files
        if f.status == "failed" and _failed_for_good(f.error or {})
    ]
    totals = {
        "inputRecordCount": sum(f.records_in for f in done),
        "outputRecordCount": sum(f.records_out for f in done),
        "failedRecordCount": sum(f.records_failed for f in done),
    }
    if snapshot is not None or batch.status == "success":
        errors.append(_error("after its commit; the batch was completed (rolled forward)", unknown))
        metrics["recordSummary"] = totals
        # What the batch's file plan says the run took: the counts it had not recorded yet.
        metrics.setdefault("fileSummary", {}).update(
            inputFileCount=len(files),
            outputFileCount=len(done),
            failedFileCount=sum(1 for f in files if f.status == "failed"),
        )
        batch_values = {
            "status": "success",
            "snapshot_id": snapshot.snapshot_id if snapshot is not None else batch.snapshot_id,
            "completed_at": now_ms(),
            "metrics": {
                **totals,
                "inputFileCount": len(files),
                "inputByteSize": sum(f.entry.size for f in files),
            },
        }
        new_status = "success"
    else:
        removed = remove_batch_files(table, batch.data_prefix)
        errors.append(
            _error(
                f"before its commit; the batch was rolled back ({removed} data files removed) "
                "and its files are planned again",
                unknown,
            )
        )
        converted, failed = [], []
        batch_values = {"status": "aborted", "completed_at": now_ms()}
        new_status = "failed"
    status.update(status=new_status, errors=errors)
    status.setdefault("extensions", {})["outcome"] = run_outcome(metrics)
    metrics.setdefault("durationSummary", {})["completedAtUTC"] = now_ms()
    ctx.completion.complete_batch(
        flow_id=run.flow_id,
        run_id=run.id,
        batch_id=batch.id,
        committed=converted,
        failed=failed,
        batch_values=batch_values,
        run_values={"state": "completed", "status": new_status, "metrics": metrics},
    )
    return True


#: Codes of the failures that were permanent before file errors recorded ``permanent``.
_PERMANENT_CODES = {cls.code for cls in (SchemaMismatch, CorruptParquet, NotParquet)}


def _failed_for_good(error: dict[str, Any]) -> bool:
    """Whether a file's recorded failure makes its version fail for good (as the run decided
    with the error class's ``transient``)."""
    permanent = error.get("permanent")
    return error.get("code") in _PERMANENT_CODES if permanent is None else bool(permanent)


def _error(when: str, commit_outcome_unknown: bool = False) -> dict[str, Any]:
    if commit_outcome_unknown:
        when = when.replace("after its commit", "after its commit landed", 1)
        message = f"Recovery found that the run stopped {when}."
    else:
        message = f"The process running this run stopped {when}."
    return {"code": codes.INTERRUPTED, "message": message}
