"""``lakefeed mappings create|list|show|update|validate|preview|delete``: Data Prep mapping sets, in
the local home or, with ``--server``, on a lakefeed server (the same JSON either way)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.cells import compact, timestamp
from lakefeed.cli.output import console, emit_json, fields_option, json_option, table
from lakefeed.cli.ranges import count
from lakefeed.cli.schemas import read_json_object
from lakefeed.errors import InvalidRequest

if TYPE_CHECKING:
    from lakefeed.client import Client
    from lakefeed.engine import Lakefeed
    from lakefeed.storage.session import Preview

Entity = dict[str, Any]
#: Sample rows ``preview`` maps by default, and at most (what a file preview reads).
SAMPLE_ROWS = 10
MAX_SAMPLE_ROWS = 100


@click.group("mappings")
def mappings() -> None:
    """Data Prep mapping sets: how source fields and expressions fill a schema's fields."""


class MappingSets:
    """Mapping sets in the local home (``lf``) or on a server (``client``): entity dicts."""

    def __init__(self, lf: Lakefeed | None = None, client: Client | None = None) -> None:
        self.lf = lf
        self.client = client

    def create(self, body: Entity) -> Entity:
        if self.client is not None:
            return self.client.mapping_set(self.client.create_mapping_set(body)["id"])
        assert self.lf is not None
        return self.lf.create_mapping_set(body).to_dict()

    def list(self) -> list[Entity]:
        if self.client is not None:
            return list(self.client.mapping_sets(order_by="createdDate"))
        assert self.lf is not None
        return [s.to_dict() for s in self.lf.mapping_sets(order_by="createdDate")]

    def show(self, id: str, version: int | None) -> Entity:
        if self.client is not None:
            return self.client.mapping_set(id, version)
        assert self.lf is not None
        return self.lf.mapping_set(id, version).to_dict()

    def validate(self, body: Entity, data: Any) -> Entity:
        if self.client is not None:
            return self.client.validate_mapping_set(body, data)
        assert self.lf is not None
        return self.lf.validate_mapping_set(body, data=data).to_dict()

    def preview(self, body: Entity, data: Any) -> Entity:
        if self.client is not None:
            return self.client.preview_mapping_set(body, data)
        assert self.lf is not None
        return self.lf.preview_mapping_set(body, data).to_dict()

    def update(self, id: str, body: Entity) -> Entity:
        if self.client is not None:
            return self.client.update_mapping_set(id, body)
        assert self.lf is not None
        return self.lf.update_mapping_set(id, body).to_dict()

    def delete(self, id: str) -> None:
        if self.client is not None:
            self.client.delete_mapping_set(id)
            return
        assert self.lf is not None
        self.lf.delete_mapping_set(id)


def mapping_sets() -> MappingSets:
    """The server of ``--server``, else the local engine."""
    from lakefeed.cli.context import LazyEngine, engine

    lazy = click.get_current_context().find_object(LazyEngine)
    if lazy is not None and lazy.remote is not None:
        return MappingSets(client=lazy.client())
    return MappingSets(lf=engine())


def read_mapping_set(source: str) -> Entity:
    """A mapping set's JSON object from a file, or from standard input for ``-``."""
    return read_json_object(
        source,
        what="mapping set",
        example='{"outputSchema": {…}, "mappings": […]}',
        error=InvalidRequest,
    )


def read_sample(path: str, rows: int) -> Preview:
    """The schema and first ``rows`` rows of a local file, read by the installed format that
    recognises its name (Parquet otherwise), as ``lakefeed preview`` reads it."""
    from lakefeed.plugins import get_plugins
    from lakefeed.storage.session import StorageSession

    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise InvalidRequest(f"No file {path!r}.", fix="Give the path of a sample data file.")
    plugins = get_plugins()
    local = plugins.source_type("local-files")
    auth = local.auth_params({"rootPath": str(file.parent)})
    session = StorageSession(local, auth, formats=plugins.formats())
    return session.preview(file.name, rows=rows)


def sample_schema(sample: Preview) -> Entity:
    """A JSON schema of the sample file's columns (``inputSchema.jsonSchema``)."""
    from lakefeed.schema.infer import infer_properties

    properties, _ = infer_properties(sample.schema)
    return {"type": "object", "properties": properties}


# --- commands --------------------------------------------------------------------------------


@mappings.command("create")
@click.argument("file")
@json_option
def create(file: str, as_json: bool) -> None:
    """Store the mapping set in FILE ('-': standard input) as version 0 of a new one. Refused,
    naming the mapping, for bad syntax, an unknown function or a destination the output
    schema lacks."""
    created = mapping_sets().create(read_mapping_set(file))
    if as_json:
        emit_json(created)
        return
    from rich.markup import escape

    label = f" [bold]{escape(created['name'])}[/]" if created.get("name") else ""
    console().print(f"Created mapping set{label} {created['id']} (version {created['version']})")
    _print_mappings(created)


@mappings.command("list")
@json_option
@fields_option
def list_(as_json: bool) -> None:
    """List mapping sets (their latest versions), oldest first."""
    items = mapping_sets().list()
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    table(
        "Mapping sets",
        ["id", "name", "version", "output schema", "mappings", "modified (UTC)"],
        (
            (
                s["id"],
                s.get("name", ""),
                s["version"],
                s["outputSchema"]["schemaRef"]["id"],
                len(s["mappings"]),
                timestamp(s.get("modifiedDate")),
            )
            for s in items
        ),
    )


