"""The fields of a target schema with the XDM rules their values must satisfy.

A :class:`TargetField` tree mirrors the Arrow target schema; each scalar field carries the rules
(``enum``, ``format``, ``pattern``, lengths and bounds) of its XDM definition. A rule is checked
on a whole converted column at once and answers with a mask of the values that break it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import InvalidSchema

# The WHATWG "valid e-mail address", with a dot required in the domain as AEP does.
EMAIL_REGEX = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# URIs are checked lightly: a scheme for ``uri``, no whitespace for either.
URI_REGEX = r"^[A-Za-z][A-Za-z0-9+.\-]*:\S*$"
URI_REFERENCE_REGEX = r"^\S*$"

_FORMATS = {
    "email": (EMAIL_REGEX, "is not a valid email address"),
    "uri": (URI_REGEX, "is not a valid URI"),
    "uri-reference": (URI_REFERENCE_REGEX, "is not a valid URI reference"),
}
_BOUNDS = {
    "minimum": ("less", "is less than the minimum"),
    "exclusiveMinimum": ("less_equal", "is not greater than the exclusive minimum"),
    "maximum": ("greater", "is greater than the maximum"),
    "exclusiveMaximum": ("greater_equal", "is not less than the exclusive maximum"),
}
_LENGTHS = {
    "minLength": ("less", "is shorter than the minimum length"),
    "maxLength": ("greater", "is longer than the maximum length"),
}


class Rule(Protocol):
    """One XDM constraint on the values of a field."""

    @property
    def problem(self) -> str:
        """Completes "<field>: <value> …", e.g. "is not a valid email address"."""
        ...

    def violations(self, values: pa.Array) -> pa.Array:
        """A boolean mask, true where a non-null value breaks the rule (never null)."""
        ...


@dataclass(frozen=True)
class OneOf:
    allowed: pa.Array
    problem: str

    def violations(self, values: pa.Array) -> pa.Array:
        return pc.and_(values.is_valid(), pc.invert(pc.is_in(values, value_set=self.allowed)))


@dataclass(frozen=True)
class Matches:
    regex: str
    problem: str

    def violations(self, values: pa.Array) -> pa.Array:
        return pc.invert(pc.match_substring_regex(values, pattern=self.regex)).fill_null(False)


@dataclass(frozen=True)
class Bound:
    comparison: str  # a pyarrow.compute comparison that is true for violating values
    limit: pa.Scalar
    measure_length: bool
    problem: str

    def violations(self, values: pa.Array) -> pa.Array:
        measured = pc.utf8_length(values) if self.measure_length else values
        return pc.call_function(self.comparison, [measured, self.limit]).fill_null(False)


@dataclass(frozen=True)
class TargetField:
    """A field of the target schema. ``element`` describes list items and map values."""

    name: str
    path: str  # as messages name it: ``person.name.firstName``, ``subscriptions[].status``
    type: pa.DataType
    nullable: bool
    rules: tuple[Rule, ...] = ()
    children: tuple[TargetField, ...] = ()
    element: TargetField | None = None


def compile_fields(
    schema: pa.Schema, properties: Mapping[str, Any] | None = None
) -> tuple[TargetField, ...]:
    """The target fields of ``schema``, with rules from the resolved XDM ``properties`` the
    schema was made from (``None``: types and nullability only)."""
    return tuple(
        _compile(f.name, f.name, f.type, f.nullable, _sub(properties, f.name)) for f in schema
    )


def _sub(properties: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    sub = properties.get(name) if properties is not None else None
    return sub if isinstance(sub, Mapping) else None


def _compile(
    name: str, path: str, t: pa.DataType, nullable: bool, xdm: Mapping[str, Any] | None
) -> TargetField:
    if pa.types.is_struct(t):
        props = xdm.get("properties") if xdm else None
        children = tuple(
            _compile(f.name, f"{path}.{f.name}", f.type, f.nullable, _sub(props, f.name)) for f in t
        )
        return TargetField(name, path, t, nullable, children=children)
    if pa.types.is_map(t):
        values = xdm.get("additionalProperties") if xdm else None
        element = _compile(name, f"{path}.*", t.item_type, True, values)
        return TargetField(name, path, t, nullable, element=element)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        items = xdm.get("items") if xdm else None
        element = _compile(name, f"{path}[]", t.value_type, True, items)
        return TargetField(name, path, t, nullable, element=element)
    rules = _rules(path, t, xdm) if xdm else ()
    return TargetField(name, path, t, nullable, rules=rules)


def _rules(path: str, t: pa.DataType, xdm: Mapping[str, Any]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    is_string = pa.types.is_string(t) or pa.types.is_large_string(t)
    if isinstance(xdm.get("enum"), list):
        allowed = _enum_values(path, t, xdm["enum"])
        shown = ", ".join(str(v) for v in xdm["enum"])
        rules.append(OneOf(allowed, f"is not one of {shown}"))
    if is_string and xdm.get("format") in _FORMATS:
        rules.append(Matches(*_FORMATS[xdm["format"]]))
    if is_string and isinstance(xdm.get("pattern"), str):
        pattern = xdm["pattern"]
        _check_regex(path, pattern)
        rules.append(Matches(pattern, f"does not match the pattern {pattern!r}"))
    if is_string:
        for keyword, (comparison, problem) in _LENGTHS.items():
            if isinstance(xdm.get(keyword), int):
                limit = pa.scalar(xdm[keyword], pa.int32())
                rules.append(Bound(comparison, limit, True, f"{problem} {xdm[keyword]}"))
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        for keyword, (comparison, problem) in _BOUNDS.items():
            value = xdm.get(keyword)
            if isinstance(value, int | float) and not isinstance(value, bool):
                rules.append(Bound(comparison, pa.scalar(value), False, f"{problem} {value}"))
    return tuple(rules)


def _enum_values(path: str, t: pa.DataType, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values).cast(t)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidSchema(
            f"The enum of field '{path}' has values that are not of its type {t}: {values!r}."
        ) from exc


def _check_regex(path: str, pattern: str) -> None:
    try:
        pc.match_substring_regex(pa.array([""]), pattern=pattern)
    except pa.ArrowInvalid as exc:
        raise InvalidSchema(
            f"The pattern of field '{path}' ({pattern!r}) cannot be checked: {exc}.",
            fix="Use the RE2 regular-expression syntax (no look-around or back-references).",
        ) from exc
