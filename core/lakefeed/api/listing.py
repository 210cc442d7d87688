"""Flow Service list semantics over entity dicts: ``property`` filters, ``orderby``, ``limit``
with a ``continuationToken`` in ``_links.next.href``, and ``count``.

``property=a.b==x`` (``,`` separates values: OR; the parameter repeated: AND), ``!=``, and
``>``, ``<``, ``>=``, ``<=`` on numbers; ``name`` (present) and ``!name`` (absent); arrays
addressed with ``[]`` (``sourceConnectionIds[]==x``) match when any element does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from lakefeed.errors import InvalidRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_EXPRESSION = re.compile(
    r"^(?P<path>!?[A-Za-z0-9_.$@\[\]-]+?)(?:(?P<op>==|!=|>=|<=|>|<)(?P<value>.*))?$"
)


def _values(entity: Any, path: str) -> list[Any]:
    """Every value at ``path`` (``a.b``, ``a[].b``) in ``entity``."""
    current = [entity]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        found = []
        for item in current:
            if isinstance(item, Mapping) and key in item:
                value = item[key]
                if many and isinstance(value, list):
                    found.extend(value)
                else:
                    found.append(value)
        current = found
    return current


#: A parsed ``property`` filter: path, operator (None: the path must exist, or with ``!``
#: must not) and the values it is compared with.
Filter = tuple[str, str | None, list[str]]


def _compare(actual: Any, op: str, wanted: str) -> bool:
    if op in ("==", "!="):
        text = "true" if actual is True else "false" if actual is False else str(actual)
        equal = text.lower() == wanted.lower()  # Adobe filters runs by "Failed" too
        return equal if op == "==" else not equal
    try:
        left, right = float(actual), float(wanted)
    except (TypeError, ValueError):
        return False
    return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]


def parse_filter(expression: str) -> Filter:
    match = _EXPRESSION.match(expression.strip())
    if not match:
        raise InvalidRequest(
            f"Invalid property filter {expression!r}.",
            fix="Use property=path==value (e.g. property=flowId==<id>).",
        )
    values = [v.strip().strip('"').strip("'") for v in (match["value"] or "").split(",")]
    if match["op"] in (">", "<", ">=", "<=") and len(values) != 1:
        raise InvalidRequest(
            f"A comparison takes one value: {expression!r}.", fix="Drop the commas."
        )
    return match["path"], match["op"], values


def matches(entity: Mapping[str, Any], filters: Sequence[Filter]) -> bool:
    """Whether ``entity`` passes every filter (parsed by :func:`parse_filter`)."""
    for path, op, wanted in filters:
        if op is None:
            present = bool(_values(entity, path.lstrip("!")))
            if present == path.startswith("!"):
                return False
            continue
        found = _values(entity, path)
        if op == "!=":
            if any(_compare(v, "==", w) for v in found for w in wanted):
                return False
        elif not any(_compare(v, op, w) for v in found for w in wanted):
            return False
    return True


def order(entities: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    if not orderby:
        return entities
    descending = orderby.startswith("-")
    field = orderby.lstrip("+-").strip()
    if not field or not re.match(r"^[A-Za-z0-9_.]+$", field):
        raise InvalidRequest(f"Invalid orderby {orderby!r}.", fix="Use orderby=-createdAt.")

    def key(entity: dict[str, Any]) -> tuple[int, Any]:
        values = _values(entity, field)
        value = values[0] if values else None
        if value is None:
            return (1, "")
        return (0, value if isinstance(value, int | float) else str(value))

    return sorted(entities, key=key, reverse=descending)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError
        return offset
    except ValueError:
        raise InvalidRequest(
            "Invalid continuationToken.", fix="Copy it from the previous page's _links.next.href."
        ) from None


def page(
    entities: Iterable[dict[str, Any]],
    *,
    path: str,
    properties: Sequence[str],
    orderby: str | None,
    limit: int | None,
    continuation_token: str | None,
    count: bool,
    extra_query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The list response: ``{"items", "_links"}``, or ``{"count"}`` when asked."""
    if limit is not None and count:
        raise InvalidRequest("limit and count cannot be combined.", fix="Drop one of them.")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}.", fix="Use a smaller page.")
    filters = [parse_filter(expression) for expression in properties]
    kept = order([e for e in entities if matches(e, filters)], orderby)
    if count:
        return {"count": len(kept)}
    size = limit or DEFAULT_LIMIT
    start = _offset(continuation_token)
    items = kept[start : start + size]
    links: dict[str, Any] = {}
    if start + size < len(kept):
        query: list[tuple[str, str]] = [("property", p) for p in properties]
        if orderby:
            query.append(("orderby", orderby))
        query.append(("limit", str(size)))
        query.extend((extra_query or {}).items())
        query.append(("continuationToken", _token(start + size)))
        links["next"] = {"href": f"{path}?{urlencode(query)}"}
    return {"items": items, "_links": links}
