"""``lakefeed runs list|show``: what each run of a flow did."""

from __future__ import annotations

import click

from lakefeed.cli import ranges
from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.output import emit_json, fields_option, json_option, table
from lakefeed.cli.resources import resources
from lakefeed.cli.runs_view import print_run, run_outcome


@click.group("runs")
def runs() -> None:
    """Runs of flows: status, counts and errors."""


@runs.command("list")
@click.option("--flow", "flow", help="Only the runs of this flow (id or name).")
@json_option
@fields_option
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
                run_outcome(run),
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
@fields_option
def show(run_id: str, as_json: bool) -> None:
    """Show a run's summary: status, duration, counts, errors, per-file errors, batch."""
    res = resources()
    run = res.run(run_id)
    if as_json:
        emit_json({"items": [run]})
        return
    print_run(res, run)


@runs.command("retrigger")
@click.argument("run_id")
@json_option
def retrigger(run_id: str, as_json: bool) -> None:
    """Run a failed run's window again (files that failed for good in it are retried too);
    exit 1 when the new run fails."""
    from lakefeed.cli.runs_view import report_run

    res = resources()
    report_run(res, res.retrigger(run_id, as_json=as_json), as_json)


@runs.command("wait")
@click.option("--flow", "flow", required=True, help="The flow (id or name).")
@click.option("--count", type=ranges.count(1), default=1, show_default=True,
              help="Completed runs the flow must have.")  # fmt: skip
@click.option("--timeout", type=ranges.seconds(), default=600.0, show_default=True,
              help="Seconds to wait; exit 1 after that.")  # fmt: skip
@json_option
def wait(flow: str, count: int, timeout: float, as_json: bool) -> None:
    """Wait until a flow has COUNT completed runs (a scheduler runs them), then print the
    latest; exit 1 on timeout or when that run failed."""
    import time

    from lakefeed.cli.runs_view import report_run
    from lakefeed.client.errors import RunWaitTimeout

    res = resources()
    flow_id = res.flow(flow)["id"]
    deadline = time.monotonic() + timeout
    while True:
        done = [r for r in res.runs(flow_id) if r["state"] == "completed"]
        if len(done) >= count:
            report_run(res, done[-1], as_json)
            return
        if time.monotonic() >= deadline:
            raise RunWaitTimeout(
                f"Flow {flow!r} has {len(done)} completed runs, not {count}, after {timeout:g} s.",
                fix="Is a scheduler running (`lakefeed scheduler`) and the flow enabled and due?",
            )
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
