"""What ``flows run``, ``ingest`` and ``runs show`` share: the progress bar and the run summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.output import console, emit_json, human_size, table

if TYPE_CHECKING:
    from lakefeed.cli.resources import Resources
    from lakefeed.flows.runner import RunProgress

ProgressCallback = Callable[["RunProgress"], None]


@contextmanager
def run_progress(as_json: bool) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing a transient bar on standard error, or None when standard
    error is not a terminal or the output is JSON (programs want the result, not the bar)."""
    err = console(stderr=True)
    if as_json or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        TextColumn("{task.fields[rows]}"),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task: Any = None

    def update(p: RunProgress) -> None:
        nonlocal task
        files = f"{p.files_done}/{p.files_total} files"
        rows = f"{p.rows} rows" + (f" ({p.failed_rows} rejected)" if p.failed_rows else "")
        if task is None:
            task = progress.add_task(
                "Ingesting", total=p.bytes_total or None, files=files, rows=rows
            )
        progress.update(task, completed=p.bytes_done, files=files, rows=rows)

    with progress:
        yield update


def run_status(run: Mapping[str, Any]) -> str:
    return str(run["metrics"]["statusSummary"]["status"])


def batch_id_of(run: Mapping[str, Any]) -> str | None:
    """The batch the run wrote (the promotion activity's target), if any."""
    for activity in run.get("activities") or []:
        for target in activity.get("targetInfo", []):
            ids = target.get("reference", {}).get("ids") or []
            if ids:
                return str(ids[0])
    return None


def print_run(res: Resources, run: Mapping[str, Any]) -> None:
    """The run summary: status, timing, counts, errors with their codes, per-file errors."""
    from rich.markup import escape

    flow_name = res.name_or(res.flow, run["flowId"], "(deleted flow)")
    metrics = run["metrics"]
    status = metrics["statusSummary"]["status"]
    files, records = metrics["fileSummary"], metrics["recordSummary"]
    times, size = metrics["durationSummary"], metrics["sizeSummary"]
    style = {"success": "green", "failed": "red"}.get(status, "yellow")
    out = console()
    out.print(
        f"Run [bold]{run['id']}[/] of flow [bold]{escape(flow_name)}[/]: [{style}]{status}[/]"
    )
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
    batch_id = batch_id_of(run)
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
    file_errors = metrics["statusSummary"].get("extensions", {}).get("fileErrors") or []
    if file_errors:
        table(
            "File errors",
            ["path", "code", "message"],
            ((e["path"], e["code"], e["message"]) for e in file_errors),
        )
    if records["failedRecordCount"] and batch_id:
        if _diagnostics_kept(res, batch_id):
            out.print(f"Rejected rows: [bold]lakefeed batches errors {batch_id}[/]")
        else:
            out.print(
                "[yellow]Rejected rows were not kept:[/] pass --partial-ingestion-percent, or "
                "create the flow with --error-diagnostics."
            )


def _diagnostics_kept(res: Resources, batch_id: str) -> bool:
    from lakefeed.errors import LakefeedError

    try:
        return bool(res.batch(batch_id).get("tags", {}).get("acp_enableErrorDiagnostics"))
    except LakefeedError:
        return True  # a server without the Catalog: `batches errors` will tell


def report_run(res: Resources, run: Mapping[str, Any], as_json: bool) -> None:
    """Print the finished run (JSON or summary); exit 1 when it failed."""
    if as_json:
        emit_json(run)
    else:
        print_run(res, run)
    if run_status(run) == "failed":
        raise SystemExit(1)
