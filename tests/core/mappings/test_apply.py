"""CompiledMappingSet: what compile refuses, how apply nests, converts and reports rows."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from lakefeed.errors import MappingError
from lakefeed.mappings import MAPPING_FAILED, CompiledMappingSet, Mapping

NOW = datetime(2021, 10, 26, 10, 10, 24, tzinfo=UTC)

SCHEMA = pa.schema(
    [
        pa.field("_id", pa.string(), nullable=False),
        pa.field(
            "person",
            pa.struct(
                [
                    pa.field(
                        "name", pa.struct([("firstName", pa.string()), ("lastName", pa.string())])
                    ),
                    pa.field("birthDate", pa.date32()),
                ]
            ),
        ),
        pa.field(
            "_acme",
            pa.struct(
                [pa.field("loyalty", pa.struct([("points", pa.int32()), ("tier", pa.string())]))]
            ),
        ),
        pa.field("timestamp", pa.timestamp("us", "UTC")),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("score", pa.float64()),
        pa.field("vip", pa.bool_()),
        pa.field("price", pa.decimal128(10, 2)),
        pa.field("addr", pa.struct([("city", pa.string()), ("zip", pa.int32())])),
    ]
)


def compile_(
    *mappings: tuple[str, str, str], schema: pa.Schema | None = SCHEMA
) -> CompiledMappingSet:
    return CompiledMappingSet.compile([Mapping(*m) for m in mappings], schema)


def problems(*mappings: tuple[str, str, str], schema: pa.Schema | None = SCHEMA) -> list[str]:
    with pytest.raises(MappingError) as caught:
        compile_(*mappings, schema=schema)
    return caught.value.details["problems"]


# --- compile ------------------------------------------------------------------------------------


def test_compile_lists_every_problem_at_once() -> None:
    found = problems(
        ("EXPRESSION", "lowr(x)", "_id"),
        ("ATTRIBUTE", "concat(a, b)", "person.name.firstName"),
        ("ATTRIBUTE", "x", "person.nme"),
        ("attr", "x", "tags"),
        ("EXPRESSION", "concat(", "score"),
        ("ATTRIBUTE", "x", "tags.item"),
    )
    assert len(found) == 6
    assert found[0].startswith("mapping 1 (destination '_id'): Unknown function 'lowr'")
    assert "Known functions: abs," in found[0]
    assert "not an attribute path but a call of concat()" in found[1]
    assert "Set sourceType to EXPRESSION" in found[1]
    assert "'person.nme' is not in the output schema: person has no field 'nme'" in found[2]
    assert "(it has: name, birthDate)" in found[2]
    assert "sourceType 'attr' is not ATTRIBUTE or EXPRESSION" in found[3]
    assert "Syntax error at position 8 of 'concat('" in found[4]
    assert "goes inside 'tags', which is array of string, not an object" in found[5]


def test_compile_refuses_duplicate_and_overlapping_destinations() -> None:
    found = problems(
        ("ATTRIBUTE", "a", "_id"),
        ("ATTRIBUTE", "b", "_id"),
        ("ATTRIBUTE", "c", "person.name"),
        ("ATTRIBUTE", "d", "person.name.lastName"),
    )
    assert found == [
        "mapping 2 (destination '_id'): mapping 1 has the same destination",
        "mapping 4 (destination 'person.name.lastName') writes inside mapping 3's destination "
        "'person.name'",
    ]


def test_compile_refuses_an_empty_set_and_empty_parts() -> None:
    assert problems() == ["it has no mappings"]
    found = problems(
        ("ATTRIBUTE", "", "_id"), ("ATTRIBUTE", "a", ""), ("ATTRIBUTE", "a..b", "score")
    )
    assert "The source is empty" in found[0]
    assert "The destination is empty" in found[1]
    assert "empty name" in found[2]


def test_the_error_says_what_is_wrong_and_the_fix() -> None:
    with pytest.raises(MappingError) as caught:
        compile_(("ATTRIBUTE", "a", "nope"))
    error = caught.value
    assert error.http_status == 400 and error.code == "LF-1470"
    assert str(error).startswith("The mapping set has 1 problem: mapping 1 (destination 'nope')")
    assert "docs/reference/mapping-functions.md" in (error.fix or "")


def test_attribute_sources_may_hold_spaces_and_quoted_dots() -> None:
    mappings = compile_(
        ("ATTRIBUTE", "First Name", "person.name.firstName"),
        ("ATTRIBUTE", "order.`unit.price`", "price"),
        ("ATTRIBUTE", "${Last.Name}", "person.name.lastName"),
    )
    assert mappings.references() == {"First Name", "order.`unit.price`", "Last.Name"}
    assert problems(("ATTRIBUTE", " padded", "_id"))[0].endswith(
        "has spaces around it or control characters; an attribute path names a source column "
        "(address.city)"
    )


def test_without_a_destination_schema_any_destination_goes() -> None:
    mappings = compile_(("EXPRESSION", "lower(a)", "x.y"), ("ATTRIBUTE", "b", "w"), schema=None)
    assert mappings.output_schema is None
    mapped = mappings.apply(pa.record_batch({"a": ["A", None], "b": [1, None]}), NOW)
    assert mapped.data.to_pylist() == [{"x": {"y": "a"}, "w": 1}, {"x": None, "w": None}]


def test_references_are_every_attribute_read() -> None:
    mappings = compile_(
        ("EXPRESSION", "concat(a.b, c)", "_id"), ("ATTRIBUTE", "d", "score"), schema=None
    )
    assert mappings.references() == {"a.b", "c", "d"}


# --- apply --------------------------------------------------------------------------------------

BATCH = pa.record_batch(
    {
        "id": ["a", "b", "c"],
        "first": ["ann", None, "carl"],
        "address": pa.array(
            [{"city": "Paris", "zip": "75001"}, None, {"city": None, "zip": "x"}],
            pa.struct([("city", pa.string()), ("zip", pa.string())]),
        ),
        "points": ["10", "x", "99999999999"],
        "born": ["01/02/1990", "31/02/1990", None],
        "tags": ["a;b", "", None],
    }
)


def test_apply_nests_along_the_destination_paths_in_schema_order() -> None:
    mappings = compile_(
        ("EXPRESSION", 'split(tags, ";")', "tags"),
        ("ATTRIBUTE", "id", "_id"),
        ("EXPRESSION", "upper(first)", "person.name.firstName"),
        ("ATTRIBUTE", "address.city", "_acme.loyalty.tier"),
        ("ATTRIBUTE", "points", "_acme.loyalty.points"),
        ("EXPRESSION", 'date(born, "dd/MM/yyyy")', "person.birthDate"),
        ("EXPRESSION", "now()", "timestamp"),
    )
    mapped = mappings.apply(BATCH, NOW)
    assert mapped.data.schema == mappings.output_schema
    assert mapped.data.schema.names == ["_id", "person", "_acme", "timestamp", "tags"]
    assert mapped.data.schema.field("_id").nullable is False
    assert mapped.data.schema.field("person").type == pa.struct(
        [pa.field("name", pa.struct([("firstName", pa.string())])), ("birthDate", pa.date32())]
    )
    rows = mapped.data.to_pylist()
    assert rows[0] == {
        "_id": "a",
        "person": {"name": {"firstName": "ANN"}, "birthDate": date(1990, 2, 1)},
        "_acme": {"loyalty": {"points": 10, "tier": "Paris"}},
        "timestamp": NOW,
        "tags": ["a", "b"],
    }
    # objects everything mapped into is null in are null
    assert rows[1]["person"] is None and rows[1]["_acme"] is None
    assert rows[2]["person"] == {"name": {"firstName": "CARL"}, "birthDate": None}
    assert mapped.failures == [
        (1, "_acme.loyalty.points", "'_acme.loyalty.points': 'x' is not a number"),
        (1, "person.birthDate", "date(): '31/02/1990' is not a valid date-time"),
        (
            2,
            "_acme.loyalty.points",
            "99999999999 cannot be stored in '_acme.loyalty.points' (integer (int))",
        ),
    ]
    assert MAPPING_FAILED == "MAPPER-3700-400"


def test_values_convert_towards_their_destination_types() -> None:
    mappings = compile_(
        ("ATTRIBUTE", "n", "_id"),
        ("ATTRIBUTE", "s", "score"),
        ("ATTRIBUTE", "b", "vip"),
        ("ATTRIBUTE", "p", "price"),
        ("ATTRIBUTE", "d", "person.birthDate"),
        ("ATTRIBUTE", "t", "timestamp"),
        ("EXPRESSION", "n / 2.0", "_acme.loyalty.points"),
        ("ATTRIBUTE", "l", "tags"),
    )
    batch = pa.record_batch(
        {
            "n": [1, 3, None],
            "s": ["1.5", " 2 ", "x"],
            "b": ["yes", "Off", "maybe"],
            "p": ["12.345", "7", "1e2"],
            "d": ["2019-10-23T23:00:00Z", "2019-10-23", "23/10/2019"],
            "t": ["2019-10-23 11:24", "2019-10-23T11:24:00+02:00", "today"],
            "l": [[1, 2], None, []],
        }
    )
    mapped = mappings.apply(batch, NOW)
    data = mapped.data.to_pylist()
    assert [r["_id"] for r in data] == ["1", "3", None]
    assert [r["score"] for r in data] == [1.5, 2.0, None]
    assert [r["vip"] for r in data] == [True, False, None]
    assert [str(r["price"]) for r in data] == ["None", "7.00", "100.00"]
    # 23/10/2019 is not in Data Prep's default formats (M/dd/yyyy reads 23 as the month)
    assert [r["person"] for r in data] == [
        {"birthDate": date(2019, 10, 23)},
        {"birthDate": date(2019, 10, 23)},
        None,
    ]
    assert [r["timestamp"] for r in data] == [
        datetime(2019, 10, 23, 11, 24, tzinfo=UTC),
        datetime(2019, 10, 23, 9, 24, tzinfo=UTC),
        None,
    ]
    assert [r["_acme"] for r in data] == [None, None, None]  # 0.5 and 1.5 are not whole
    assert [r["tags"] for r in data] == [["1", "2"], None, []]
    assert {(row, where) for row, where, _ in mapped.failures} == {
        (2, "score"),
        (2, "vip"),
        (0, "price"),
        (2, "timestamp"),
        (2, "person.birthDate"),
        (0, "_acme.loyalty.points"),
        (1, "_acme.loyalty.points"),
    }
    messages = {(row, where): message for row, where, message in mapped.failures}
    assert messages[(0, "price")] == "'12.345' cannot be stored in 'price' (decimal128(10, 2))"
    assert messages[(0, "_acme.loyalty.points")] == (
        "0.5 is not a whole number for '_acme.loyalty.points'"
    )
    assert messages[(2, "timestamp")].startswith("'timestamp': 'today' is not a date-time")


def test_objects_copy_by_attribute_name_and_arrays_by_element() -> None:
    mappings = compile_(("ATTRIBUTE", "address", "addr"), ("ATTRIBUTE", "codes", "tags"))
    batch = pa.record_batch(
        {
            "address": pa.array(
                [
                    {"city": "Paris", "zip": "75001", "extra": 1},
                    None,
                    {"city": None, "zip": "x", "extra": 2},
                ],
                pa.struct([("city", pa.string()), ("zip", pa.string()), ("extra", pa.int64())]),
            ),
            "codes": pa.array([[1, None], [2], None]),
        }
    )
    mapped = mappings.apply(batch, NOW)
    assert mapped.data.to_pylist() == [
        {"addr": {"city": "Paris", "zip": 75001}, "tags": ["1", None]},
        {"addr": None, "tags": ["2"]},
        {"addr": {"city": None, "zip": None}, "tags": None},
    ]
    assert mapped.failures == [(2, "addr", "'addr.zip': 'x' is not a number")]


def test_array_elements_that_do_not_convert_fail_their_row() -> None:
    mappings = compile_(
        ("ATTRIBUTE", "codes", "numbers"), schema=pa.schema([("numbers", pa.list_(pa.int64()))])
    )
    batch = pa.record_batch({"codes": pa.array([["1", "x"], ["2"], ["y"]])})
    mapped = mappings.apply(batch, NOW)
    assert mapped.data.column(0).to_pylist() == [[1, None], [2], [None]]
    assert [(row, where) for row, where, _ in mapped.failures] == [(0, "numbers"), (2, "numbers")]


def test_a_missing_source_attribute_maps_as_null_and_check_source_says_so() -> None:
    mappings = compile_(
        ("ATTRIBUTE", "nope", "score"), ("ATTRIBUTE", "address.town", "_acme.loyalty.tier")
    )
    mapped = mappings.apply(BATCH, NOW)
    assert mapped.data.to_pylist() == [{"_acme": None, "score": None}] * 3
    assert mapped.failures == []
    assert mappings.check_source(BATCH.schema) == [
        "mapping 1 (destination 'score'): source attribute 'nope' is missing: the source has no "
        "attribute 'nope'; it would be mapped as null",
        "mapping 2 (destination '_acme.loyalty.tier'): source attribute 'address.town' is "
        "missing: the object 'address' has no attribute 'town' (it has: city, zip); it would be "
        "mapped as null",
    ]


def test_check_source_reports_types_the_expressions_cannot_use() -> None:
    mappings = compile_(("EXPRESSION", "upper(first)", "_id"), ("ATTRIBUTE", "tags", "score"))
    schema = pa.schema([("first", pa.list_(pa.string())), ("tags", pa.list_(pa.string()))])
    found = mappings.check_source(schema)
    assert len(found) == 2
    assert (
        "upper(): the value must be text, a number, a boolean or a date, not array of string"
        in found[0]
    )
    assert (
        "A value of type array of string cannot be stored in 'score', which is number" in found[1]
    )
    assert mappings.check_source(BATCH.schema.append(pa.field("first2", pa.string()))) == []
    with pytest.raises(MappingError, match="Mapping to '_id' failed: upper"):
        mappings.apply(
            pa.RecordBatch.from_pylist([{"first": ["a"], "tags": []}], schema=schema), NOW
        )


def test_check_source_reads_dotted_paths_through_objects_only() -> None:
    mappings = compile_(("ATTRIBUTE", "id.x", "_id"), schema=None)
    assert mappings.check_source(BATCH.schema) == [
        "mapping 1 (destination '_id'): source attribute 'id.x' is missing: 'id' is string, "
        "not an object; it would be mapped as null"
    ]


def test_failures_are_in_row_order_across_mappings() -> None:
    mappings = compile_(
        ("EXPRESSION", "to_integer(a)", "score"),
        ("EXPRESSION", "to_integer(b)", "_id"),
        schema=None,
    )
    mapped = mappings.apply(pa.record_batch({"a": ["1", "x", "y"], "b": ["x", "1", "z"]}), NOW)
    assert [(row, where) for row, where, _ in mapped.failures] == [
        (0, "_id"),
        (1, "score"),
        (2, "score"),
        (2, "_id"),
    ]


def test_dictionary_and_large_string_columns_map_like_plain_ones() -> None:
    mappings = compile_(("EXPRESSION", "upper(a)", "_id"), ("ATTRIBUTE", "b", "score"))
    batch = pa.record_batch(
        {
            "a": pa.array(["x", "y", "x"]).dictionary_encode(),
            "b": pa.array(["1", "2", None], pa.large_string()),
        }
    )
    mapped = mappings.apply(batch, NOW)
    assert mapped.data.to_pylist() == [
        {"_id": "X", "score": 1.0},
        {"_id": "Y", "score": 2.0},
        {"_id": "X", "score": None},
    ]


def test_a_compiled_set_pickles_for_executors() -> None:
    mappings = compile_(("EXPRESSION", 'date(born, "dd/MM/yyyy")', "person.birthDate"))
    copy = pickle.loads(pickle.dumps(mappings))
    assert copy.apply(BATCH, NOW).data.equals(mappings.apply(BATCH, NOW).data)


def test_an_empty_batch_maps_to_an_empty_batch_of_the_output_schema() -> None:
    mappings = compile_(
        ("EXPRESSION", "upper(first)", "person.name.firstName"), ("ATTRIBUTE", "id", "_id")
    )
    mapped = mappings.apply(BATCH.slice(0, 0), NOW)
    assert mapped.data.num_rows == 0 and mapped.data.schema == mappings.output_schema


def test_text_into_a_decimal_keeps_every_digit() -> None:
    schema = pa.schema([("amount", pa.decimal128(38, 2))])
    mappings = compile_(("ATTRIBUTE", "a", "amount"), schema=schema)
    batch = pa.record_batch({"a": [" 12345678901234567.89", "1e2", "0.001", "x"]})
    mapped = mappings.apply(batch, NOW)
    assert [str(v) for v in mapped.data.column(0).to_pylist()] == [
        "12345678901234567.89",
        "100.00",
        "None",
        "None",
    ]
    assert [row for row, _, _ in mapped.failures] == [2, 3]


def test_a_call_repeated_in_a_batch_is_computed_once_with_its_failures_for_each_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``to_integer(n)`` in two mappings (and twice in one) runs once per batch; each mapping
    still reports the rows it failed on; ``uuid()`` gives new values at every call."""
    from lakefeed.mappings import registry

    calls = []
    real = registry.lookup("to_integer", 0)
    counting = dataclasses.replace(real, run=lambda *a: (calls.append(1), real.run(*a))[1])
    monkeypatch.setattr(
        "lakefeed.mappings.expressions.lookup",
        lambda name, position: (
            counting if name == "to_integer" else registry.lookup(name, position)
        ),
    )
    compiled = CompiledMappingSet.compile(
        [
            Mapping("EXPRESSION", "iif(to_integer(n) > 1, to_integer(n), 0)", "a"),
            Mapping("EXPRESSION", "to_integer(n)", "b"),
            Mapping("EXPRESSION", "uuid()", "c"),
            Mapping("EXPRESSION", "uuid()", "d"),
        ],
        None,
    )
    mapped = compiled.apply(pa.record_batch({"n": ["1", "x", "3"]}), datetime.now(UTC))

    assert len(calls) == 1
    assert mapped.data.column("a").to_pylist() == [0, 0, 3]
    assert mapped.data.column("b").to_pylist() == [1, None, 3]
    assert sorted((row, dest) for row, dest, _ in mapped.failures) == [(1, "a"), (1, "b")]
    c, d = mapped.data.column("c").to_pylist(), mapped.data.column("d").to_pylist()
    assert all(x != y for x, y in zip(c, d, strict=True))
