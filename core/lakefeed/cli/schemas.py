"""``lakefeed schemas create|list|show|update|delete|infer``: the Schema Registry."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import click

from lakefeed.cli.context import engine
from lakefeed.cli.files import format_option
from lakefeed.cli.output import console, emit_json, fields_option, json_option, table
from lakefeed.cli.text_source import read_text_source
from lakefeed.errors import InvalidSchema, LakefeedError
from lakefeed.schema.compose import type_label

TENANT_KINDS = ("schemas", "classes", "fieldgroups", "datatypes")
ALL_KINDS = (*TENANT_KINDS, "behaviors")


@click.group("schemas")
def schemas() -> None:
    """Schema Registry: tenant schemas and their parts, and the global XDM library."""


def read_document(source: str) -> dict[str, Any]:
    """A schema document: a JSON object from a file, or from standard input for ``-``."""
    return read_json_object(
        source,
        what="schema document",
        example='{"title": "…", "type": "object", "allOf": […]}',
        error=InvalidSchema,
    )


def read_json_object(
    source: str, *, what: str, example: str, error: type[LakefeedError]
) -> dict[str, Any]:
    """A JSON object (a ``what``) from a file, or from standard input for ``-`` and ``@-``;
    ``error`` says what is wrong with its text (an unreadable file is :class:`InvalidRequest`)."""
    name = source[1:] if source.startswith("@") and len(source) > 1 else source
    label = "standard input" if name == "-" else repr(name)
    text = read_text_source(
        name,
        f"the {what}",
        fix="Check the path, or pass '-' to read the JSON from standard input.",
    )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"The {what} in {label} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.",
            fix=f"Write one JSON object, e.g. {example}.",
        ) from None
    if not isinstance(document, dict):
        raise error(f"The {what} in {label} is not a JSON object.", fix="Wrap it in {}.")
    return document


@schemas.command("create")
@click.argument("file")
@click.option(
    "--kind",
    type=click.Choice(TENANT_KINDS),
    default="schemas",
    show_default=True,
    help="What the document describes.",
)
@json_option
def create(file: str, kind: str, as_json: bool) -> None:
    """Create a tenant resource from the JSON document in FILE ('-' or '@-': standard input)."""
    created = engine().schemas.create(kind, read_document(file))
    if as_json:
        emit_json(created)
        return
    from rich.markup import escape

    from lakefeed.schema.library import KIND_LABELS

    console().print(f"Created {KIND_LABELS[kind]} [bold]{escape(created['title'])}[/]")
    table(None, ["field", "value"], [("$id", created["$id"]), ("altId", created["meta:altId"])])


@schemas.command("list")
@click.option("--global", "global_", is_flag=True, help="The global container (XDM library).")
@click.option("--kind", type=click.Choice(ALL_KINDS), help="Only this kind (default: all).")
@json_option
@fields_option
def list_(global_: bool, kind: str | None, as_json: bool) -> None:
    """List the tenant's resources, or with --global the built-in XDM ones."""
    registry = engine().schemas
    container = "global" if global_ else "tenant"
    kinds = (
        [kind] if kind else [k for k in ALL_KINDS if k != ("schemas" if global_ else "behaviors")]
    )
    found = [(k, doc) for k in kinds for doc in registry.list(k, container=container)]
    items = [doc for _, doc in found]
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    table(
        f"{container.capitalize()} container",
        ["kind", "title", "altId", "$id"],
        ((k, d["title"], d["meta:altId"], d["$id"]) for k, d in found),
        caption=f"{len(items)} resources",
    )


@schemas.command("show")
@click.argument("id")
@click.option("--full", is_flag=True, help="Resolve every $ref into plain properties.")
@json_option
@fields_option
def show(id: str, full: bool, as_json: bool) -> None:
    """Show the document of ID ($id or meta:altId), or with --full the resolved schema."""
    registry = engine().schemas
    document = registry.resolve(id) if full else registry.get(id)
    if as_json:
        emit_json(document)
        return
    console().print_json(data=document, default=str)


