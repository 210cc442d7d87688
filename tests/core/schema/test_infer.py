"""XDM properties inferred from Parquet schemas, alone and merged."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import InvalidSchema
from lakefeed.schema.arrow import to_arrow
from lakefeed.schema.conform import TargetSchema
from lakefeed.schema.infer import infer_properties, merge_inferred

UTC_US = pa.timestamp("us", tz="UTC")

FILE_SCHEMA = pa.schema(
    [
        pa.field("_id", pa.large_string(), nullable=False),
        ("count", pa.int32()),
        ("small", pa.int8()),
        ("medium", pa.int16()),
        ("big", pa.int64()),
        ("unsigned", pa.uint16()),
        ("ratio", pa.float32()),
        ("price", pa.decimal128(12, 2)),
        ("active", pa.bool_()),
        ("born", pa.date64()),
        ("seen", pa.timestamp("ns")),
        ("label", pa.dictionary(pa.int32(), pa.string())),
        pa.field(
            "person",
            pa.struct(
                [
                    pa.field("name", pa.string(), nullable=False),
                    ("address", pa.struct([("city", pa.string())])),
                ]
            ),
            nullable=False,
        ),
        (
            "orders",
            pa.large_list(
                pa.struct([("total", pa.float64()), ("at", pa.timestamp("ms", "Europe/Paris"))])
            ),
        ),
        ("identityMap", pa.map_(pa.string(), pa.list_(pa.struct([("id", pa.string())])))),
    ]
)
# What to_arrow gives back: the same fields, normalised.
NORMALISED = pa.schema(
    [
        pa.field("_id", pa.string(), nullable=False),
        ("count", pa.int32()),
        ("small", pa.int8()),
        ("medium", pa.int16()),
        ("big", pa.int64()),
        ("unsigned", pa.int32()),
        ("ratio", pa.float64()),
        ("price", pa.decimal128(12, 2)),  # decimals stay exact
        ("active", pa.bool_()),
        ("born", pa.date32()),
        ("seen", UTC_US),
        ("label", pa.string()),
        pa.field(
            "person",
            pa.struct(
                [
                    pa.field("name", pa.string(), nullable=False),
                    ("address", pa.struct([("city", pa.string())])),
                ]
            ),
            nullable=False,
        ),
        ("orders", pa.list_(pa.struct([("total", pa.float64()), ("at", UTC_US)]))),
        ("identityMap", pa.map_(pa.string(), pa.list_(pa.struct([("id", pa.string())])))),
    ]
)


def resolved(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def test_round_trip_through_to_arrow() -> None:
    properties, required = infer_properties(FILE_SCHEMA)
    assert required == ["_id", "person"]
    assert properties["person"]["required"] == ["name"]
    assert "required" not in properties["person"]["properties"]["address"]
    assert properties["medium"] == {"type": "integer", "meta:xdmType": "short"}
    assert properties["born"] == {"type": "string", "format": "date", "meta:xdmType": "date"}
    assert to_arrow(resolved(properties, required)) == NORMALISED


def test_files_conform_to_the_schema_inferred_from_them() -> None:
    target = TargetSchema.from_xdm(resolved(*infer_properties(FILE_SCHEMA)))
    assert target.check_file(FILE_SCHEMA) == []


@pytest.mark.parametrize(
    ("column_type", "path", "words"),
    [
        (pa.binary(), "col", "binary"),
        (pa.time64("us"), "col", "time64[us]"),
        (pa.duration("s"), "col", "duration[s]"),
        (pa.binary(16), "col", "fixed_size_binary[16]"),
        (pa.struct([("inner", pa.large_binary())]), "col.inner", "large_binary"),
        (pa.list_(pa.time32("s")), "col[]", "time32[s]"),
        (pa.map_(pa.int32(), pa.string()), "col", "map of string"),
        (pa.struct([]), "col", "object"),
    ],
)
def test_unsupported_types_name_the_column_and_the_fix(
    column_type: pa.DataType, path: str, words: str
) -> None:
    with pytest.raises(InvalidSchema) as caught:
        infer_properties(pa.schema([("col", column_type)]))
    assert f"Column '{path}' is " in caught.value.message
    assert words in caught.value.message
    assert caught.value.fix is not None
    assert "write the schema by hand" in caught.value.fix


def test_a_column_of_nulls_cannot_be_inferred() -> None:
    with pytest.raises(InvalidSchema, match="Column 'nothing' has no values"):
        infer_properties(pa.schema([("nothing", pa.null())]))


def test_merge_unites_compatible_files() -> None:
    first = pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("n", pa.int32(), nullable=False),
            ("x", pa.int64()),
            pa.field("only_first", pa.bool_(), nullable=False),
            ("nested", pa.struct([pa.field("a", pa.int8(), nullable=False)])),
        ]
    )
    second = pa.schema(
        [
            pa.field("id", pa.large_string(), nullable=False),
            ("n", pa.int64()),
            ("x", pa.float32()),
            ("only_second", pa.date32()),
            ("nested", pa.struct([pa.field("a", pa.int16(), nullable=False), ("b", pa.string())])),
        ]
    )
    properties, required = merge_inferred([first, second])

    assert required == ["id"]
    assert list(properties) == ["id", "n", "x", "only_first", "nested", "only_second"]
    assert properties["n"] == {"type": "integer", "meta:xdmType": "long"}
    assert properties["x"] == {"type": "number", "meta:xdmType": "number"}
    assert properties["nested"]["required"] == ["a"]
    assert list(properties["nested"]["properties"]) == ["a", "b"]
    merged = TargetSchema.from_xdm(resolved(properties, required))
    assert merged.check_file(first) == []
    assert merged.check_file(second) == []


def test_merge_names_the_files_and_types_of_a_conflict() -> None:
    first = pa.schema([("person", pa.struct([("age", pa.int32())]))])
    second = pa.schema([("person", pa.struct([("age", pa.string())]))])
    with pytest.raises(InvalidSchema) as caught:
        merge_inferred([first, second], sources=["jan.parquet", "feb.parquet"])
    assert caught.value.message == (
        "Column 'person.age' is string in feb.parquet but integer (int) in jan.parquet."
    )

    third = pa.schema([("tags", pa.list_(pa.string()))])
    fourth = pa.schema([("tags", pa.string())])
    with pytest.raises(
        InvalidSchema, match="'tags' is string in file 2 but array of string in file 1"
    ):
        merge_inferred([third, fourth])


def test_merge_of_no_schema_is_an_error() -> None:
    with pytest.raises(InvalidSchema):
        merge_inferred([])
