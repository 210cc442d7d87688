"""``lakefeed batches errors``: the rows a batch rejected, and why."""

from __future__ import annotations

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import (
    Lines,
    console,
    fields_option,
    json_option,
    stream_json_lines,
    stream_json_list,
    table,
)
from lakefeed.cli.ranges import count


@click.group("batches")
def batches() -> None:
    """Batches: what one run wrote to a dataset."""


@batches.command("errors")
@click.argument("batch_id")
@click.option("--limit", type=count(), default=100, show_default=True, help="0 for all.")
@click.option("--offset", type=count(), default=0, show_default=True, help="Rows to skip.")
@json_option
@fields_option
@click.option("--json-lines", is_flag=True, help="Print one JSON object per line.")
def errors(batch_id: str, limit: int, offset: int, as_json: bool, json_lines: bool) -> None:
    """Show the rows a batch rejected: source file, row, error codes and the original record."""
    lf = engine()
    batch = lf.batches.get(batch_id)
    found = lf.row_errors.list(batch.id, limit=limit or None, offset=offset)
    rows = (row.to_dict() for row in found)
    if json_lines:
        stream_json_lines(rows)
        return
    if as_json:
        stream_json_list(rows, lambda row: row)
        return
    shown = list(rows)
    total = batch.metrics.get("failedRecordCount", len(shown))
    table(
        f"Rejected rows of batch {batch.id}",
        ["source file", "row", "code", "message"],
        (
            (
                r["sourceFile"],
                r["rowIndex"],
                Lines(e["code"] for e in r["errors"]),
                Lines(e["message"] for e in r["errors"]),
            )
            for r in shown
        ),
        caption=(
            f"rows {offset + 1}–{offset + len(shown)} of {total} rejected; "
            "--json adds each row's original values"
        )
        if shown
        else f"{total} rejected",
    )
    if total and not shown and not batch.tags.get("acp_enableErrorDiagnostics"):
        console().print(
            "[yellow]Error diagnostics were off for this batch, so its rejected rows were "
            "not kept.[/] Create the flow with --error-diagnostics or "
            "--partial-ingestion-percent."
        )
