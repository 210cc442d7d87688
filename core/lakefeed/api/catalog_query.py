"""Catalog list semantics over objects (dicts), as Adobe's filter guide describes them.

- simple filters ``field=a,b`` (any of the values) and ``field=!a,b`` (none of them); ``name``
  takes ``*`` wildcards (``**`` is a literal asterisk);
- ``property=<condition>`` (repeatable, AND): ``field`` (present), ``!field`` (absent),
  ``field==x``, ``field!=x``, ``field~regex`` (RE2), ``field<x``, ``<=``, ``>``, ``>=`` (numbers
  numerically, versions part by part, other text as text);
- ``tags=name:value,other:*`` (AND; ``*`` in a value is a wildcard);
- ``orderBy=name,desc:created`` (fields in turn; ``asc:`` is the default);
- ``properties=a,b``: top-level fields kept, the key stays the id.

A query parameter the route does not declare, or one sent twice that takes one value (all but
``property``), is refused by :func:`known_query_only`. Client patterns go through
:mod:`lakefeed.api.matching`, never Python's ``re``.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request

from lakefeed.api.matching import Wildcard, re2_search, sort_key, value_at
from lakefeed.errors import InvalidRequest, UnsupportedQueryParameter

#: A filter over a Catalog object.
Condition = Callable[[Mapping[str, Any]], bool]
#: The longest ``~`` pattern taken.
MAX_PATTERN = 200
_CONDITION = re.compile(
    r"^(?P<field>!?[A-Za-z0-9_.@-]+?)(?:(?P<op>==|!=|<=|>=|<|>|~)(?P<value>.*))?$"
)


def known_query_only(request: Request) -> None:
    """Refuse (400, naming them) query parameters the matched route does not declare."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    accepted = _query_names(dependant)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in accepted]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise UnsupportedQueryParameter(
            f"Unknown query parameter {names} for {request.method} {request.url.path} "
            f"(accepted: {', '.join(sorted(accepted, key=str.lower)) or 'none'}).",
            fix="Drop it, or check its spelling against the REST reference.",
        )
    repeatable = _query_names(dependant, lists_only=True)
    repeated = [
        name
        for name in dict.fromkeys(request.query_params)
        if name not in repeatable and len(request.query_params.getlist(name)) > 1
    ]
    if repeated:
        names = ", ".join(repr(name) for name in repeated)
        raise InvalidRequest(
            f"Query parameter {names} is sent more than once for {request.method} "
            f"{request.url.path} (it takes one value; only property= repeats).",
            fix="Send it once, with its values comma-separated (name=a,b).",
        )


def _query_names(dependant: Any, *, lists_only: bool = False) -> set[str]:
    """The query parameters a route declares, its dependencies' included (``lists_only``:
    those that take several values, such as ``property``)."""
    names = {
        param.alias
        for param in dependant.query_params
        if not lists_only or _is_list(param.field_info.annotation)
    }
    for sub in dependant.dependencies:
        names |= _query_names(sub, lists_only=lists_only)
    return names


