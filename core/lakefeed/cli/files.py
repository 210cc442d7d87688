"""``lakefeed ls``, ``lakefeed inspect`` and ``lakefeed preview``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from lakefeed.cli.context import engine
from lakefeed.cli.output import (
    console,
    emit_json,
    fields_option,
    human_size,
    json_option,
    stream_json_list,
    table,
)
from lakefeed.cli.ranges import count
from lakefeed.formats import InspectedFile, schemas_agree
from lakefeed.formats.parquet_footer import ParquetFooter
from lakefeed.storage.session import PREVIEW_MAX_ROWS, FileFailure

if TYPE_CHECKING:
    from lakefeed.storage.entries import FileEntry
    from lakefeed.storage.session import StorageSession

_recursive = click.option(
    "--recursive",
    "-r",
    is_flag=True,
    help="Descend into sub-folders; a glob then matches paths below its folder too.",
)


def listed(session: StorageSession, path: str, recursive: bool) -> Iterator[FileEntry]:
    """The files at ``path``; a glob that matches none is :class:`NoFilesMatch`."""
    return session.ls(path, recursive=recursive, require_match=True)


def format_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format NAME`` (read the files as this installed format, ``default`` when absent)
    and ``--option KEY=VALUE`` (the format's ``data.properties``, repeatable)."""
    name = click.option(
        "--format",
        "format_name",
        metavar="NAME",
        help=f"Read the files as this format (its name, a data.format or fileType); default: "
        f"{default}. `lakefeed plugins` lists the installed formats.",
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        return name(format_properties_option(command))

    return decorate


def format_properties(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as ``data.properties``; a value starting with ``[`` is a JSON list."""
    properties: dict[str, Any] = {}
    for pair in values:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint="--option")
        parsed: Any = value
        if value.lstrip().startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                raise click.BadParameter(
                    f"{key}: {value!r} is not a JSON list ({exc}).", param_hint="--option"
                ) from None
        properties[key.strip()] = parsed
    return properties


#: ``--option KEY=VALUE``, repeatable: a format's ``data.properties`` (to ``format_options``).
format_properties_option = click.option(
    "--option",
    "-o",
    "format_options",
    metavar="KEY=VALUE",
    multiple=True,
    callback=format_properties,
    help="How the format reads the files, as data.properties says it: "
    "columnDelimiter=';', encoding=ISO-8859-1, compressionType=gzip, header=false, "
    'nullValues=\'["NA",""]\' (a JSON list)… Repeatable.',
)


@click.command("ls")
@click.argument("connection")
@click.argument("path", default="")
@_recursive
@json_option
@fields_option
def ls_command(connection: str, path: str, recursive: bool, as_json: bool) -> None:
    """List files at PATH: a file, a folder, or a glob such as 'data/*.parquet'.

    PATH starting with '/' is absolute (/bucket/key); otherwise it is relative to the
    connection's root folder. A glob that matches no file is an error (exit 1).
    """
    entries = listed(engine().session(connection), path, recursive)
    if as_json:
        stream_json_list(entries, lambda e: e.to_dict())
        return
    count = total = 0
    rows = []
    for entry in entries:
        count += 1
        total += entry.size
        mtime = entry.mtime.strftime("%Y-%m-%d %H:%M:%S") if entry.mtime else ""
        rows.append((entry.path, human_size(entry.size), mtime, entry.etag or entry.version or ""))
    table(
        None,
        ["path", "size", "modified (UTC)", "etag/version"],
        rows,
        caption=f"{count} files, {human_size(total)}",
    )


@click.command("inspect")
@click.argument("connection")
@click.argument("path", default="")
@_recursive
@click.option(
    "--row-groups", is_flag=True, help="Include per-row-group column statistics (Parquet)."
)
@format_option("the format that recognises PATH's name, else parquet")
@json_option
def inspect_command(
    connection: str,
    path: str,
    recursive: bool,
    row_groups: bool,
    format_name: str | None,
    format_options: dict[str, Any],
    as_json: bool,
) -> None:
    """Inspect the files at PATH without reading their rows: schema and rows (Parquet: from
    the footers, with row groups; delimited and JSON files: from a sample of their first rows).

    Files that are not of the format or are corrupt are reported with the reason; the command
    exits 1 when any file failed.
    """
    lf = engine()
    chosen = lf.file_format_for(path, format_name, format_options)
    session = lf.session(connection)
    results = list(session.inspect_files(listed(session, path, recursive), chosen))
    files = [r for r in results if isinstance(r, InspectedFile)]
    failures = [r for r in results if isinstance(r, FileFailure)]
    agree = schemas_agree(files)
    if as_json:
        rows = [f.num_rows for f in files]
        emit_json(
            {
                "files": [f.to_dict(details=row_groups) for f in files],
                "failures": [f.to_dict() for f in failures],
                "schemasAgree": agree,
                "totalRows": None if None in rows else sum(r or 0 for r in rows),
            }
        )
    else:
        _print_inspection(chosen.label, files, failures, agree, row_groups)
    if failures:
        raise SystemExit(1)


def _print_inspection(
    label: str,
    files: list[InspectedFile],
    failures: list[FileFailure],
    agree: bool,
    row_groups: bool,
) -> None:
    out = console()
    footers = [f for f in files if isinstance(f, ParquetFooter)]
    if footers and len(footers) == len(files):
        table(
            f"{label} files",
            ["path", "rows", "row groups", "size", "columns", "created by"],
            (
                (
                    f.entry.path,
                    f.num_rows,
                    f.num_row_groups,
                    human_size(f.entry.size),
                    len(f.schema),
                    f.created_by,
                )
                for f in footers
            ),
            caption=f"{len(footers)} files, {sum(f.num_rows for f in footers)} rows",
        )
    else:
        known = [f.num_rows for f in files if f.num_rows is not None]
        table(
            f"{label} files",
            ["path", "rows", "size", "columns"],
            (
                (
                    f.entry.path,
                    "" if f.num_rows is None else f.num_rows,
                    human_size(f.entry.size),
                    len(f.schema),
                )
                for f in files
            ),
            caption=f"{len(files)} files, "
            + (f"{sum(known)} rows" if len(known) == len(files) else "rows not counted"),
        )
    schemas: dict[str, list[InspectedFile]] = {}
    for f in files:
        schemas.setdefault(f.schema.to_string(show_schema_metadata=False), []).append(f)
    for i, members in enumerate(schemas.values(), 1):
        title = (
            "Schema"
            if len(schemas) == 1
            else f"Schema {i} ({len(members)} files, e.g. {members[0].entry.name})"
        )
        table(
            title,
            ["column", "type", "nullable"],
            ((fld.name, str(fld.type), fld.nullable) for fld in members[0].schema),
        )
        if row_groups:
            for f in members:
                if not isinstance(f, ParquetFooter):
                    continue
                table(
                    f"Row groups of {f.entry.path}",
                    ["#", "rows", "bytes", "column", "nulls", "min", "max"],
                    (
                        (
                            rg.index,
                            rg.num_rows,
                            rg.total_byte_size,
                            c.path,
                            c.null_count,
                            c.min,
                            c.max,
                        )
                        for rg in f.row_groups
                        for c in rg.columns
                    ),
                )
    if files:
        out.print(
            "[green]All files agree on one schema.[/]"
            if agree
            else f"[yellow]Files disagree: {len(schemas)} different schemas.[/]"
        )
    for failure in failures:
        out.print(
            f"[red]FAILED[/] {escape(failure.entry.path)}: [dim]{failure.error.code}[/] "
            f"{escape(str(failure.error))}"
        )


@click.command("preview")
@click.argument("connection")
@click.argument("file")
@click.option(
    "--rows",
    "-n",
    type=count(0, PREVIEW_MAX_ROWS),
    default=10,
    show_default=True,
    help=f"Rows to show (at most {PREVIEW_MAX_ROWS}).",
)
@format_option("the format that recognises FILE's name, else parquet")
@json_option
def preview_command(
    connection: str,
    file: str,
    rows: int,
    format_name: str | None,
    format_options: dict[str, Any],
    as_json: bool,
) -> None:
    """Show the schema and the first rows of one FILE."""
    lf = engine()
    chosen = lf.file_format_for(file, format_name, format_options)
    preview = lf.session(connection).preview(file, rows=rows, file_format=chosen)
    if as_json:
        emit_json(preview.to_dict())
        return
    names = [f.name for f in preview.schema]

    def cell(value: object) -> object:
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value

    table(
        preview.path,
        [f"{f.name}\n{f.type}" for f in preview.schema],
        ([cell(row.get(n)) for n in names] for row in preview.rows),
        caption=f"first {len(preview.rows)} rows",
    )
