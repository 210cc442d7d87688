"""``lakefeed runs list|show``: what each run of a flow did."""

from __future__ import annotations

import click

from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.output import emit_json, json_option, table
from lakefeed.cli.resources import resources
from lakefeed.cli.runs_view import print_run, run_status


@click.group("runs")
def runs() -> None:
    """Runs of flows: status, counts and errors."""


@runs.command("list")
@click.option("--flow", "flow", help="Only the runs of this flow (id or name).")
@json_option
def list_(flow: str | None, as_json: bool) -> None:
    """List runs, oldest first."""
    res = resources()
    items = res.runs(res.flow(flow)["id"] if flow else None)
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    names = {f["id"]: f["name"] for f in res.flows()}
    rows = []
    for run in items:
        m = run["metrics"]
        files, records = m["fileSummary"], m["recordSummary"]
        times = m["durationSummary"]
        rows.append(
            (
                run["id"],
                names.get(run["flowId"], run["flowId"]),
                run_status(run),
                timestamp(times.get("startedAtUTC")),
                duration(times.get("startedAtUTC"), times.get("completedAtUTC")),
                f"{files['inputFileCount']}/{files['failedFileCount']}/{files['skippedFileCount']}",
                f"{records['inputRecordCount']}/{records['outputRecordCount']}"
                f"/{records['failedRecordCount']}",
            )
        )
    table(
        "Runs",
        [
            "id",
            "flow",
            "status",
            "started (UTC)",
            "duration",
            "files in/failed/skipped",
            "records in/out/failed",
        ],
        rows,
    )


@runs.command("show")
@click.argument("run_id")
@json_option
def show(run_id: str, as_json: bool) -> None:
    """Show a run's summary: status, duration, counts, errors, per-file errors, batch."""
    res = resources()
    run = res.run(run_id)
    if as_json:
        emit_json({"items": [run]})
        return
    print_run(res, run)