@mappings.command("show")
@click.argument("id")
@click.option("--version", "version", type=count(), help="This version (default: latest).")
@json_option
@fields_option
def show(id: str, version: int | None, as_json: bool) -> None:
    """Show one version of a mapping set and its mappings."""
    item = mapping_sets().show(id, version)
    if as_json:
        emit_json(item)
        return
    rows = [
        ("id", item["id"]),
        ("name", item.get("name", "")),
        ("version", item["version"]),
        ("output schema", item["outputSchema"]["schemaRef"]["id"]),
        ("input schema", compact(item.get("inputSchema", ""))),
        ("created (UTC)", f"{timestamp(item['createdDate'])} by {item['createdBy']}"),
        ("modified (UTC)", f"{timestamp(item['modifiedDate'])} by {item['modifiedBy']}"),
    ]
    table(f"Mapping set {item['id']}", ["field", "value"], rows)
    _print_mappings(item)


def _print_mappings(item: Entity) -> None:
    table(
        None,
        ["source type", "source", "destination", "name"],
        (
            (m["sourceType"], m["source"], m["destination"], m.get("name", ""))
            for m in item["mappings"]
        ),
    )


@mappings.command("validate")
@click.argument("file")
@click.option(
    "--source-file",
    "source_file",
    metavar="PATH",
    help="A sample data file: its columns are the source schema the mappings' sources must "
    "name (instead of the mapping set's inputSchema).",
)
@json_option
def validate(file: str, source_file: str | None, as_json: bool) -> None:
    """Check the mapping set in FILE without storing it: syntax, functions, destinations in
    the output schema and, with a source schema, the source attributes. Exits 1 when it has
    problems."""
    body = read_mapping_set(file)
    if source_file is not None:
        body = {**body, "inputSchema": {"jsonSchema": sample_schema(read_sample(source_file, 0))}}
    result = mapping_sets().validate(body, None)
    failed = result["status"] != "SUCCESS"
    if as_json:
        emit_json(result)
    else:
        _print_validation(body, result)
    if failed:
        click.get_current_context().exit(1)


def _print_validation(body: Entity, result: Entity) -> None:
    rows = []
    checks = result["validationResponse"]
    for mapping, check in zip(body.get("mappings") or [], checks, strict=True):
        problems = "; ".join(e["exception"] for e in check.get("errors") or [])
        source = mapping.get("source", mapping.get("sourceAttribute", ""))
        destination = mapping.get("destination", mapping.get("destinationXdmPath", ""))
        rows.append((check["status"], source, destination, problems))
    table("Mappings", ["status", "source", "destination", "problems"], rows)
    from rich.markup import escape

    for error in result.get("errors") or []:
        console().print(f"[red]Problem[/]: {escape(error['exception'])}")
    if not result.get("sourceSchemaChecked"):
        console().print(
            "Source attributes not checked: give --source-file, or an inputSchema in the file."
        )
    console().print("Valid." if result["status"] == "SUCCESS" else "[red]Not valid.[/]")


@mappings.command("preview")
@click.argument("file")
@click.option(
    "--sample",
    "sample",
    metavar="PATH",
    required=True,
    help="A data file (Parquet, or another installed format) whose first rows are mapped.",
)
@click.option(
    "--rows",
    "-n",
    type=click.IntRange(min=1, max=MAX_SAMPLE_ROWS),
    default=SAMPLE_ROWS,
    show_default=True,
    help=f"Sample rows to map (at most {MAX_SAMPLE_ROWS}).",
)
@json_option
def preview(file: str, sample: str, rows: int, as_json: bool) -> None:
    """Map the first rows of a sample data file with the mapping set in FILE, without storing
    anything; shows the mapped rows and the values that failed."""
    body = read_mapping_set(file)
    data = read_sample(sample, rows).rows
    result = mapping_sets().preview(body, data)
    if as_json:
        emit_json(result)
        return
    flat = [_flatten(r) for r in result["data"]]
    columns = list(dict.fromkeys(key for r in flat for key in r))
    table(
        "Mapped rows",
        ["row", *columns],
        ([str(i), *(compact(r.get(c)) for c in columns)] for i, r in enumerate(flat)),
        caption=f"{len(flat)} rows",
    )
    if result["errors"]:
        table(
            "Values that failed",
            ["row", "destination", "problem"],
            (
                (e.get("row", ""), e.get("destination", ""), e["exception"])
                for e in result["errors"]
            ),
        )


def _flatten(row: Entity, prefix: str = "") -> Entity:
    out: Entity = {}
    for key, value in row.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@mappings.command("update")
@click.argument("id")
@click.argument("file")
@json_option
def update(id: str, file: str, as_json: bool) -> None:
    """Store the mapping set in FILE ('-': standard input) as the next version of mapping set
    ID, checked as on create; older versions stay for the flows that name them."""
    updated = mapping_sets().update(id, read_mapping_set(file))
    if as_json:
        emit_json(updated)
        return
    console().print(f"Updated mapping set {updated['id']} (version {updated['version']})")
    _print_mappings(updated)


@mappings.command("delete")
@click.argument("id")
@json_option
def delete(id: str, as_json: bool) -> None:
    """Delete a mapping set, every version of it; refused while a flow applies it."""
    mapping_sets().delete(id)
    if as_json:
        emit_json({"deleted": id})
        return
    console().print(f"Deleted mapping set {id}")
