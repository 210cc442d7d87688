"""Output helpers: rich tables for people, ``--json`` for programs, errors on stderr.

Every list prints ``{"items": [...], "count": N}`` under ``--json``; ``--fields`` (list and
show commands) keeps only the named fields; under ``--json`` an error is one JSON object on
standard error, ``{"error": {"code", "title", "message", "fix"}}``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from lakefeed.cli.fields import (
    FIELDS_KEY,
    check_fields,
    fields_table,
    pick_fields,
    select_fields,
    select_item,
)
from lakefeed.errors import InternalError, LakefeedError
from lakefeed.values import human_size as human_size  # the CLI's commands import it here

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")

#: ``ctx.meta`` key: the command line asked for ``--json`` (errors go out as JSON too).
JSON_KEY = "lakefeed.json"
#: ``ctx.meta`` key: ``--fields`` without ``--json``, so the picked fields print as a table.
FIELDS_TABLE_KEY = "lakefeed.fields-table"
#: Width of output that is not a terminal (a pipe, a log file): long enough never to wrap.
UNWRAPPED_WIDTH = 10_000


def fields_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--fields A,B.C`` on a list or show command: only these fields (dotted paths into
    each item), as JSON with ``--json``, else as a table. The command must take ``as_json``."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if ctx.meta.get(FIELDS_KEY) and not kwargs.get("as_json"):
            ctx.meta[FIELDS_TABLE_KEY] = True
            kwargs["as_json"] = True  # the command hands over its JSON; it prints as a table
        return command(*args, **kwargs)

    return click.option(
        "--fields",
        metavar="A,B.C",
        expose_value=False,
        callback=select_fields,
        help="Only these fields (comma-separated; a.b for a nested one): JSON with --json, "
        "else a table.",
    )(run)


#: What a name from someone else's storage may hold that would drive a terminal rather than
#: be read: C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides and
#: isolates (which show text in another order than it has).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every character of :data:`_UNPRINTABLE` written as its escape
    (``\\x1b``, ``\\u202e``): an object named with an escape sequence cannot recolour, move
    or retitle the terminal of whoever lists it."""
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


