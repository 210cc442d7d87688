"""The progress bar of ``flows run`` and ``ingest``: drawn on standard error while a run works."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lakefeed.cli.output import console

if TYPE_CHECKING:
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