def _is_list(annotation: Any) -> bool:
    """Whether a parameter's type is a list (or an optional one)."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidRequest(
            f"{name}={text!r} is not a number.", fix=f"Give {name} a number (epoch ms for times)."
        ) from None


def simple_filter(
    name: str, text: str, path: str | None = None, *, numeric: bool = False, wildcard: bool = False
) -> Condition:
    """``name=a,b`` on the field at ``path`` (default: ``name``): any value matches; with a
    leading ``!``, none may."""
    negate = text.startswith("!")
    values = [v.strip() for v in text.removeprefix("!").split(",") if v.strip()]
    if not values:
        raise InvalidRequest(f"{name} needs a value.", fix=f"Use {name}=<value>.")
    field = path or name
    if numeric:
        numbers = {_number(v, name) for v in values}

        def matches(obj: Mapping[str, Any]) -> bool:
            actual = value_at(obj, field)
            return isinstance(actual, int | float) and float(actual) in numbers

    elif wildcard:
        patterns = [Wildcard.parse(v) for v in values]

        def matches(obj: Mapping[str, Any]) -> bool:
            return any(p.matches(str(value_at(obj, field))) for p in patterns)

    else:
        texts = {v.strip('"') for v in values}

        def matches(obj: Mapping[str, Any]) -> bool:
            actual = value_at(obj, field)
            return actual is not None and str(actual).strip('"') in texts

    return (lambda obj: not matches(obj)) if negate else matches


def _ordered(left: Any, right: str) -> tuple[Any, Any] | None:
    """Both sides in one comparable form: numbers, dotted versions, or text."""
    if isinstance(left, bool) or left is None or isinstance(left, Mapping | list):
        return None
    try:
        return float(left), float(right)
    except (TypeError, ValueError):
        pass
    versions = [str(left).split("."), right.split(".")]
    if all(p.isdigit() for parts in versions for p in parts):
        return tuple(map(int, versions[0])), tuple(map(int, versions[1]))
    return str(left), right


def property_filter(expression: str) -> Condition:
    """One ``property=`` condition."""
    match = _CONDITION.match(expression.strip())
    if not match or (match["op"] and match["field"].startswith("!")):
        raise InvalidRequest(
            f"Invalid property condition {expression!r}.",
            fix="Use property=name, property=!name, property=name==x, name!=x, name~regex, "
            "or name<x, <=, >, >=.",
        )
    field, op, value = match["field"], match["op"], (match["value"] or "")
    if op is None:
        absent = field.startswith("!")
        return lambda obj: (value_at(obj, field.lstrip("!")) is None) == absent
    if op == "~":
        if len(value) > MAX_PATTERN:
            raise InvalidRequest(
                f"The pattern of property={expression[:40]!r}… is longer than {MAX_PATTERN}.",
                fix="Use a shorter regular expression.",
            )
        matcher = re2_search(value, f"property={expression[:60]!r}")

        def found(obj: Mapping[str, Any]) -> bool:
            actual = value_at(obj, field)
            return actual is not None and matcher(str(actual))

        return found
    if op in ("==", "!="):
        wanted = value.strip('"')

        def equal(obj: Mapping[str, Any]) -> bool:
            actual = value_at(obj, field)
            return actual is not None and str(actual).strip('"') == wanted

        return equal if op == "==" else (lambda obj: not equal(obj))

    def compare(obj: Mapping[str, Any]) -> bool:
        pair = _ordered(value_at(obj, field), value)
        if pair is None:
            return False
        left, right = pair
        try:
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        except TypeError:
            return False

    return compare


def tags_filter(text: str) -> Condition:
    """``tags=name:value,other:*``: every pair must match a value of that tag."""
    wanted: list[tuple[str, Wildcard]] = []
    for pair in (p.strip() for p in text.split(",")):
        name, colon, value = pair.partition(":")
        if not name or not colon or not value:
            raise InvalidRequest(
                f"Invalid tags filter {pair!r}.", fix="Use tags=<name>:<value> (value may be *)."
            )
        wanted.append((name, Wildcard.parse(value)))

    def matches(obj: Mapping[str, Any]) -> bool:
        tags = obj.get("tags") or {}
        for name, pattern in wanted:
            values = tags.get(name) if isinstance(tags, Mapping) else None
            if values is None:
                return False
            listed = values if isinstance(values, list) else [values]
            if not any(pattern.matches(_text(v)) for v in listed):
                return False
        return True

    return matches


def _text(value: Any) -> str:
    """A tag value as text: ``true``, ``5`` (also for ``5.0``), the string itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_order_by(
    order_by: str | None, allowed: Sequence[str], default: str
) -> list[tuple[str, bool]]:
    """``name,desc:created`` → ``[("name", False), ("created", True)]``."""
    order = []
    for part in (order_by or default).split(","):
        direction, _, field = part.strip().rpartition(":")
        if direction not in ("", "asc", "desc") or field not in allowed:
            raise InvalidRequest(
                f"Invalid orderBy {order_by!r}.",
                fix=f"Use asc:<field> or desc:<field> (comma-separated) with fields of "
                f"{', '.join(allowed)}.",
            )
        order.append((field, direction == "desc"))
    return order


def sort(objects: list[dict[str, Any]], order: Sequence[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Sorted by each field in turn (absent values last), ties by id in the first field's
    direction (so a descending list is the ascending one reversed)."""

    def compare(left: Mapping[str, Any], right: Mapping[str, Any]) -> int:
        for field, descending in [*order, ("id", bool(order) and order[0][1])]:
            a, b = value_at(left, field), value_at(right, field)
            if a is None or b is None:
                if (a is None) != (b is None):
                    return 1 if a is None else -1
                continue
            ka, kb = sort_key(a), sort_key(b)
            if ka != kb:
                return (-1 if ka < kb else 1) * (-1 if descending else 1)
        return 0

    return sorted(objects, key=functools.cmp_to_key(compare))


def keyed(objects: Iterable[Mapping[str, Any]], properties: str | None) -> dict[str, Any]:
    """Catalog objects keyed by id, each cut to ``properties`` when given."""
    wanted = wanted_properties(properties)
    return {
        obj["id"]: {k: v for k, v in obj.items() if k in wanted} if wanted else dict(obj)
        for obj in objects
    }


def wanted_properties(properties: str | None) -> list[str]:
    return [p.strip() for p in (properties or "").split(",") if p.strip()]


def refuse(name: str, why: str, fix: str) -> UnsupportedQueryParameter:
    """A documented filter lakefeed cannot honour: refused, naming it."""
    return UnsupportedQueryParameter(f"The filter {name!r} is not supported: {why}.", fix=fix)