class PrintableFormatter(logging.Formatter):
    """Log lines as :func:`printable` writes them: lakefeed logs the names of files in other
    people's storage, which may hold terminal escapes."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def log_printably(level: int) -> None:
    """Log ``level`` and above on standard error through :class:`PrintableFormatter` (the
    scheduler, and ``lakefeed serve``); nothing changes when logging is set up already."""
    handler = logging.StreamHandler()
    handler.setFormatter(PrintableFormatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


#: What JSON itself leaves unescaped of :data:`_UNPRINTABLE` (it escapes the C0 controls).
_UNPRINTABLE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def to_json(value: Any, **options: Any) -> str:
    """``value`` as JSON text for a terminal or a program: UTF-8 as it is, but the characters
    :func:`printable` escapes are ``\\uXXXX`` escapes (the same value to a JSON reader)."""
    text = json.dumps(value, default=str, ensure_ascii=False, **options)
    return _UNPRINTABLE_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def console(stderr: bool = False) -> Any:
    """A rich console whose every printed string goes through :func:`printable` first. Output
    that is not a terminal (a pipe, a log) is not wrapped at 80 columns, unless COLUMNS sets a
    width."""
    from rich.console import Console

    class PrintableConsole(Console):
        def render_str(self, text: str, **options: Any) -> Any:
            return super().render_str(printable(text), **options)

    out = PrintableConsole(stderr=stderr, soft_wrap=False, highlight=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = UNWRAPPED_WIDTH
    return out


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def emit_json(value: Any) -> None:
    """``value`` as JSON (``--fields``: only those fields; without ``--json`` as a table)."""
    meta = _meta()
    fields = meta.get(FIELDS_KEY)
    if fields:
        value = pick_fields(value, fields)
        if meta.get(FIELDS_TABLE_KEY):
            table(*fields_table(value, fields))
            return
    click.echo(to_json(value, indent=2))


def print_error(exc: LakefeedError) -> None:
    """The error on standard error: its message and fix, or under ``--json`` one JSON object
    ``{"error": {"code", "title", "message", "fix"}}``."""
    if _meta().get(JSON_KEY):
        click.echo(to_json({"error": error_dict(exc)}), err=True)
        return
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

    # Titles and captions hold names people chose ('bad[/]name'): text, never markup.
    t = Table(
        title=None if title is None else escape(title),
        caption=None if caption is None else escape(caption),
    )
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*(escape(cell_text(v)) for v in row))
    console().print(t)


class Lines(tuple[Any, ...]):
    """A table cell of several lines, one per item (a rejected row's error codes)."""


def cell_text(value: Any) -> str:
    """A table cell's text on one line: a line break in a value (a file named ``a\\n…``) is
    shown as ``\\n``, so no name can draw what looks like another row. :class:`Lines` are
    one line per item."""
    if isinstance(value, Lines):
        return "\n".join(cell_text(item) for item in value)
    text = "" if value is None else str(value)
    return text.replace("\r", "\\r").replace("\n", "\\n")


def stream_json_list(items: Iterable[Any], to_dict: Callable[[Any], Any]) -> None:
    """The list shape ``{"items": [...], "count": N}`` written item by item, so a huge listing
    never sits in memory (``--fields`` without ``--json``: a table, which holds it all).

    An error before the first item leaves standard output empty. An error after it cannot take
    back what was written: the document is closed with the items so far, their ``count`` and
    the ``error`` (as on standard error), so standard output still holds one valid JSON object
    and a program tells a cut listing by its ``error`` key (and the exit code, 1)."""
    meta = _meta()
    fields = meta.get(FIELDS_KEY)
    if fields and meta.get(FIELDS_TABLE_KEY):
        emit_json({"items": [to_dict(item) for item in items]})
        return
    out = sys.stdout
    count = 0
    try:
        for item in items:  # nothing is written before the first item: an error may come first
            value = _picked(to_dict(item), fields, first=count == 0)
            out.write(('{"items": [\n  ' if count == 0 else ",\n  ") + to_json(value))
            count += 1
    except Exception as exc:
        if count:
            error = to_json(error_dict(exc))
            out.write(f'\n], "count": {count}, "error": {error}}}\n')
            out.flush()
        raise
    out.write(('{"items": []' if count == 0 else "\n]") + f', "count": {count}}}\n')
    out.flush()


def stream_json_lines(items: Iterable[Any]) -> None:
    """One JSON object per line (``--json-lines``), with only the ``--fields`` if given."""
    fields = _meta().get(FIELDS_KEY)
    for count, item in enumerate(items):
        click.echo(to_json(_picked(item, fields, first=count == 0)))


def _picked(value: Any, fields: Sequence[str] | None, *, first: bool) -> Any:
    if not fields:
        return value
    if first:  # the items share one shape: a field the first lacks is a typo
        check_fields([value], fields)
    return select_item(value, fields)


def error_dict(exc: BaseException) -> dict[str, Any]:
    """``exc`` as the ``error`` object of ``--json`` (an unforeseen one: ``InternalError``)."""
    if not isinstance(exc, LakefeedError):
        exc = internal_error(exc) if isinstance(exc, Exception) else LakefeedError(str(exc))
    return {"code": exc.code, "title": exc.title, "message": exc.message, "fix": exc.fix}


def internal_error(exc: Exception) -> InternalError:
    """An unforeseen exception as :class:`InternalError`: its type, and for a database error the
    driver's own message (never the statement or its parameters, which may hold secrets)."""
    kind = type(exc).__name__
    detail = ""
    orig = getattr(exc, "orig", None)  # sqlalchemy's DBAPIError: the driver's exception
    if isinstance(orig, Exception):
        detail = f": {type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else ''}"
    return InternalError(
        f"lakefeed failed unexpectedly ({kind}{detail}).",
        fix="If the message names the database, check the lakefeed.db of --home/LAKEFEED_HOME; "
        "otherwise run again with LAKEFEED_DEBUG=1 for the traceback and report it.",
    )
