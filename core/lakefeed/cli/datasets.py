"""``lakefeed datasets create|list|show|preview|batches``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lakefeed.cli.cells import compact, jsonable, timestamp
from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, json_option, table

if TYPE_CHECKING:
    import pyarrow as pa

    from lakefeed.datasets.store import Dataset
    from lakefeed.engine import Lakefeed

LINEAGE_COLUMN = "_lakefeed"


@click.group("datasets")
def datasets() -> None:
    """Datasets: Iceberg tables whose rows follow a registry schema."""


@datasets.command("create")
@click.argument("name")
@click.option("--schema", "schema", required=True, help="Schema $id or meta:altId.")
@click.option("--description", default="", help="Free text.")
@json_option
def create(name: str, schema: str, description: str, as_json: bool) -> None:
    """Create the dataset NAME and its Iceberg table from a registry schema."""
    lf = engine()
    schema_id = lf.schemas.get(schema)["$id"]  # stored as $id, however it was given
    dataset = lf.datasets.create(name, schema_id, description=description)
    if as_json:
        emit_json(dataset.to_dict())
        return
    from rich.markup import escape

    console().print(f"Created dataset [bold]{escape(dataset.name)}[/] ({dataset.id})")
    table(None, ["field", "value"], [("schema", schema_id), ("table", dataset.table_identifier)])


@datasets.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List datasets, oldest first."""
    lf = engine()
    items = lf.datasets.list()
    if as_json:
        emit_json({"items": [d.to_dict() for d in items], "count": len(items)})
        return
    table(
        "Datasets",
        ["name", "id", "schema", "table", "created (UTC)"],
        (
            (d.name, d.id, _schema_title(lf, d), d.table_identifier, timestamp(d.row["created_at"]))
            for d in items
        ),
    )


@datasets.command("show")
@click.argument("dataset")
@json_option
def show(dataset: str, as_json: bool) -> None:
    """Show one dataset: schema, Iceberg table, metadata location and row count."""
    lf = engine()
    item = lf.datasets.get(dataset)
    iceberg = lf.datasets.table(item)
    snapshot = iceberg.current_snapshot()
    summary = snapshot.summary if snapshot is not None and snapshot.summary else {}
    extra = {
        "metadataLocation": iceberg.metadata_location,
        "currentSnapshotId": snapshot.snapshot_id if snapshot is not None else None,
        "rowCount": int(summary.get("total-records", 0)),
        "batchCount": len(lf.runs.list_batches(item.id)),
    }
    if as_json:
        emit_json(item.to_dict(**extra))
        return
    rows = [
        ("id", item.id),
        ("name", item.name),
        ("description", item.description),
        ("schema", f"{_schema_title(lf, item)} ({item.schema_id})"),
        ("table", item.table_identifier),
        ("metadata location", extra["metadataLocation"]),
        ("current snapshot", extra["currentSnapshotId"]),
        ("rows", extra["rowCount"]),
        ("batches", extra["batchCount"]),
        ("created (UTC)", timestamp(item.row["created_at"])),
    ]
    table(f"Dataset {item.name}", ["field", "value"], rows)


@datasets.command("preview")
@click.argument("dataset")
@click.option(
    "--limit", "-n", type=click.IntRange(min=0), default=10, show_default=True, help="Rows to show."
)
@json_option
def preview(dataset: str, limit: int, as_json: bool) -> None:
    """Show the first rows of a dataset, as of its latest commit."""
    lf = engine()
    item = lf.datasets.get(dataset)
    data = lf.datasets.read(item, limit=limit)
    rows = [jsonable(r) for r in data.to_pylist(maps_as_pydicts="lossy")]
    if as_json:
        emit_json(
            {
                "dataset": {"id": item.id, "name": item.name},
                "schema": {
                    "columns": [
                        {"name": f.name, "type": str(f.type), "nullable": f.nullable}
                        for f in data.schema
                    ]
                },
                "data": rows,
            }
        )
        return
    # The target schema usually has far more fields than the files fill: show the filled ones.
    shown = [
        f
        for f in data.schema
        if f.name != LINEAGE_COLUMN and any(r.get(f.name) is not None for r in rows)
    ]
    hidden = len(data.schema) - len(shown)
    table(
        f"Dataset {item.name}",
        [f"{f.name}\n{_short_type(f.type)}" for f in shown],
        ([compact(r.get(f.name)) for f in shown] for r in rows),
        caption=f"first {len(rows)} rows; {hidden} empty or lineage columns hidden (see --json)",
    )


@datasets.command("batches")
@click.argument("dataset")
@json_option
def batches(dataset: str, as_json: bool) -> None:
    """List the batches written to a dataset, oldest first."""
    lf = engine()
    item = lf.datasets.get(dataset)
    items = lf.runs.list_batches(item.id)
    if as_json:
        emit_json({"items": [b.to_dict() for b in items], "count": len(items)})
        return
    table(
        f"Batches of {item.name}",
        ["id", "status", "rows in", "rows out", "rows failed", "created (UTC)"],
        (
            (
                b.id,
                b.status,
                b.metrics.get("inputRecordCount", ""),
                b.metrics.get("outputRecordCount", ""),
                b.metrics.get("failedRecordCount", ""),
                timestamp(b.row["created_at"]),
            )
            for b in items
        ),
    )


def _schema_title(lf: Lakefeed, dataset: Dataset) -> str:
    from lakefeed.errors import SchemaNotFound

    try:
        return str(lf.schemas.get(dataset.schema_id)["title"])
    except SchemaNotFound:
        return "(schema deleted)"


def _short_type(t: pa.DataType) -> str:
    import pyarrow as pa

    for check, name in ((pa.types.is_struct, "object"), (pa.types.is_map, "map")):
        if check(t):
            return name
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    return str(t).replace("large_", "")
