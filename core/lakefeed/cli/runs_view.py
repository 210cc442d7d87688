"""What ``flows run``, ``ingest`` and ``runs show`` share: the progress bar and the run summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.output import console, emit_json, human_size, table

if TYPE_CHECKING:
    from lakefeed.catalog.runs import Run
    from lakefeed.engine import Lakefeed
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


def flow_name_of(lf: Lakefeed, flow_id: str) -> str:
    from lakefeed.errors import ResourceNotFound

    try:
        return str(lf.flows.flow(flow_id).name)
    except ResourceNotFound:
        return "(deleted flow)"


def print_run(lf: Lakefeed, run: Run) -> None:
    """The run summary: status, timing, counts, errors with their codes, per-file errors."""
    from rich.markup import escape

    flow_name = flow_name_of(lf, run.flow_id)
    metrics = run.metrics
    status = metrics["statusSummary"]["status"]
    files, records = metrics["fileSummary"], metrics["recordSummary"]
    times, size = metrics["durationSummary"], metrics["sizeSummary"]
    style = {"success": "green", "failed": "red"}.get(status, "yellow")
    out = console()
    out.print(f"Run [bold]{run.id}[/] of flow [bold]{escape(flow_name)}[/]: [{style}]{status}[/]")
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
    details = [
        ("started (UTC)", timestamp(started)),
        ("completed (UTC)", timestamp(completed)),
        ("duration", duration(started, completed)),
        ("batch", run.batch_id or "(none)"),
    ]
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
    if records["failedRecordCount"] and run.batch_id:
        if lf.runs.batch(run.batch_id).to_dict()["tags"].get("acp_enableErrorDiagnostics"):
            out.print(f"Rejected rows: [bold]lakefeed batches errors {run.batch_id}[/]")
        else:
            out.print(
                "[yellow]Rejected rows were not kept:[/] pass --partial-ingestion-percent, or "
                "create the flow with --error-diagnostics."
            )


def report_run(lf: Lakefeed, run: Run, as_json: bool) -> None:
    """Print the finished run (JSON or summary); exit 1 when it failed."""
    if as_json:
        emit_json(run.to_dict())
    else:
        print_run(lf, run)
    if run.status == "failed":
        raise SystemExit(1)
