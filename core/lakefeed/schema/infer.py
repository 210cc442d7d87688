"""XDM field definitions inferred from the Arrow schema of Parquet files.

``to_arrow({"type": "object", "properties": p, "required": r})`` of an inferred ``(p, r)`` gives
back the file's schema up to normalisation: every string type becomes ``string``, every
timestamp ``timestamp[us, UTC]``, ``date64`` becomes ``date32``, floats become ``double``, and
list items are nullable. Integer widths are kept through ``meta:xdmType``;
unsigned integers become the narrowest signed type that holds them (``uint64`` becomes
``long``, whose values above 2**63-1 are then rejected row by row).

Decimals stay exact: ``decimal(p, s)`` becomes a ``number`` with ``"meta:xdmType": "decimal"``,
``"meta:precision": p`` and ``"meta:scale": s`` (see :mod:`lakefeed.schema.arrow`). Only one
wider than Iceberg allows (precision above 38, or a negative scale) becomes a double, whose
lossy values each run counts. Binary, time, duration, interval, union and other types have no XDM
equivalent and are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.errors import InvalidSchema
from lakefeed.schema.arrow import MAX_DECIMAL_PRECISION, describe, field_type

if TYPE_CHECKING:
    from lakefeed.formats import InspectedFile

_SIGNED = {8: "byte", 16: "short", 32: "int", 64: "long"}
_UNSIGNED = {8: "short", 16: "int", 32: "long", 64: "long"}
_INTEGER_WIDTH = {"byte": 8, "short": 16, "int": 32, "long": 64}
_INTEGER_DIGITS = {"byte": 3, "short": 5, "int": 10, "long": 19}
_FIX = (
    "Cast the column to a supported type in the file (string, integer, floating point, "
    "boolean, date, timestamp, struct, list or map with string keys) or write the schema "
    "by hand."
)


def infer_properties(schema: pa.Schema) -> tuple[dict[str, Any], list[str]]:
    """The XDM ``properties`` and ``required`` of a file's schema: a field is required when
    its column is not nullable; nested objects carry their own ``required``.

    Raises :class:`~lakefeed.errors.InvalidSchema` naming the first column whose type XDM
    cannot describe.
    """
    return _properties(list(schema), "")


def merge_inferred(
    schemas: Sequence[pa.Schema], sources: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The ``properties`` and ``required`` that every one of several files conforms to.

    A field is required only when it is present and non-nullable in every file. Integer widths
    widen to the widest, and integers meeting floats become ``number``; any other difference
    in type raises :class:`~lakefeed.errors.InvalidSchema` naming the column, both types and
    the files (``sources`` names them, by default ``file 1``, ``file 2``, …).
    """
    if not schemas:
        raise InvalidSchema("There is no file schema to infer properties from.")
    names = list(sources) if sources is not None else []
    names += [f"file {i + 1}" for i in range(len(names), len(schemas))]
    first_seen: dict[str, str] = {}
    merged: dict[str, Any] | None = None
    for schema, name in zip(schemas, names, strict=False):
        properties, required = infer_properties(schema)
        current = {"type": "object", "properties": properties, "required": required}
        _record(current, "", name, first_seen)
        merged = current if merged is None else _merge(merged, current, "", name, first_seen)
    assert merged is not None
    return merged["properties"], merged["required"]


def _properties(fields: list[pa.Field], prefix: str) -> tuple[dict[str, Any], list[str]]:
    properties = {f.name: _subschema(f.type, f"{prefix}{f.name}") for f in fields}
    return properties, [f.name for f in fields if not f.nullable]


def _subschema(t: pa.DataType, path: str) -> dict[str, Any]:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return {"type": "string", "meta:xdmType": "string"}
    if pa.types.is_signed_integer(t):
        return {"type": "integer", "meta:xdmType": _SIGNED[t.bit_width]}
    if pa.types.is_unsigned_integer(t):
        return {"type": "integer", "meta:xdmType": _UNSIGNED[t.bit_width]}
    if pa.types.is_decimal(t) and t.precision <= MAX_DECIMAL_PRECISION and t.scale >= 0:
        return _decimal(t.precision, t.scale)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return {"type": "number", "meta:xdmType": "number"}
    if pa.types.is_boolean(t):
        return {"type": "boolean", "meta:xdmType": "boolean"}
    if pa.types.is_date(t):
        return {"type": "string", "format": "date", "meta:xdmType": "date"}
    if pa.types.is_timestamp(t):
        return {"type": "string", "format": "date-time", "meta:xdmType": "date-time"}
    if pa.types.is_struct(t) and t.num_fields:
        properties, required = _properties(list(t), f"{path}.")
        sub: dict[str, Any] = {"type": "object", "meta:xdmType": "object", "properties": properties}
        return {**sub, "required": required} if required else sub
    if pa.types.is_map(t) and _is_string_key(t.key_type):
        values = _subschema(t.item_type, f"{path}.*")
        return {"type": "object", "meta:xdmType": "map", "additionalProperties": values}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return {
            "type": "array",
            "meta:xdmType": "array",
            "items": _subschema(t.value_type, f"{path}[]"),
        }
    if pa.types.is_null(t):
        raise InvalidSchema(
            f"Column '{path}' has no values (null type), so its type cannot be inferred.",
            fix="Write the column with a type in the file or write the schema by hand.",
        )
    raise InvalidSchema(f"Column '{path}' is {describe(t)}, which XDM cannot describe.", fix=_FIX)


