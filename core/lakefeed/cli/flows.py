"""``lakefeed flows create|list|show|run``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.cells import timestamp
from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, json_option, table
from lakefeed.cli.runs_view import report_run, run_progress

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.engine import Lakefeed


@click.group("flows")
def flows() -> None:
    """Flows: a path on a connection, ingested into a dataset, now or on a schedule."""


@flows.command("create")
@click.option("--name", required=True, help="Name of the new flow (unique).")
@click.option("--connection", required=True, help="Base connection name or id.")
@click.option("--path", required=True, help="File, folder or glob on the connection.")
@click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders.")
@click.option("--dataset", required=True, help="Target dataset name or id.")
@click.option("--format", "data_format", default="parquet", help="parquet or parquet_xdm.")
@click.option("--partial-ingestion-percent", type=float, help="Accept up to X% bad rows.")
@click.option("--error-diagnostics", is_flag=True, help="Keep rejected rows.")
@click.option("--frequency", help="once, minute, hour, day or week (default once).")
@click.option("--interval", type=int, help="Every N frequency units (not with once).")
@click.option("--start-time", type=int, help="Epoch seconds the schedule starts (default now).")
@click.option("--no-backfill", is_flag=True, help="Skip files modified before --start-time.")
@json_option
def create(
    name: str,
    connection: str,
    path: str,
    recursive: bool,
    dataset: str,
    data_format: str,
    partial_ingestion_percent: float | None,
    error_diagnostics: bool,
    frequency: str | None,
    interval: int | None,
    start_time: int | None,
    no_backfill: bool,
    as_json: bool,
) -> None:
    """Create a flow with its source and target connections in one go."""
    from lakefeed.catalog.flows import flow_options, schedule_params
    from lakefeed.errors import NameTaken, ResourceNotFound

    lf = engine()
    schedule: dict[str, Any] = {}
    for key, value in (("frequency", frequency), ("interval", interval), ("startTime", start_time)):
        if value is not None:
            schedule[key] = value
    if no_backfill:
        schedule["backfill"] = False
    options: dict[str, Any] = {"partialIngestionPercent": partial_ingestion_percent}
    if error_diagnostics:
        options["errorDiagnosticsEnabled"] = True
    options = {k: v for k, v in options.items() if v is not None}
    # Check everything before storing anything: the three resources are stored one by one.
    schedule_params(schedule)
    flow_options(options)
    try:
        lf.flows.flow(name)
    except ResourceNotFound:
        pass
    else:
        raise NameTaken(
            f"A flow named {name!r} already exists.",
            fix="Choose another name; `lakefeed flows list` shows the existing ones.",
        )
    base = lf.connection(connection)
    target_dataset = lf.datasets.get(dataset)
    source = lf.flows.create_source_connection(
        name=f"{name}-source",
        base_connection_id=base.id,
        path=path,
        recursive=recursive,
        data_format=data_format,
        schema_id=target_dataset.schema_id if data_format == "parquet_xdm" else None,
    )
    target = lf.flows.create_target_connection(name=f"{name}-target", dataset_id=target_dataset.id)
    flow = lf.flows.create_flow(
        name=name,
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
        schedule=schedule or None,
        options=options,
    )
    if as_json:
        emit_json(flow.to_dict())
        return
    from rich.markup import escape

    console().print(f"Created flow [bold]{escape(flow.name)}[/] ({flow.id})")
    _print_flow(lf, flow)


@flows.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List flows, oldest first."""
    lf = engine()
    items = lf.flows.list_flows()
    if as_json:
        emit_json({"items": [f.to_dict() for f in items], "count": len(items)})
        return
    connections = {c.id: c.name for c in lf.connections.list()}
    datasets = {d.id: d.name for d in lf.datasets.list()}
    rows = []
    for flow in items:
        source = lf.flows.source_connection(flow.source_connection_id)
        target = lf.flows.target_connection(flow.target_connection_id)
        rows.append(
            (
                flow.name,
                flow.id,
                connections.get(source.base_connection_id, source.base_connection_id),
                source.path + (" (recursive)" if source.recursive else ""),
                datasets.get(target.dataset_id, target.dataset_id),
                _schedule(flow),
                flow.state,
            )
        )
    table("Flows", ["name", "id", "connection", "path", "dataset", "schedule", "state"], rows)


@flows.command("show")
@click.argument("flow")
@json_option
def show(flow: str, as_json: bool) -> None:
    """Show one flow by id or name: source, target, schedule, options and last run."""
    lf = engine()
    item = lf.flows.flow(flow)
    if as_json:
        emit_json({"items": [item.to_dict()]})
        return
    _print_flow(lf, item)


@flows.command("run")
@click.argument("flow")
@click.option("--retry-failed", is_flag=True, help="Also retry files that failed for good.")
@json_option
def run(flow: str, retry_failed: bool, as_json: bool) -> None:
    """Run a flow now and print the run summary; exit 1 when the run failed."""
    lf = engine()
    item = lf.flows.flow(flow)
    with run_progress(as_json) as progress:
        finished = lf.run_flow(item, progress=progress, retry_failed=retry_failed)
    report_run(lf, finished, as_json)


def _schedule(flow: Flow) -> str:
    schedule = flow.schedule
    if schedule.frequency == "once":
        return "once"
    plural = "" if schedule.interval == 1 else "s"
    return f"every {schedule.interval} {schedule.frequency}{plural}"


def _print_flow(lf: Lakefeed, flow: Flow) -> None:
    from lakefeed.errors import ConnectionNotFound, ResourceNotFound

    source = lf.flows.source_connection(flow.source_connection_id)
    target = lf.flows.target_connection(flow.target_connection_id)
    try:
        connection = (
            f"{lf.connection(source.base_connection_id).name} ({source.base_connection_id})"
        )
    except ConnectionNotFound:
        connection = f"{source.base_connection_id} (deleted)"
    try:
        dataset = f"{lf.datasets.get(target.dataset_id).name} ({target.dataset_id})"
    except ResourceNotFound:
        dataset = f"{target.dataset_id} (deleted)"
    schedule = flow.schedule
    runs = lf.runs.list_runs(flow.id)
    last = runs[-1] if runs else None
    rows = [
        ("id", flow.id),
        ("name", flow.name),
        ("state", flow.state),
        ("connection", connection),
        ("path", source.path),
        ("recursive", source.recursive),
        ("format", source.row["data"].get("format")),
        ("dataset", dataset),
        ("schedule", _schedule(flow)),
        ("start time (UTC)", timestamp(schedule.start_time * 1000)),
        ("backfill", schedule.backfill if schedule.frequency != "once" else ""),
        ("partial ingestion %", flow.partial_ingestion_percent or ""),
        ("error diagnostics", flow.error_diagnostics),
        ("runs", len(runs)),
        ("last run", f"{last.id} {last.status}" if last else ""),
    ]
    table(f"Flow {flow.name}", ["field", "value"], rows)
