"""``lakefeed ls``, ``lakefeed inspect`` and ``lakefeed preview``."""

from __future__ import annotations

import json

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import (
    console,
    emit_json,
    human_size,
    json_option,
    stream_json_array,
    table,
)
from lakefeed.storage.parquet import ParquetFooter, schemas_agree
from lakefeed.storage.session import FileFailure

_recursive = click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders.")


@click.command("ls")
@click.argument("connection")
@click.argument("path", default="")
@_recursive
@json_option
def ls_command(connection: str, path: str, recursive: bool, as_json: bool) -> None:
    """List files at PATH: a file, a folder, or a glob such as 'data/*.parquet'.

    PATH starting with '/' is absolute (/bucket/key); otherwise it is relative to the
    connection's root folder.
    """
    entries = engine().session(connection).ls(path, recursive=recursive)
    if as_json:
        stream_json_array(entries, lambda e: e.to_dict())
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
@click.option("--row-groups", is_flag=True, help="Include per-row-group column statistics.")
@json_option
def inspect_command(
    connection: str, path: str, recursive: bool, row_groups: bool, as_json: bool
) -> None:
    """Read the Parquet footers at PATH (no row data): schema, rows, row groups.

    Files that are not Parquet or are corrupt are reported with the reason; the command exits
    1 when any file failed.
    """
    results = list(engine().session(connection).inspect(path, recursive=recursive))
    footers = [r for r in results if isinstance(r, ParquetFooter)]
    failures = [r for r in results if isinstance(r, FileFailure)]
    agree = schemas_agree(footers)
    if as_json:
        emit_json(
            {
                "files": [f.to_dict(row_groups=row_groups) for f in footers],
                "failures": [f.to_dict() for f in failures],
                "schemasAgree": agree,
                "totalRows": sum(f.num_rows for f in footers),
            }
        )
    else:
        _print_inspection(footers, failures, agree, row_groups)
    if failures:
        raise SystemExit(1)


def _print_inspection(
    footers: list[ParquetFooter], failures: list[FileFailure], agree: bool, row_groups: bool
) -> None:
    out = console()
    table(
        "Parquet files",
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
    schemas: dict[str, list[ParquetFooter]] = {}
    for f in footers:
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
    if footers:
        out.print(
            "[green]All files agree on one schema.[/]"
            if agree
            else f"[yellow]Files disagree: {len(schemas)} different schemas.[/]"
        )
    for failure in failures:
        out.print(
            f"[red]FAILED[/] {failure.entry.path}: [dim]{failure.error.code}[/] {failure.error}"
        )


@click.command("preview")
@click.argument("connection")
@click.argument("file")
@click.option("--rows", "-n", default=10, show_default=True, help="Rows to show (at most 100).")
@json_option
def preview_command(connection: str, file: str, rows: int, as_json: bool) -> None:
    """Show the schema and the first rows of one Parquet FILE."""
    preview = engine().session(connection).preview(file, rows=rows)
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
