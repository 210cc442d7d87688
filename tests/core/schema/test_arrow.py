"""A resolved XDM schema as an Arrow schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import InvalidSchema
from lakefeed.schema.arrow import to_arrow

PROFILE = json.loads((Path(__file__).parent / "profile_resolved.json").read_text())
UTC_US = pa.timestamp("us", tz="UTC")


def schema_of(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def test_profile_types_and_nullability() -> None:
    arrow = to_arrow(PROFILE)

    assert arrow.names == list(PROFILE["properties"])
    assert arrow.field("_id") == pa.field("_id", pa.string(), nullable=False)
    repo = arrow.field("_repo")
    assert not repo.nullable
    assert repo.type.field("createDate") == pa.field("createDate", UTC_US, nullable=False)
    assert repo.type.field("modifyDate").nullable

    person = arrow.field("person")
    name = person.type.field("name")
    assert person.nullable and name.nullable
    assert name.type.field("lastName") == pa.field("lastName", pa.string(), nullable=False)
    assert name.type.field("firstName").nullable
    assert person.type.field("birthDate").type == pa.date32()
    assert person.type.field("birthYear").type == pa.int16()

    loyalty = arrow.field("loyalty").type
    assert [loyalty.field(n).type for n in ("points", "level", "score")] == [
        pa.int64(),
        pa.int8(),
        pa.float64(),
    ]
    assert arrow.field("personalEmail").type.field("primary").type == pa.bool_()
    assert arrow.field("website").type == pa.string()
    assert arrow.field("tags").type == pa.list_(pa.string())


def test_profile_map_and_array_of_structs() -> None:
    arrow = to_arrow(PROFILE)
    identity = pa.struct(
        [
            pa.field("id", pa.string(), nullable=False),
            ("authenticatedState", pa.string()),
            ("primary", pa.bool_()),
        ]
    )
    assert arrow.field("identityMap").type == pa.map_(pa.string(), pa.list_(identity))
    subscription = arrow.field("subscriptions").type.value_type
    assert subscription.field("status") == pa.field("status", pa.string(), nullable=False)
    assert subscription.field("startDate").type == pa.date32()
    assert subscription.field("seats").type == pa.int32()


def test_constraints_stay_out_of_the_arrow_schema() -> None:
    arrow = to_arrow(PROFILE)
    assert arrow.metadata is None
    assert all(field.metadata is None for field in arrow)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"type": "integer"}, pa.int64()),
        ({"type": "integer", "meta:xdmType": "int"}, pa.int32()),
        ({"type": "number", "meta:xdmType": "number"}, pa.float64()),
        ({"type": "string", "meta:xdmType": "date-time"}, UTC_US),
        ({"type": "string", "format": "date"}, pa.date32()),
        ({"type": "string", "format": "email"}, pa.string()),
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            pa.map_(pa.string(), pa.string()),
        ),
    ],
)
def test_scalar_and_map_mappings(definition: dict[str, Any], expected: pa.DataType) -> None:
    assert to_arrow(schema_of({"f": definition})).field("f").type == expected


@pytest.mark.parametrize(
    ("definition", "path", "words"),
    [
        ({"type": "null"}, "a.f", "type 'null'"),
        ({"type": "array"}, "a.f", "no 'items'"),
        ({"$ref": "https://ns.adobe.com/xdm/common/address"}, "a.f", "'$ref'"),
        ({"type": "integer", "meta:xdmType": "string"}, "a.f", "do not go together"),
        ({"type": "object", "properties": {}}, "a.f", "no properties"),
        ({"type": "array", "items": {"type": "object"}}, "a.f[]", "no properties"),
        ({"type": "object", "meta:xdmType": "map"}, "a.f", "additionalProperties"),
    ],
)
def test_unsupported_constructs_name_the_field(
    definition: dict[str, Any], path: str, words: str
) -> None:
    resolved = schema_of({"a": {"type": "object", "properties": {"f": definition}}})
    with pytest.raises(InvalidSchema) as caught:
        to_arrow(resolved)
    assert f"'{path}'" in str(caught.value)
    assert words in str(caught.value)


def test_required_field_without_definition_is_invalid() -> None:
    with pytest.raises(InvalidSchema, match="'ghost' is required but has no definition"):
        to_arrow(schema_of({"a": {"type": "string"}}, required=("ghost",)))