def _is_string_key(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _record(sub: dict[str, Any], path: str, name: str, first_seen: dict[str, str]) -> None:
    """Remember ``name`` as the file each field path was first seen in."""
    first_seen.setdefault(path, name)
    for child, child_sub in sub.get("properties", {}).items():
        _record(child_sub, f"{path}.{child}" if path else child, name, first_seen)
    if "items" in sub:
        _record(sub["items"], f"{path}[]", name, first_seen)
    if "additionalProperties" in sub:
        _record(sub["additionalProperties"], f"{path}.*", name, first_seen)


def _merge(
    old: dict[str, Any], new: dict[str, Any], path: str, name: str, first_seen: dict[str, str]
) -> dict[str, Any]:
    kind_old, kind_new = _kind(old), _kind(new)
    if kind_old == kind_new == "object":
        properties = dict(old["properties"])
        for child, sub in new["properties"].items():
            child_path = f"{path}.{child}" if path else child
            if child in properties:
                properties[child] = _merge(properties[child], sub, child_path, name, first_seen)
            else:
                properties[child] = sub
        required = [n for n in old.get("required", []) if n in new.get("required", [])]
        merged = {**old, "properties": properties, "required": required}
        return merged if required or not path else _without(merged, "required")
    if kind_old == kind_new == "map":
        values = _merge(
            old["additionalProperties"], new["additionalProperties"], f"{path}.*", name, first_seen
        )
        return {**old, "additionalProperties": values}
    if kind_old == kind_new == "array":
        return {**old, "items": _merge(old["items"], new["items"], f"{path}[]", name, first_seen)}
    if kind_old == kind_new == "integer":
        widest = max(old["meta:xdmType"], new["meta:xdmType"], key=_INTEGER_WIDTH.__getitem__)
        return {**old, "meta:xdmType": widest}
    if "decimal" in (kind_old, kind_new) and {kind_old, kind_new} <= {"decimal", "integer"}:
        return _widest_decimal(old, new)
    if {kind_old, kind_new} <= {"integer", "number", "decimal"}:
        return {"type": "number", "meta:xdmType": "number"}
    if kind_old == kind_new:
        return old
    raise InvalidSchema(
        f"Column '{path}' is {describe(field_type(new, path))} in {name} "
        f"but {describe(field_type(old, path))} in {first_seen.get(path, 'an earlier file')}.",
        fix="Cast the column to one type in every file, or infer the schema from one file "
        "and edit it by hand.",
    )


def _decimal(precision: int, scale: int) -> dict[str, Any]:
    return {
        "type": "number",
        "meta:xdmType": "decimal",
        "meta:precision": precision,
        "meta:scale": scale,
    }


def _widest_decimal(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A decimal that holds every value of two decimals, or of a decimal and an integer; a
    double when that needs more than 38 digits."""
    integer_digits, scale = 0, 0
    for sub in (old, new):
        if sub["meta:xdmType"] == "decimal":
            integer_digits = max(integer_digits, sub["meta:precision"] - sub["meta:scale"])
            scale = max(scale, sub["meta:scale"])
        else:
            integer_digits = max(integer_digits, _INTEGER_DIGITS[sub["meta:xdmType"]])
    if integer_digits + scale > MAX_DECIMAL_PRECISION:
        return {"type": "number", "meta:xdmType": "number"}
    return _decimal(integer_digits + scale, scale)


def _kind(sub: dict[str, Any]) -> str:
    """``type`` with ``format`` and map told apart: ``string/date``, ``map``, ``integer``…"""
    if sub.get("meta:xdmType") in ("map", "decimal"):
        return str(sub["meta:xdmType"])
    return f"{sub['type']}/{sub['format']}" if "format" in sub else str(sub["type"])


def _without(sub: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if k != key}


@dataclass(frozen=True)
class InferredFields:
    """What the files at a path say a schema's fields are: ``properties`` and ``required``
    (as :func:`merge_inferred` gives them), and the files they come from."""

    properties: dict[str, Any]
    required: list[str]
    files: list[InspectedFile]


def infer_fields(
    inspected: Iterable[object], *, file_kind: str, where: str, fix: str
) -> InferredFields:
    """The fields of the files ``inspected`` (what a storage session's ``inspect`` yields;
    files that failed are left out). :class:`InvalidSchema` when none could be read (of kind
    ``file_kind``, at ``where``; ``fix`` says what to do), :class:`ReservedColumnName` when
    they have lakefeed's own lineage column."""
    from lakefeed.datasets.iceberg import check_no_system_column
    from lakefeed.formats import InspectedFile

    files = [r for r in inspected if isinstance(r, InspectedFile)]
    if not files:
        raise InvalidSchema(
            f"No readable {file_kind} file at {where} to infer a schema from.", fix=fix
        )
    properties, required = merge_inferred(
        [f.typed_schema() for f in files], [f.entry.path for f in files]
    )
    check_no_system_column(properties, f"The {file_kind} data at {where}")
    return InferredFields(properties, required, files)
