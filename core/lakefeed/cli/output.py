"""Output helpers: rich tables for people, ``--json`` for programs, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from lakefeed.errors import LakefeedError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False, highlight=False)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def print_error(exc: LakefeedError) -> None:
    from rich.markup import escape

    message = f"[bold red]Error[/] [dim]{exc.code}[/]: {escape(exc.message)}"
    if exc.fix:
        message += f"\n[yellow]Fix:[/] {escape(exc.fix)}"
    console(stderr=True).print(message)


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=title, caption=caption)
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*(escape("" if v is None else str(v)) for v in row))
    console().print(t)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def stream_json_array(items: Iterable[Any], to_dict: Callable[[Any], Any]) -> None:
    """One JSON array written item by item, so a huge listing never sits in memory."""
    out = sys.stdout
    first = True
    out.write("[")
    for item in items:
        out.write(
            ("\n  " if first else ",\n  ")
            + json.dumps(to_dict(item), default=str, ensure_ascii=False)
        )
        first = False
    out.write("]\n" if first else "\n]\n")
    out.flush()
