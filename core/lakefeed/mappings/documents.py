"""Mapping set documents as Data Prep's API takes them, checked: the body of a create, an
update, a validation or a preview, and the sample rows of the last two.

A mapping set body is ``{"outputSchema": {"schemaRef": {"id", "contentType"}}, "mappings":
[{"sourceType", "source", "destination", "name", "description"}], "inputSchema"?, "name"?,
"description"?}``; the older shape ``{"xdmSchema", "mappings": [{"sourceAttribute",
"destinationXdmPath", …}]}`` is read too. Every field is either kept or refused: the fields the
server writes (ids, versions, dates) are ignored when a client sends back what it read, and
anything else unknown is a 400 naming it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lakefeed.catalog.labels import check_description, check_name
from lakefeed.errors import InvalidRequest, LakefeedError
from lakefeed.mappings import Mapping as MappingRule
from lakefeed.schema.arrow import to_arrow

XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
#: Sample rows a validation or a preview takes at most.
MAX_SAMPLE_ROWS = 1000
#: How deeply a mapping set or a sample row may nest (objects and lists).
MAX_DEPTH = 64
#: ``sourceType`` values as Data Prep writes them, and what lakefeed calls them.
SOURCE_TYPES = {
    "ATTRIBUTE": "ATTRIBUTE",
    "EXPRESSION": "EXPRESSION",
    "text/x.schema-path": "ATTRIBUTE",
    "text/x.aep-xl": "EXPRESSION",
}
#: Fields the server writes: a client sending back what it read may include them.
_SET_READ_ONLY = frozenset(
    {"id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy", "imsOrg"}
    | {"sandboxName", "supportVersion", "status", "xdmVersion", "_links"}
)
_SET_FIELDS = frozenset({"name", "description", "outputSchema", "inputSchema", "mappings"})
_MAPPING_READ_ONLY = frozenset(
    {"id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy"}
    | {"functionVersion", "matchScore", "expressionAttributes"}
)
_MAPPING_FIELDS = frozenset({"sourceType", "source", "destination", "name", "description"})
_LEGACY_ALIASES = {"sourceAttribute": "source", "destinationXdmPath": "destination"}
#: Older identity fields, accepted while they say "no identity" (false or null).
_LEGACY_OFF = ("identity", "primaryIdentity", "identityGroup", "namespaceCode")
_MAPPING_ID = re.compile(r"[0-9a-f]{32}")
_SHAPE_FIX = (
    'Send {"outputSchema": {"schemaRef": {"id": "<schema $id>"}}, "mappings": [{"sourceType": '
    '"ATTRIBUTE", "source": "<source field>", "destination": "<XDM path>"}]}.'
)


# --- the document --------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingSetDraft:
    """A mapping set body, checked and in the shape it is stored in."""

    name: str | None
    document: dict[str, Any]  # outputSchema, inputSchema?, description?, mappings

    @property
    def rules(self) -> list[MappingRule]:
        return [_rule(m) for m in self.document["mappings"]]

    @property
    def output_schema_id(self) -> str:
        return str(self.document["outputSchema"]["schemaRef"]["id"])


def parse_mapping_set(body: Any) -> MappingSetDraft:
    """Check a mapping set body (new or older shape); :class:`InvalidRequest` names the first
    field that is wrong."""
    if not isinstance(body, Mapping):
        raise InvalidRequest(f"A mapping set is a JSON object, not {_kind(body)}.", fix=_SHAPE_FIX)
    _check_strings(body, "mapping set", 0)
    known = _SET_FIELDS | _SET_READ_ONLY | {"xdmSchema"}
    _refuse_unknown(body, known, "mapping set", sorted(_SET_FIELDS | {"xdmSchema"}))
    name = _optional_text(body, "name", "mapping set")
    check_name(name, "mapping set")
    description = _optional_text(body, "description", "mapping set")
    check_description(description, "mapping set")
    document: dict[str, Any] = {"outputSchema": {"schemaRef": _output_schema_ref(body)}}
    if body.get("inputSchema") is not None:
        document["inputSchema"] = _input_schema(body["inputSchema"])
    if description is not None:
        document["description"] = description
    document["mappings"] = _mappings(body.get("mappings"))
    return MappingSetDraft(name, document)


def split_request(body: Any) -> tuple[Any, Any]:
    """``(mapping set, sample rows)`` of a validate or preview body: ``{"mappingSet": …,
    "data": …}`` as Data Prep's preview takes it, or a mapping set with ``data`` beside its
    fields."""
    if not isinstance(body, Mapping):
        raise InvalidRequest(
            f"The body is a JSON object, not {_kind(body)}.",
            fix='Send {"mappingSet": {…}, "data": [{…}, …]}.',
        )
    if "mappingSet" in body:
        _refuse_unknown(body, {"mappingSet", "data"}, "request", ["mappingSet", "data"])
        return body["mappingSet"], body.get("data")
    return {k: v for k, v in body.items() if k != "data"}, body.get("data")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _refuse_unknown(body: Mapping[str, Any], known: Any, what: str, listed: list[str]) -> None:
    unknown = sorted(str(k) for k in body if k not in known)
    if unknown:
        raise InvalidRequest(
            f"Unknown {what} field{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(map(repr, unknown))}.",
            fix=f"Leave {'them' if len(unknown) > 1 else 'it'} out; a {what} has "
            f"{', '.join(listed)}.",
        )


def _check_strings(value: Any, where: str, depth: int) -> None:
    """Refuse NUL bytes and lone surrogates in any text (keys too), and nesting deeper than
    :data:`MAX_DEPTH`: no field holds them, and they fail later where text is encoded."""
    if depth > MAX_DEPTH:
        raise InvalidRequest(
            f"The {where} nests more than {MAX_DEPTH} levels deep.", fix="Flatten it."
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidRequest(
                f"The {where} contains a NUL byte: {value[:40]!r}.", fix="Remove the NUL byte."
            )
        if any("\ud800" <= c <= "\udfff" for c in value):
            raise InvalidRequest(
                f"The {where} contains a lone surrogate, which is not text.",
                fix="Send valid Unicode.",
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_strings(key, where, depth + 1)
            _check_strings(item, where, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item, where, depth + 1)


def _optional_text(body: Mapping[str, Any], field: str, what: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(
            f"The {what}'s {field} must be text, not {_kind(value)}.", fix="Send a string."
        )
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{field} must be non-empty text, not {_kind(value)}.", fix=_SHAPE_FIX)
    return value


def _schema_ref(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(
            f"{field} must be an object, not {_kind(value)}.",
            fix=f'Send "{field}": {{"id": "<schema $id>", "contentType": "{XED_FULL}"}}.',
        )
    _refuse_unknown(value, {"id", "contentType"}, field, ["id", "contentType"])
    content_type = value.get("contentType")
    if content_type is None:
        content_type = XED_FULL
    if not isinstance(content_type, str) or not content_type.startswith(
        "application/vnd.adobe.xed"
    ):
        raise InvalidRequest(
            f"{field}.contentType {content_type!r} is not a Schema Registry media type.",
            fix=f"Use {XED_FULL}.",
        )
    return {"id": _text(value.get("id"), f"{field}.id"), "contentType": content_type}


def _output_schema_ref(body: Mapping[str, Any]) -> dict[str, Any]:
    output, legacy = body.get("outputSchema"), body.get("xdmSchema")
    if output is None:
        if legacy is None:
            raise InvalidRequest("The mapping set has no outputSchema.", fix=_SHAPE_FIX)
        return {"id": _text(legacy, "xdmSchema"), "contentType": XED_FULL}
    if not isinstance(output, Mapping) or "schemaRef" not in output:
        raise InvalidRequest("outputSchema must be an object with a schemaRef.", fix=_SHAPE_FIX)
    # jsonSchema is what GET ?expandSchema=true adds: a client may send it back.
    _refuse_unknown(output, {"schemaRef", "jsonSchema"}, "outputSchema", ["schemaRef"])
    ref = _schema_ref(output["schemaRef"], "outputSchema.schemaRef")
    if legacy is not None and legacy != ref["id"]:
        raise InvalidRequest(
            f"xdmSchema {legacy!r} and outputSchema.schemaRef.id {ref['id']!r} differ.",
            fix="Send one of them (outputSchema), or the same id in both.",
        )
    return ref


def _input_schema(value: Any) -> dict[str, Any]:
    fix = (
        'Send "inputSchema": {"jsonSchema": {"type": "object", "properties": {…}}} or '
        '{"schemaRef": {"id": "<schema $id>"}}, or leave it out.'
    )
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"inputSchema must be an object, not {_kind(value)}.", fix=fix)
    given = [k for k in ("jsonSchema", "schemaRef") if k in value]
    if len(given) != 1:
        data_prep = "id" in value and not given  # Data Prep's own schema service
        raise InvalidRequest(
            "inputSchema must hold exactly one of jsonSchema and schemaRef"
            + (
                "; an id names a Data Prep schema, which lakefeed does not keep."
                if data_prep
                else "."
            ),
            fix=fix,
        )
    _refuse_unknown(value, set(given), "inputSchema", given)
    if given == ["schemaRef"]:
        return {"schemaRef": _schema_ref(value["schemaRef"], "inputSchema.schemaRef")}
    json_schema = value["jsonSchema"]
    if not isinstance(json_schema, Mapping):
        raise InvalidRequest(
            f"inputSchema.jsonSchema must be an object, not {_kind(json_schema)}.", fix=fix
        )
    json_schema_fields(json_schema)  # refused now, not at validation
    return {"jsonSchema": dict(json_schema)}


def json_schema_fields(json_schema: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema of a source's JSON schema (an object with ``properties``)."""
    fix = "Describe the source as a JSON schema object with typed properties."
    try:
        return to_arrow({**json_schema, "type": json_schema.get("type", "object")})
    except LakefeedError as exc:
        message, fix = exc.message, exc.fix or fix
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        message = f"{type(exc).__name__}: {exc}"
    raise InvalidRequest(f"inputSchema.jsonSchema cannot be read: {message}", fix=fix)