@schemas.command("update")
@click.argument("id")
@click.argument("file")
@click.option("--if-match", metavar="ETAG", help="Replace only while the eTag is still ETAG.")
@json_option
def update(id: str, file: str, if_match: str | None, as_json: bool) -> None:
    """Replace the tenant resource ID with the JSON document in FILE ('-': standard input), as
    PUT does; checked as on create and against what uses it."""
    lf = engine()
    current = lf.schemas.get(id)  # an unknown ID is reported before FILE is read
    updated = lf.update_schema(current["$id"], read_document(file), if_match=if_match)
    if as_json:
        emit_json(updated)
        return
    from rich.markup import escape

    console().print(f"Updated [bold]{escape(updated['title'])}[/] ({updated['$id']})")


@schemas.command("delete")
@click.argument("id")
@click.option("--if-match", metavar="ETAG", help="Delete only while the eTag is still ETAG.")
@json_option
def delete(id: str, if_match: str | None, as_json: bool) -> None:
    """Delete the tenant resource ID; refused while a dataset or another resource uses it."""
    current = engine().delete_schema(id, if_match=if_match)
    if as_json:
        emit_json({"deleted": current["$id"]})
        return
    from rich.markup import escape

    console().print(f"Deleted [bold]{escape(current['title'])}[/] ({current['$id']})")


@schemas.command("infer")
@click.argument("connection")
@click.argument("path")
@click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders.")
@click.option("--title", help="Title of the schema to create (default: CONNECTION:PATH).")
@click.option("--create", "create_", is_flag=True, help="Register the inferred schema.")
@format_option("the format that recognises PATH's name, else parquet")
@json_option
def infer(
    connection: str,
    path: str,
    recursive: bool,
    title: str | None,
    create_: bool,
    format_name: str | None,
    format_options: dict[str, Any],
    as_json: bool,
) -> None:
    """Infer XDM fields from the schemas of the files at PATH (Parquet: their footers);
    --create registers the schema."""
    from rich.markup import escape

    from lakefeed.schema.infer import infer_fields
    from lakefeed.storage.session import FileFailure

    lf = engine()
    chosen = lf.file_format_for(path, format_name, format_options)
    session = lf.session(connection)
    results = list(
        session.inspect(path, recursive=recursive, file_format=chosen, require_match=True)
    )
    fields = infer_fields(
        results,
        file_kind=chosen.label,
        where=f"{path!r} on {connection!r}",
        fix="Check the path with `lakefeed inspect`.",
    )
    properties, required, footers = fields.properties, fields.required, fields.files
    failures = [r for r in results if isinstance(r, FileFailure)]
    created = None
    if create_:
        created = lf.schemas.create_inferred_schema(
            title or f"{connection}:{path}",
            properties,
            required=required,
            description=f"Inferred from {path!r} on {connection!r}.",
        )
    if as_json:
        emit_json(
            {
                "properties": properties,
                "required": required,
                "files": [f.entry.path for f in footers],
                "failures": [f.to_dict() for f in failures],
                **({"schema": created} if created else {}),
            }
        )
        return
    table(
        "Inferred fields",
        ["field", "type", "required"],
        _fields(properties, required, ""),
        caption=f"from {len(footers)} files",
    )
    err = console(stderr=True)
    for failure in failures:
        err.print(
            f"[yellow]Skipped[/] {escape(failure.entry.path)}: {failure.error.code} "
            f"{escape(str(failure.error))}"
        )
    if created:
        console().print(f"Created schema [bold]{escape(created['title'])}[/]: {created['$id']}")


def _fields(
    properties: Mapping[str, Any], required: list[str], prefix: str
) -> Iterator[tuple[str, str, str]]:
    for name, sub in properties.items():
        yield f"{prefix}{name}", type_label(sub), "yes" if name in required else ""
        if "properties" in sub:
            yield from _fields(sub["properties"], sub.get("required", []), f"{prefix}{name}.")
