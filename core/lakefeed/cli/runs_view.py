"""What ``flows run``, ``ingest`` and ``runs show`` share: the run summary (the progress bar is
:mod:`lakefeed.cli.progress`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.output import console, emit_json, human_size, table

if TYPE_CHECKING:
    from lakefeed.cli.resources import Resources


def run_outcome(run: Mapping[str, Any]) -> str:
    """``success``, ``partial`` (committed, but files failed or rows were rejected), ``failed``,
    or the status of a run not finished."""
    from lakefeed.flows.metrics import run_outcome

    return run_outcome(run["metrics"])


def print_run(res: Resources, run: Mapping[str, Any]) -> None:
    """The run summary: status, timing, counts, errors with their codes, per-file errors."""
    from rich.markup import escape

    from lakefeed.catalog.runs import batch_of

    flow_name = res.name_or(res.flow, run["flowId"], "(deleted flow)")
    metrics = run["metrics"]
    outcome = run_outcome(run)
    files, records = metrics["fileSummary"], metrics["recordSummary"]
    times, size = metrics["durationSummary"], metrics["sizeSummary"]
    style = {"success": "green", "failed": "red"}.get(outcome, "yellow")
    out = console()
    out.print(
        f"Run [bold]{run['id']}[/] of flow [bold]{escape(flow_name)}[/]: [{style}]{outcome}[/]"
    )
    if outcome == "partial":
        out.print(f"[yellow]{_partial_summary(files, records)}[/]")
    table(
        None,
        ["", "in", "out", "failed", "skipped"],
        [
            (
                "files",
                files["inputFileCount"],
                files["outputFileCount"],
                files["failedFileCount"],
                files["skippedFileCount"],
            ),
            (
                "records",
                records["inputRecordCount"],
                records["outputRecordCount"],
                records["failedRecordCount"],
                "",
            ),
            ("bytes", human_size(size["inputBytes"]), human_size(size["outputBytes"]), "", ""),
        ],
    )
    started, completed = times.get("startedAtUTC"), times.get("completedAtUTC")
    batch_id = batch_of(run.get("activities") or [])
    details = [
        ("started (UTC)", timestamp(started)),
        ("completed (UTC)", timestamp(completed)),
        ("duration", duration(started, completed)),
        ("batch", batch_id or "(none)"),
    ]
    params = run.get("params") or {}
    if params.get("windowEndTime") is not None:
        start = int(params.get("windowStartTime") or 0)
        details.append(
            (
                "window (UTC)",
                f"{timestamp(start * 1000) if start else '(beginning)'} → "
                f"{timestamp(int(params['windowEndTime']) * 1000)}",
            )
        )
    pickup = (times.get("extensions") or {}).get("pickupLatency")
    if pickup:
        details.append(
            (
                "pick-up latency",
                f"p50 {duration(0, pickup['p50Ms'])}, max {duration(0, pickup['maxMs'])} "
                f"(file modified → committed, {pickup['files']} files)",
            )
        )
    table(None, ["field", "value"], details)
    errors = metrics["statusSummary"].get("errors") or []
    if errors:
        table("Errors", ["code", "message"], ((e["code"], e["message"]) for e in errors))
    extensions = metrics["statusSummary"].get("extensions") or {}
    file_errors = extensions.get("fileErrors") or []
    if file_errors:
        table(
            "File errors",
            ["path", "code", "message", "next run"],
            ((e["path"], e["code"], e["message"], _next_run(e)) for e in file_errors),
        )
    _print_failed_before(flow_name, files, extensions.get("failedBefore") or [])
    _print_precision_loss(records)
    if records["failedRecordCount"] and batch_id:
        if _diagnostics_kept(res, batch_id):
            out.print(f"Rejected rows: [bold]lakefeed batches errors {batch_id}[/]")
        else:
            out.print(
                "[yellow]Rejected rows were not kept:[/] pass --partial-ingestion-percent, or "
                "create the flow with --error-diagnostics."
            )


def _partial_summary(files: Mapping[str, Any], records: Mapping[str, Any]) -> str:
    parts = []
    if files.get("failedFileCount"):
        parts.append(f"{files['failedFileCount']} of {files['inputFileCount']} files failed")
    if records.get("failedRecordCount"):
        parts.append(
            f"{records['failedRecordCount']} of {records['inputRecordCount']} rows were rejected"
        )
    return (
        "The good data was committed (Flow Service status success), but "
        + " and ".join(parts)
        + ": see the errors below."
    )


def _next_run(file_error: Mapping[str, Any]) -> str:
    """What the next run does with a failed file (runs recorded before ``permanent``: blank)."""
    permanent = file_error.get("permanent")
    if permanent is None:
        return ""
    return "skips it until it changes" if permanent else "tries it again"


def _print_failed_before(
    flow_name: str, files: Mapping[str, Any], listed: list[Mapping[str, Any]]
) -> None:
    count = (files.get("extensions") or {}).get("failedBeforeFileCount") or 0
    if not count:
        return
    more = f" ({len(listed)} listed)" if len(listed) < count else ""
    table(
        f"Failed for good in an earlier run: {count} file version(s), not retried until they "
        f"change (`lakefeed flows run {flow_name} --retry-failed` retries them){more}",
        ["path", "code", "message"],
        ((e["path"], e.get("code"), e.get("message")) for e in listed),
    )


_LOSS_WORDS = {
    "truncatedTimestamps": "truncated to the target's time unit (Iceberg: microseconds)",
    "roundedNumbers": "rounded to a double (about 15-17 significant digits)",
}


def _print_precision_loss(records: Mapping[str, Any]) -> None:
    losses = (records.get("extensions") or {}).get("precisionLoss") or {}
    rows = [
        (path, count, _LOSS_WORDS.get(kind, kind))
        for kind, by_path in losses.items()
        for path, count in sorted(by_path.items())
    ]
    if rows:
        table("Precision lost (values kept, digits dropped)", ["field", "values", "how"], rows)


def _diagnostics_kept(res: Resources, batch_id: str) -> bool:
    from lakefeed.errors import LakefeedError

    try:
        return bool(res.batch(batch_id).get("tags", {}).get("acp_enableErrorDiagnostics"))
    except LakefeedError:
        return True  # a server without the Catalog: `batches errors` will tell


def report_run(res: Resources, run: Mapping[str, Any], as_json: bool) -> None:
    """Print the finished run (JSON or summary); exit 0 when everything went in, 3 when it
    committed but files failed or rows were rejected (``partial``), 1 when it failed."""
    from lakefeed.flows.metrics import EXIT_CODES

    if as_json:
        emit_json(run)
    else:
        print_run(res, run)
    code = EXIT_CODES.get(run_outcome(run), 0)
    if code:
        raise SystemExit(code)
