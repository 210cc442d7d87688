"""A resolved XDM schema (the Schema Registry's ``xed-full`` view) as an Arrow schema.

Only types and nullability are mapped: a field is non-nullable exactly when its name is in its
parent's ``required``. Constraints (``enum``, ``pattern``, ``minimum``, …) are not copied into
Arrow metadata; :mod:`lakefeed.schema.rules` applies them to rows.

A ``number`` is a double, unless it is a decimal: ``"meta:xdmType": "decimal"`` with
``"meta:precision"`` (1 to 38, Iceberg's limit) and ``"meta:scale"`` (0 to the precision,
default 0) is ``decimal128(precision, scale)``, kept exactly. XDM has no exact number type; this
is lakefeed's extension of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from lakefeed.errors import InvalidSchema

TIMESTAMP = pa.timestamp("us", tz="UTC")

INTEGER_TYPES: dict[str, pa.DataType] = {
    "long": pa.int64(),
    "int": pa.int32(),
    "short": pa.int16(),
    "byte": pa.int8(),
}
_XDM_INTEGER_NAMES = {str(t): name for name, t in INTEGER_TYPES.items()}

# meta:xdmType values allowed on each JSON Schema type (None: no meta:xdmType given).
_ALLOWED_XDM_TYPES: dict[str, set[str | None]] = {
    "string": {None, "string", "date", "date-time"},
    "integer": {None, *INTEGER_TYPES},
    "number": {None, "number", "double", "float", "decimal"},
    "boolean": {None, "boolean"},
    "object": {None, "object", "map"},
    "array": {None, "array"},
}


def to_arrow(resolved: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema of a resolved XDM schema, fields in ``properties`` order.

    Raises :class:`~lakefeed.errors.InvalidSchema` naming the field path of the first construct
    that has no Arrow equivalent.
    """
    properties = resolved.get("properties")
    if resolved.get("type", "object") != "object" or not isinstance(properties, Mapping):
        raise InvalidSchema(
            "A resolved schema must be an object with 'properties'.",
            fix="Pass the Schema Registry's xed-full view of the schema.",
        )
    return pa.schema(_fields(properties, resolved.get("required", ()), ""))


def field_type(subschema: Mapping[str, Any], path: str) -> pa.DataType:
    """The Arrow type of one resolved subschema; ``path`` names it in errors."""
    if not isinstance(subschema, Mapping):
        raise InvalidSchema(f"Field '{path}' is not a JSON Schema object.")
    for keyword in ("$ref", "allOf", "anyOf", "oneOf"):
        if keyword in subschema:
            raise InvalidSchema(
                f"Field '{path}' uses '{keyword}', which a resolved schema cannot contain.",
                fix="Resolve the schema first (the Schema Registry's xed-full view).",
            )
    json_type = subschema.get("type")
    xdm_type = subschema.get("meta:xdmType")
    if not isinstance(json_type, str) or json_type not in _ALLOWED_XDM_TYPES:
        raise InvalidSchema(
            f"Field '{path}' has type {json_type!r}; supported types are "
            "string, integer, number, boolean, object and array.",
        )
    if xdm_type not in _ALLOWED_XDM_TYPES[json_type]:
        raise InvalidSchema(
            f"Field '{path}' has type '{json_type}' with meta:xdmType {xdm_type!r}, "
            f"which do not go together.",
        )
    if json_type == "string":
        kind = subschema.get("format") if xdm_type in (None, "string") else xdm_type
        if kind == "date":
            return pa.date32()
        if kind == "date-time":
            return TIMESTAMP
        return pa.string()
    if json_type == "integer":
        return INTEGER_TYPES[xdm_type or "long"]
    if json_type == "number":
        return _decimal_type(subschema, path) if xdm_type == "decimal" else pa.float64()
    if json_type == "boolean":
        return pa.bool_()
    if json_type == "array":
        items = subschema.get("items")
        if not isinstance(items, Mapping):
            raise InvalidSchema(f"Array field '{path}' has no 'items' schema.")
        return pa.list_(field_type(items, f"{path}[]"))
    return _object_type(subschema, path)


#: The largest precision of an Iceberg decimal (and of Arrow's decimal128).
MAX_DECIMAL_PRECISION = 38


def _decimal_type(subschema: Mapping[str, Any], path: str) -> pa.DataType:
    precision, scale = subschema.get("meta:precision"), subschema.get("meta:scale", 0)
    fits = (
        isinstance(precision, int)
        and isinstance(scale, int)
        and not isinstance(precision, bool)
        and not isinstance(scale, bool)
        and 1 <= precision <= MAX_DECIMAL_PRECISION
        and 0 <= scale <= precision
    )
    if not fits:
        raise InvalidSchema(
            f"Decimal field '{path}' has meta:precision {precision!r} and meta:scale "
            f"{scale!r}; a decimal needs a whole precision from 1 to "
            f"{MAX_DECIMAL_PRECISION} and a scale from 0 to the precision.",
            fix="Set meta:precision and meta:scale, or make the field a plain number (double).",
        )
    return pa.decimal128(precision, scale)


def _object_type(subschema: Mapping[str, Any], path: str) -> pa.DataType:
    properties = subschema.get("properties")
    values = subschema.get("additionalProperties")
    if subschema.get("meta:xdmType") == "map" or (not properties and isinstance(values, Mapping)):
        if not isinstance(values, Mapping):
            raise InvalidSchema(
                f"Map field '{path}' does not describe its values with 'additionalProperties'."
            )
        return pa.map_(pa.string(), field_type(values, f"{path}.*"))
    if not isinstance(properties, Mapping) or not properties:
        raise InvalidSchema(
            f"Object field '{path}' has no properties; Parquet and Iceberg cannot store an "
            "empty struct.",
            fix="Add at least one property or remove the field.",
        )
    return pa.struct(_fields(properties, subschema.get("required", ()), f"{path}."))


def _fields(properties: Mapping[str, Any], required: Any, prefix: str) -> list[pa.Field]:
    required_names = set(required or ())
    undefined = sorted(required_names - set(properties))
    if undefined:
        raise InvalidSchema(f"Field '{prefix}{undefined[0]}' is required but has no definition.")
    return [
        pa.field(name, field_type(sub, f"{prefix}{name}"), nullable=name not in required_names)
        for name, sub in properties.items()
    ]


def describe(data_type: pa.DataType) -> str:
    """Words for an Arrow type in messages: ``integer (short)``, ``date-time``, ``array of
    string``; Arrow's own name in parentheses where XDM has no word for it."""
    t = data_type
    if pa.types.is_dictionary(t):
        return f"dictionary-encoded {describe(t.value_type)}"
    if pa.types.is_string(t):
        return "string"
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return f"string ({t})"
    if pa.types.is_signed_integer(t):
        return f"integer ({_XDM_INTEGER_NAMES[str(t)]})"
    if pa.types.is_unsigned_integer(t):
        return f"unsigned integer ({t})"
    if pa.types.is_float64(t):
        return "number"
    if pa.types.is_floating(t):
        return f"number ({t})"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_date64(t):
        return "date (date64)"
    if pa.types.is_timestamp(t):
        return "date-time" if t == TIMESTAMP else f"date-time ({t})"
    if pa.types.is_struct(t):
        return "object"
    if pa.types.is_map(t):
        return f"map of {describe(t.item_type)}"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array of {describe(t.value_type)}"
    if pa.types.is_null(t):
        return "null (no values)"
    return str(t)
