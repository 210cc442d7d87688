"""``lakefeed flows create|list|show|update|delete|run|enable|disable|backlog``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from lakefeed.cli.cells import duration, timestamp
from lakefeed.cli.context import engine
from lakefeed.cli.files import format_properties_option
from lakefeed.cli.output import console, emit_json, fields_option, json_option, table
from lakefeed.cli.resources import Resources, resources
from lakefeed.cli.runs_view import report_run, run_outcome

if TYPE_CHECKING:
    from lakefeed.catalog.flows import SourceConnection, TargetConnection


@click.group("flows")
def flows() -> None:
    """Flows: a path on a connection, ingested into a dataset, now or on a schedule."""


class StartTime(click.ParamType):
    """Epoch seconds, or an ISO 8601 date-time (UTC unless it carries an offset)."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        from datetime import UTC, datetime

        if isinstance(value, int) or str(value).strip().isdigit():
            return int(value)
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is neither epoch seconds nor an ISO 8601 time "
                "(e.g. 2026-12-01T02:00:00Z).",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())


@flows.command("create")
@click.option("--name", required=True, help="Name of the new flow (unique).")
@click.option("--connection", required=True, help="Base connection name or id.")
@click.option("--path", required=True, help="File, folder or glob on the connection.")
@click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders.")
@click.option("--dataset", required=True, help="Target dataset name or id.")
@click.option(
    "--format",
    "data_format",
    default="parquet",
    show_default=True,
    help="data.format: parquet, parquet_xdm, delimited, json or a format plugin's.",
)
@format_properties_option
@click.option("--file-extension", help="params.fileExtension: read only files ending with it.")
@click.option("--partial-ingestion-percent", type=float, help="Accept up to X% bad rows.")
@click.option("--error-diagnostics", is_flag=True, help="Keep rejected rows.")
@click.option("--frequency", help="once, minute, hour, day or week (default once).")
@click.option("--interval", type=int, help="Every N frequency units (not with once).")
@click.option(
    "--start-time",
    type=StartTime(),
    help="When the schedule starts: epoch seconds, or an ISO 8601 time such as "
    "2026-12-01T02:00:00Z (UTC unless it has an offset); default now.",
)
@click.option("--no-backfill", is_flag=True, help="Skip files modified before --start-time.")
@json_option
def create(
    name: str,
    connection: str,
    path: str,
    recursive: bool,
    dataset: str,
    data_format: str,
    format_options: dict[str, Any],
    file_extension: str | None,
    partial_ingestion_percent: float | None,
    error_diagnostics: bool,
    frequency: str | None,
    interval: int | None,
    start_time: int | None,
    no_backfill: bool,
    as_json: bool,
) -> None:
    """Create a flow with its source and target connections in one go."""
    from lakefeed.catalog.flows import flow_options
    from lakefeed.errors import NameTaken, ResourceNotFound
    from lakefeed.schedules.rules import validate_schedule

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
    validate_schedule(schedule)
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
    lf.check_source_path(base, path)
    target_dataset = lf.datasets.get(dataset)
    source = lf.flows.create_source_connection(
        name=f"{name}-source",
        base_connection_id=base.id,
        path=path,
        recursive=recursive,
        data_format=data_format,
        schema_id=target_dataset.schema_id if data_format == "parquet_xdm" else None,
        properties=format_options,
        file_extension=file_extension,
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
    _print_flow(resources(), flow.to_dict())


@flows.command("list")
@json_option
@fields_option
def list_(as_json: bool) -> None:
    """List flows, oldest first."""
    res = resources()
    items = res.flows()
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    connections = {c["id"]: c["name"] for c in res.connections()}
    datasets = {d["id"]: d["name"] for d in res.datasets()}
    runs_of: dict[str, list[dict[str, Any]]] = {}
    for run in res.runs():
        runs_of.setdefault(run["flowId"], []).append(run)
    rows = []
    for flow in items:
        source = res.source_connection(flow["sourceConnectionIds"][0])
        target = res.target_connection(flow["targetConnectionIds"][0])
        base_id, dataset_id = source["baseConnectionId"], target["params"]["dataSetId"]
        rows.append(
            (
                flow["name"],
                flow["id"],
                connections.get(base_id, base_id),
                source["params"]["path"] + (" (recursive)" if _recursive(source) else ""),
                datasets.get(dataset_id, dataset_id),
                _schedule(flow),
                flow["state"],
                _next_run(flow, runs_of.get(flow["id"], [])),
            )
        )
    table(
        "Flows",
        ["name", "id", "connection", "path", "dataset", "schedule", "state", "next run (UTC)"],
        rows,
    )


@flows.command("show")
@click.argument("flow")
@json_option
@fields_option
def show(flow: str, as_json: bool) -> None:
    """Show one flow by id or name: source, target, schedule, options and last run."""
    res = resources()
    item = res.flow(flow)
    if as_json:
        emit_json({"items": [item]})
        return
    _print_flow(res, item)


@flows.command("run")
@click.argument("flow")
@click.option("--retry-failed", is_flag=True, help="Also retry files that failed for good.")
@json_option
def run(flow: str, retry_failed: bool, as_json: bool) -> None:
    """Run a flow now and print the run summary; exit 1 when the run failed."""
    res = resources()
    finished = res.run_flow(res.flow(flow), as_json=as_json, retry_failed=retry_failed)
    report_run(res, finished, as_json)


@flows.command("enable")
@click.argument("flow")
@json_option
def enable(flow: str, as_json: bool) -> None:
    """Enable a flow: the scheduler runs it again from its next window."""
    _set_state(flow, "enabled", as_json)


@flows.command("disable")
@click.argument("flow")
@json_option
def disable(flow: str, as_json: bool) -> None:
    """Disable a flow: it is not scheduled and takes no run until enabled."""
    _set_state(flow, "disabled", as_json)


def _set_state(ref: str, state: str, as_json: bool) -> None:
    res = resources()
    flow = res.set_flow_state(res.flow(ref), state)
    if as_json:
        emit_json({"items": [flow]})
    else:
        console().print(f"Flow [bold]{escape(flow['name'])}[/] is {flow['state']}")


@flows.command("update")
@click.argument("flow")
@click.option("--name", "new_name", help="New name (unique).")
@click.option("--description", help="New description ('' clears it).")
@click.option("--path", help="Re-point the flow's source to this file, folder or glob.")
@click.option(
    "--recursive/--no-recursive", default=None, help="Descend into sub-folders of --path, or not."
)
@click.option("--frequency", help="once, minute, hour, day or week.")
@click.option("--interval", type=int, help="Every N frequency units (not with once).")
@click.option("--start-time", type=StartTime(), help="New start: epoch seconds or ISO 8601.")
@click.option(
    "--backfill/--no-backfill", default=None, help="Take files modified before the start time."
)
@click.option("--partial-ingestion-percent", type=float, help="Accept up to X% bad rows.")
@click.option(
    "--error-diagnostics/--no-error-diagnostics", default=None, help="Keep rejected rows."
)
@click.option("--enable/--disable", "enable", default=None, help="Also enable or disable it.")
@click.option("--if-match", metavar="ETAG", help="Change only while the etag is still ETAG.")
@json_option
def update(
    flow: str,
    new_name: str | None,
    description: str | None,
    path: str | None,
    recursive: bool | None,
    frequency: str | None,
    interval: int | None,
    start_time: int | None,
    backfill: bool | None,
    partial_ingestion_percent: float | None,
    error_diagnostics: bool | None,
    enable: bool | None,
    if_match: str | None,
    as_json: bool,
) -> None:
    """Change a flow's name, description, source path, schedule, options or state, all at
    once or not at all; the schedule and options given are merged over the flow's and checked
    as on create, the path as listing checks it."""
    from lakefeed.errors import InvalidRequest

    lf = engine()
    current = lf.flows.flow(flow)
    shown = current.to_dict()
    stored = dict(shown["scheduleParams"])
    given = {
        key: value
        for key, value in (
            ("frequency", frequency),
            ("interval", interval),
            ("startTime", start_time),
            ("backfill", backfill),
        )
        if value is not None
    }
    schedule: dict[str, Any] | None = None
    if given:  # merged over the stored scheduleParams, fields lakefeed does not use included
        schedule = {**stored, **given}
        becomes_once = str(schedule.get("frequency")).lower() == "once"
        if becomes_once and str(stored.get("frequency")).lower() != "once":
            # The old frequency's interval and backfill, unless given now (then refused).
            for key in ("interval", "backfill"):
                if key not in given:
                    schedule.pop(key, None)
        if schedule == stored:
            schedule = None
    options = dict(current.options)
    if partial_ingestion_percent is not None:
        options["partialIngestionPercent"] = partial_ingestion_percent
    if error_diagnostics is not None:
        options["errorDiagnosticsEnabled"] = error_diagnostics
    state = None if enable is None else ("enabled" if enable else "disabled")
    if state == current.state:
        state = None
    source = lf.flows.source_connection(current.source_connection_ids[0])
    if path == source.path:
        path = None
    if recursive == source.recursive:
        recursive = None
    if path is not None and not path.strip():
        raise InvalidRequest("--path is empty.", fix="Give a file, folder or glob.")
    changes: dict[str, Any] = {
        "name": new_name,
        "description": description,
        "schedule": schedule,
        "options": None if options == current.options else options,
        "state": state,
        "path": path,
        "recursive": recursive,
    }
    if all(v is None for v in changes.values()):
        raise InvalidRequest(
            f"Nothing to change in flow {current.name!r}.",
            fix="Give --name, --description, --path, a schedule or option flag, --enable or "
            "--disable.",
        )
    # One call, one transaction: the etag is checked as the change is stored.
    updated = lf.update_flow(current.id, if_match=if_match, **changes)
    if as_json:
        emit_json({"id": updated.id, "etag": updated.etag})
        return
    console().print(f"Updated flow [bold]{escape(updated.name)}[/] ({updated.id})")
    _print_flow(resources(), updated.to_dict())


@flows.command("delete")
@click.argument("flow")
@click.option("--if-match", metavar="ETAG", help="Delete only while the etag is still ETAG.")
@click.option(
    "--with-connections",
    is_flag=True,
    help="Also delete the flow's source and target connections that no other flow uses.",
)
@json_option
def delete(flow: str, if_match: str | None, with_connections: bool, as_json: bool) -> None:
    """Delete a flow and its file ledger; its runs and batches stay, as history. With
    --with-connections also its source and target connections (the NAME-source and
    NAME-target that `flows create` made) when no other flow uses them."""
    lf = engine()
    item = lf.flows.flow(flow)
    removed = lf.delete_flow(item.id, if_match=if_match, with_connections=with_connections)
    if as_json:
        answer: dict[str, Any] = {"deleted": item.id}
        if with_connections:
            answer["deletedConnections"] = [
                {"id": c.id, "name": c.name, "kind": _kind(c)} for c in removed
            ]
        emit_json(answer)
        return
    console().print(f"Deleted flow [bold]{escape(item.name)}[/] ({item.id})")
    for connection in removed:
        console().print(
            f"Deleted {_kind(connection)} connection [bold]{escape(connection.name)}[/] "
            f"({connection.id})"
        )
    if with_connections and not removed:
        console().print("Its source and target connections are used by other flows: kept.")


def _kind(connection: SourceConnection | TargetConnection) -> str:
    from lakefeed.catalog.flows import SourceConnection

    return "source" if isinstance(connection, SourceConnection) else "target"


@flows.command("backlog")
@click.argument("flow")
@click.option("--refresh", is_flag=True, help="List the source now instead of showing the last "
              "listing's figures.")  # fmt: skip
@json_option
def backlog(flow: str, refresh: bool, as_json: bool) -> None:
    """Files the flow has discovered but not ingested yet, and how long the oldest has waited."""
    res = resources()
    item = res.backlog(res.flow(flow), refresh=refresh)
    if as_json:
        emit_json({"items": [item]})
        return
    if item["observedAt"] is None:
        console().print("Not listed yet: the flow has not run. Use --refresh to list it now.")
        return
    age = item["oldestAgeMs"]
    table(
        "Backlog",
        ["files", "bytes", "oldest waiting", "listed (UTC)"],
        [
            (
                item["files"],
                item["bytes"],
                "" if age is None else duration(0, age),
                timestamp(item["observedAt"]),
            )
        ],
    )


def _recursive(source: dict[str, Any]) -> bool:
    return str(source["params"].get("recursive", False)).lower() == "true"


def _schedule(flow: dict[str, Any]) -> str:
    schedule = flow["scheduleParams"]
    if schedule["frequency"] == "once":
        return "once"
    interval = int(schedule.get("interval") or 1)
    plural = "" if interval == 1 else "s"
    return f"every {interval} {schedule['frequency']}{plural}"


def _print_flow(res: Resources, flow: dict[str, Any]) -> None:
    source = res.source_connection(flow["sourceConnectionIds"][0])
    target = res.target_connection(flow["targetConnectionIds"][0])
    base_id, dataset_id = source["baseConnectionId"], target["params"]["dataSetId"]
    connection = res.name_or(res.connection, base_id, "")
    dataset = res.name_or(res.dataset, dataset_id, "")
    schedule = flow["scheduleParams"]
    options = flow.get("options") or {}
    percent = options.get("partialIngestionPercent")
    runs = res.runs(flow["id"])
    last = runs[-1] if runs else None
    rows = [
        ("id", flow["id"]),
        ("name", flow["name"]),
        ("state", flow["state"]),
        ("connection", f"{connection} ({base_id})" if connection else f"{base_id} (deleted)"),
        ("path", source["params"]["path"]),
        ("recursive", _recursive(source)),
        ("format", source["data"].get("format")),
        ("dataset", f"{dataset} ({dataset_id})" if dataset else f"{dataset_id} (deleted)"),
        ("schedule", _schedule(flow)),
        ("start time (UTC)", timestamp(int(schedule["startTime"]) * 1000)),
        (
            "backfill",
            str(schedule.get("backfill", "true")).lower() == "true"
            if schedule["frequency"] != "once"
            else "",
        ),
        ("partial ingestion %", percent or ""),
        ("error diagnostics", bool(options.get("errorDiagnosticsEnabled")) or percent is not None),
        ("runs", len(runs)),
        ("last run", f"{last['id']} {run_outcome(last)}" if last else ""),
        ("next run (UTC)", _next_run(flow, runs)),
    ]
    backlog = res.backlog(flow, refresh=False)
    if backlog["observedAt"] is not None:
        rows.append(("backlog", f"{backlog['files']} files, {backlog['bytes']} bytes"))
    table(f"Flow {flow['name']}", ["field", "value"], rows)


def _next_run(flow: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """When a scheduler runs the flow next: its next boundary after the last scheduled
    window, "due now" when that has passed, "" for a disabled flow or a once flow that ran."""
    import time

    from lakefeed.schedules.windows import next_run_at

    now = time.time()
    due = next_run_at(
        flow["scheduleParams"],
        enabled=flow["state"] == "enabled",
        window_ends=(
            int(r["params"]["windowEndTime"]) for r in runs if "windowEndTime" in r["params"]
        ),
        has_run=bool(runs),
        now=now,
    )
    if due is None:
        return ""
    return "due now" if due <= now else timestamp(due * 1000)
