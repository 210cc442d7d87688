"""``--fields a,b.c``: keep only some fields of what a list or show command prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from lakefeed.errors import InvalidRequest

#: ``ctx.meta`` key holding the parsed ``--fields`` (a tuple of dotted paths), or None.
FIELDS_KEY = "lakefeed.fields"

_MISSING = object()


def select_fields(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """The ``--fields`` callback: ``"id, name,metrics.status"`` → ctx.meta[FIELDS_KEY]."""
    if value is None:
        return
    fields = tuple(f.strip() for f in value.split(",") if f.strip())
    if not fields or any(not all(part for part in f.split(".")) for f in fields):
        raise click.BadParameter(
            f"{value!r} names no fields; write e.g. --fields id,name,metrics.status.",
            param_hint="--fields",
        )
    ctx.meta[FIELDS_KEY] = fields


def _lookup(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def select_item(item: Any, fields: Sequence[str]) -> dict[str, Any]:
    """``item`` with only ``fields``, each under its dotted name (``None`` when absent)."""
    picked = {}
    for path in fields:
        found = _lookup(item, path)
        picked[path] = None if found is _MISSING else found
    return picked


def check_fields(items: Iterable[Any], fields: Sequence[str]) -> None:
    """A field that no item has is a typo: refuse it, naming the fields there are."""
    items = list(items)
    if not items:
        return
    unknown = [f for f in fields if all(_lookup(i, f) is _MISSING for i in items)]
    if unknown:
        known = sorted({k for i in items if isinstance(i, Mapping) for k in i})
        raise InvalidRequest(
            f"--fields: no {', '.join(repr(f) for f in unknown)} in the output "
            f"(its fields: {', '.join(known) or 'none'}).",
            fix="Pick fields from the command's --json output; a.b names a nested one.",
        )


def pick_fields(value: Any, fields: Sequence[str]) -> Any:
    """The list shape ``{"items": [...], ...}`` with each item picked; a show command's one
    entity (``{"items": [entity]}`` or the entity itself) likewise."""
    if isinstance(value, Mapping) and isinstance(value.get("items"), list):
        check_fields(value["items"], fields)
        return {**value, "items": [select_item(i, fields) for i in value["items"]]}
    if isinstance(value, list):
        check_fields(value, fields)
        return [select_item(i, fields) for i in value]
    check_fields([value], fields)
    return select_item(value, fields)


def fields_table(
    value: Any, fields: Sequence[str]
) -> tuple[str | None, list[str], list[list[Any]]]:
    """Title, columns and rows of picked fields as a table: one row per item."""
    from lakefeed.cli.cells import compact

    items = value.get("items") if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        items = [value]
    return None, list(fields), [[compact(i.get(f)) for f in fields] for i in items]
