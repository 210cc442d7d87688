"""``lakefeed datasets create|list|show|update|delete|preview|batches``, and table maintenance:
``compact``, ``expire-snapshots``, ``remove-orphans``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.cells import compact, jsonable, timestamp
from lakefeed.cli.context import engine
from lakefeed.cli.output import (
    console,
    emit_json,
    fields_option,
    human_size,
    json_option,
    table,
)
from lakefeed.cli.ranges import count
from lakefeed.cli.resources import resources
from lakefeed.errors import InvalidRequest

if TYPE_CHECKING:
    import pyarrow as pa


LINEAGE_COLUMN = "_lakefeed"


@click.group("datasets")
def datasets() -> None:
    """Datasets: Iceberg tables whose rows follow a registry schema."""


@datasets.command("create")
@click.argument("name")
@click.option(
    "--schema",
    "schema",
    required=True,
    help="Schema $id or meta:altId, or a JSON schema document file.",
)
@click.option("--description", default="", help="Free text.")
@json_option
def create(name: str, schema: str, description: str, as_json: bool) -> None:
    """Create the dataset NAME and its Iceberg table from a registry schema (or a schema
    document file, registered first unless an equal schema exists)."""
    from lakefeed.cli.ingest import _is_document, _schema_from_file

    lf = engine()
    if _is_document(schema):
        schema_id = _schema_from_file(lf, schema, name)
    else:
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
@fields_option
def list_(as_json: bool) -> None:
    """List datasets, oldest first."""
    res = resources()
    items = res.datasets()
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    table(
        "Datasets",
        ["name", "id", "schema", "table", "created (UTC)"],
        (
            (
                d["name"],
                d["id"],
                res.schema_title(d["schemaRef"]["id"]),
                d.get("table", ""),
                timestamp(d.get("created")),
            )
            for d in items
        ),
    )


@datasets.command("show")
@click.argument("dataset")
@json_option
@fields_option
def show(dataset: str, as_json: bool) -> None:
    """Show one dataset: schema, Iceberg table, metadata location and row count."""
    res = resources()
    item = res.dataset(dataset)
    item = {**item, **res.dataset_details(item)}
    if as_json:
        emit_json(item)
        return
    schema_id = item["schemaRef"]["id"]
    rows = [
        ("id", item["id"]),
        ("name", item["name"]),
        ("description", item.get("description", "")),
        ("schema", f"{res.schema_title(schema_id)} ({schema_id})"),
        ("table", item.get("table", "")),
        ("metadata location", item["metadataLocation"]),
        ("current snapshot", item["currentSnapshotId"]),
        ("rows", item["rowCount"]),
        ("batches", item["batchCount"]),
        ("created (UTC)", timestamp(item.get("created"))),
    ]
    if "maintenance" in item:  # a server does not say
        settings = item["maintenance"]
        rows.append(("maintenance", json.dumps(settings) if settings else "off"))
    if "targetFileSize" in item:
        rows.append(("target file size", human_size(item["targetFileSize"])))
    table(f"Dataset {item['name']}", ["field", "value"], rows)


def _tags(current: dict[str, Any], pairs: tuple[str, ...]) -> dict[str, Any]:
    """``current`` with each ``NAME=VALUE[,VALUE…]`` set (``NAME=`` removes the tag)."""
    tags = dict(current)
    for pair in pairs:
        name, sep, values = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidRequest(
                f"--tag {(pair if len(pair) <= 80 else pair[:80] + '…')!r} is not NAME=VALUE.",
                fix="Write e.g. --tag team=growth,ops",
            )
        listed = [v.strip() for v in values.split(",") if v.strip()]
        if listed:
            tags[name.strip()] = listed
        else:
            tags.pop(name.strip(), None)
    return tags


@datasets.command("update")
@click.argument("dataset")
@click.option("--name", "new_name", help="New name (unique).")
@click.option("--description", help="New description ('' clears it).")
@click.option(
    "--tag",
    "tag_pairs",
    multiple=True,
    metavar="NAME=VALUE[,VALUE…]",
    help="Set a tag's values (NAME= removes it); repeatable.",
)
@click.option(
    "--maintenance",
    metavar="JSON",
    help="Scheduled table maintenance settings as a JSON object ('{}' turns it off).",
)
@click.option(
    "--target-file-size",
    metavar="SIZE",
    help="Size the data files of its runs aim at (e.g. 64MiB; default 128MiB): small source "
    "files are gathered into files of this size.",
)
@click.option("--if-match", metavar="ETAG", help="Change only while the etag is still ETAG.")
@json_option
def update(
    dataset: str,
    new_name: str | None,
    description: str | None,
    tag_pairs: tuple[str, ...],
    maintenance: str | None,
    target_file_size: str | None,
    if_match: str | None,
    as_json: bool,
) -> None:
    """Change a dataset's name, description, tags, scheduled maintenance or target data file
    size; its schema never changes."""
    lf = engine()
    current = lf.datasets.get(dataset)
    tags = _tags(current.tags, tag_pairs) if tag_pairs else None
    settings = None if maintenance is None else _maintenance(maintenance)
    size = None
    if target_file_size is not None:
        from lakefeed.datasets.maintenance import parse_size

        size = parse_size(target_file_size)
    nothing = new_name is None and description is None and tags is None and settings is None
    if nothing and size is None:
        raise InvalidRequest(
            f"Nothing to change in dataset {current.name!r}.",
            fix="Give --name, --description, --tag, --maintenance or --target-file-size.",
        )
    updated = lf.update_dataset(
        current.id,
        name=new_name,
        description=description,
        tags=tags,
        if_match=if_match,
        maintenance=settings,
        target_file_size=size,
    )
    if as_json:
        extra = {} if size is None else {"targetFileSize": size}
        emit_json({**updated.to_dict(), "maintenance": updated.maintenance, **extra})
        return
    from rich.markup import escape

    console().print(f"Updated dataset [bold]{escape(updated.name)}[/] ({updated.id})")
    if settings is not None:
        console().print(
            f"Scheduled maintenance: {escape(json.dumps(updated.maintenance))}"
            if updated.maintenance
            else "Scheduled maintenance: off"
        )
    if size is not None:
        console().print(f"Target file size: {human_size(size)}")


def _maintenance(text: str) -> dict[str, Any]:
    try:
        settings = json.loads(text)
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise InvalidRequest(
            f"--maintenance {(text if len(text) <= 80 else text[:80] + '…')!r} is not a JSON "
            "object.",
            fix='Write e.g. --maintenance \'{"compact": true, "expireOlderThan": "7d"}\'.',
        )
    return settings


@datasets.command("delete")
@click.argument("dataset")
@click.option("--if-match", metavar="ETAG", help="Delete only while the etag is still ETAG.")
@json_option
def delete(dataset: str, if_match: str | None, as_json: bool) -> None:
    """Delete a dataset and its Iceberg table (its data); refused while a flow writes to it."""
    lf = engine()
    item = lf.datasets.get(dataset)
    lf.delete_dataset(item.id, if_match=if_match)
    if as_json:
        emit_json({"deleted": item.id})
        return
    from rich.markup import escape

    console().print(f"Deleted dataset [bold]{escape(item.name)}[/] ({item.id})")


@datasets.command("preview")
@click.argument("dataset")
@click.option("--limit", "-n", type=count(), default=10, show_default=True, help="Rows to show.")
@click.option(
    "--columns",
    "-c",
    help="Comma-separated fields to show, nested ones by dotted path (person.name.lastName).",
)
@json_option
def preview(dataset: str, limit: int, columns: str | None, as_json: bool) -> None:
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
    # Structs are shown as one column per leaf; lists and maps stay compact JSON.
    flat = [_flatten(r) for r in rows]
    if columns:
        shown = [c.strip() for c in columns.split(",") if c.strip()]
        known = {key for r in flat for key in r} | {f.name for f in data.schema}
        unknown = [
            c for c in shown if c not in known and not any(k.startswith(c + ".") for k in known)
        ]
        if unknown:
            raise InvalidRequest(
                f"No field {', '.join(map(repr, unknown))} in dataset {item.name!r}.",
                fix="`lakefeed datasets preview NAME --json` shows every field.",
            )
        caption = f"first {len(rows)} rows"
    else:
        # The target schema usually has far more fields than the files fill: show the filled.
        order = list(dict.fromkeys(key for r in flat for key in r))
        shown = [
            key
            for key in order
            if not key.startswith(LINEAGE_COLUMN) and any(r.get(key) is not None for r in flat)
        ]
        caption = f"first {len(rows)} rows; empty fields and {LINEAGE_COLUMN} hidden (see --json)"
    table(
        f"Dataset {item.name}",
        shown,
        (
            [compact(_pick(r, flat_r, key)) for key in shown]
            for r, flat_r in zip(rows, flat, strict=True)
        ),
        caption=caption,
    )


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        path = f"{prefix}{key}"
        # Maps come back as dicts too: flattened by key, which reads as well as a struct.
        if isinstance(value, dict) and value:
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _pick(row: dict[str, Any], flat: dict[str, Any], key: str) -> Any:
    if key in flat:
        return flat[key]
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@datasets.command("batches")
@click.argument("dataset")
@json_option
@fields_option
def batches(dataset: str, as_json: bool) -> None:
    """List the batches written to a dataset, oldest first."""
    lf = engine()
    item = lf.datasets.get(dataset)
    items = lf.batches.list(item.id)
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
                timestamp(b.created_at),
            )
            for b in items
        ),
    )


@datasets.command("compact")
@click.argument("dataset")
@click.option(
    "--target-file-size",
    default="128MiB",
    show_default=True,
    help="Size of the files written; files under 3/4 of it are rewritten (128MiB, 64MB, …).",
)
@click.option(
    "--min-input-files",
    type=count(2),
    default=5,
    show_default=True,
    help="Do nothing unless at least this many files are small.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be rewritten; change nothing.")
@json_option
def compact_(
    dataset: str, target_file_size: str, min_input_files: int, dry_run: bool, as_json: bool
) -> None:
    """Rewrite a dataset's small data files into files of the target size, in one replace
    snapshot: the same rows and lineage, fewer files. Runs may commit meanwhile."""
    from lakefeed.datasets.maintenance import parse_size

    lf = engine()
    item = lf.datasets.get(dataset)
    size = parse_size(target_file_size)
    result = lf.compact_dataset(
        item.id, target_file_bytes=size, min_input_files=min_input_files, dry_run=dry_run
    )
    if as_json:
        emit_json({"dataset": {"id": item.id, "name": item.name}, **result.to_dict()})
        return
    from rich.markup import escape

    name = escape(item.name)
    if not result.rewritten_files:
        console().print(
            f"Nothing to compact in dataset [bold]{name}[/]: fewer than {min_input_files} of "
            f"its {result.files_before} data files are under 3/4 of {human_size(size)}."
        )
        return
    if result.dry_run:
        console().print(
            f"Dry run: would rewrite {result.rewritten_files} of the {result.files_before} "
            f"data files of dataset [bold]{name}[/] ({result.rows} rows) into about "
            f"{result.written_files}. Nothing changed."
        )
        return
    console().print(f"Compacted dataset [bold]{name}[/] in snapshot {result.snapshot_id}")
    table(
        None,
        ["", "data files", "bytes"],
        [
            ("before", result.files_before, human_size(result.bytes_before)),
            ("after", result.files_after, human_size(result.bytes_after)),
        ],
        caption=f"{result.rewritten_files} files ({result.rows} rows) rewritten into "
        f"{result.written_files}",
    )


@datasets.command("expire-snapshots")
@click.argument("dataset")
@click.option(
    "--older-than",
    default="7d",
    show_default=True,
    help="Expire snapshots older than this (90s, 30m, 12h, 7d, 2w).",
)
@click.option(
    "--retain-last",
    type=count(1),
    default=1,
    show_default=True,
    help="Keep at least this many of the newest snapshots (the current one always stays).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be expired; change nothing.")
@json_option
def expire_snapshots(
    dataset: str, older_than: str, retain_last: int, dry_run: bool, as_json: bool
) -> None:
    """Expire a dataset's old snapshots and delete the files only they referenced. The
    snapshots of batches still loading stay (recovery looks them up)."""
    lf = engine()
    item = lf.datasets.get(dataset)
    result = lf.expire_snapshots(
        item.id, older_than=older_than, retain_last=retain_last, dry_run=dry_run
    )
    if as_json:
        emit_json({"dataset": {"id": item.id, "name": item.name}, **result.to_dict()})
        return
    from rich.markup import escape

    name = escape(item.name)
    expired = len(result.expired_snapshots)
    if not expired:
        console().print(
            f"No snapshot of dataset [bold]{name}[/] to expire: none older than {older_than} "
            f"beyond the newest {retain_last} ({result.kept_snapshots} kept)."
        )
    elif result.dry_run:
        console().print(
            f"Dry run: would expire {expired} snapshots of dataset [bold]{name}[/] (keeping "
            f"{result.kept_snapshots}) and delete {result.deleted_files} files. Nothing changed."
        )
    else:
        console().print(
            f"Expired {expired} snapshots of dataset [bold]{name}[/] (kept "
            f"{result.kept_snapshots}); deleted {result.deleted_files} files only they used."
        )
    _report_undeleted(result.failed_files)


@datasets.command("remove-orphans")
@click.argument("dataset")
@click.option(
    "--older-than",
    default="3d",
    show_default=True,
    help="Remove unreferenced files older than this (at least 24h without --force): younger "
    "ones may be a run's or a compaction's, uncommitted.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Allow --older-than under 24h. Dangerous: only when no run or compaction is in "
    "progress on the dataset (their uncommitted files would be deleted).",
)
@json_option
def remove_orphans(
    dataset: str, older_than: str, dry_run: bool, force: bool, as_json: bool
) -> None:
    """Delete the files under a dataset's table that no snapshot or metadata references and
    that are older than the retention (left by crashed runs, failed commits, expiries)."""
    lf = engine()
    item = lf.datasets.get(dataset)
    result = lf.remove_orphan_files(item.id, older_than=older_than, dry_run=dry_run, force=force)
    if as_json:
        emit_json({"dataset": {"id": item.id, "name": item.name}, **result.to_dict()})
        return
    from rich.markup import escape

    name = escape(item.name)
    count, size = len(result.orphans), human_size(result.orphan_bytes)
    kept = f"{result.kept_recent} unreferenced files newer than {older_than} stay"
    if result.dry_run:
        console().print(
            f"Dry run: would remove {count} orphan files ({size}) of dataset [bold]{name}[/]; "
            f"{kept}. Nothing changed."
        )
    else:
        console().print(
            f"Removed {count} orphan files ({size}) of dataset [bold]{name}[/]; {kept}."
        )
    if result.orphans:
        table(None, ["orphan file"], ([location] for location in result.orphans))
    _report_undeleted(result.failed_files)


def _report_undeleted(locations: list[str]) -> None:
    if locations:
        from rich.markup import escape

        console(stderr=True).print(
            f"[yellow]{len(locations)} files could not be deleted[/] (first: "
            f"{escape(locations[0])}); remove-orphans deletes them later."
        )


def _short_type(t: pa.DataType) -> str:
    import pyarrow as pa

    for check, name in ((pa.types.is_struct, "object"), (pa.types.is_map, "map")):
        if check(t):
            return name
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    return str(t).replace("large_", "")