def _mappings(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest(
            f"mappings must be a non-empty list, not {_kind(value)}.", fix=_SHAPE_FIX
        )
    mappings: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        mapping = _mapping(item, f"mappings[{index}]")
        given = mapping.get("id")  # kept when it is one of ours (a client sending back a GET)
        if not isinstance(given, str) or given in seen or not _MAPPING_ID.fullmatch(given):
            mapping["id"] = uuid.uuid4().hex
        seen.add(mapping["id"])
        mappings.append(mapping)
    return mappings


def _mapping(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidRequest(f"{where} must be an object, not {_kind(item)}.", fix=_SHAPE_FIX)
    known = _MAPPING_FIELDS | _MAPPING_READ_ONLY | set(_LEGACY_ALIASES) | set(_LEGACY_OFF)
    _refuse_unknown(item, known, where, sorted(_MAPPING_FIELDS))
    for field in _LEGACY_OFF:
        if item.get(field) not in (None, False):
            raise InvalidRequest(
                f"{where}.{field} is {item[field]!r}: lakefeed's mappings set no identities.",
                fix=f"Leave {field} out (or false/null); identityMap fields are mapped like "
                "any other destination.",
            )
    values: dict[str, Any] = {}
    for field in ("source", "destination"):
        old = next(k for k, v in _LEGACY_ALIASES.items() if v == field)
        new_value, old_value = item.get(field), item.get(old)
        if new_value is not None and old_value is not None and new_value != old_value:
            raise InvalidRequest(
                f"{where}.{field} and {where}.{old} differ.", fix=f"Send only {field}."
            )
        values[field] = _text(new_value if new_value is not None else old_value, f"{where}.{field}")
    source_type = item.get("sourceType", "ATTRIBUTE")
    if not isinstance(source_type, str) or source_type not in SOURCE_TYPES:
        fix = "Use ATTRIBUTE (a source field's path) or EXPRESSION (a calculated field)."
        if source_type == "STATIC":
            fix = "Use EXPRESSION with a literal as its source (e.g. \"'gold'\" or 42)."
        raise InvalidRequest(f"{where}.sourceType {source_type!r} is not supported.", fix=fix)
    mapping: dict[str, Any] = {"id": item.get("id"), "sourceType": SOURCE_TYPES[source_type]}
    mapping.update(values)
    for field in ("name", "description"):
        text = _optional_text(item, field, where)
        if text is not None:
            (check_name if field == "name" else check_description)(text, "mapping")
            mapping[field] = text
    return mapping


def _rule(mapping: Mapping[str, Any]) -> MappingRule:
    return MappingRule(
        mapping["sourceType"], mapping["source"], mapping["destination"], mapping.get("name")
    )


def sample_batch(data: Any) -> pa.RecordBatch:
    """Sample rows (a list of JSON objects, or one) as a record batch, types inferred."""
    rows = [data] if isinstance(data, Mapping) else data
    if not isinstance(rows, list):
        raise InvalidRequest(
            f"data must be a list of rows (objects), not {_kind(data)}.",
            fix='Send "data": [{"field": "value", …}, …].',
        )
    if len(rows) > MAX_SAMPLE_ROWS:
        raise InvalidRequest(
            f"data holds {len(rows)} rows; at most {MAX_SAMPLE_ROWS} are taken.",
            fix="Send fewer sample rows.",
        )
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidRequest(
                f"data[{index}] must be an object, not {_kind(row)}.",
                fix="Send each row as an object of field names and values.",
            )
    _check_strings(rows, "sample data", 0)
    try:
        return pa.RecordBatch.from_pylist(rows)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"The sample rows cannot be read as one table: {exc}",
            fix="Give each field values of one type in every row (numbers, text, objects…).",
        ) from None
