"""check_file and conform: which files can be ingested, and which of their rows."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import SchemaMismatch
from lakefeed.schema.conform import (
    INVALID_VALUE,
    REQUIRED_MISSING,
    Conformed,
    FieldError,
    TargetSchema,
)

PROFILE = json.loads((Path(__file__).parent / "profile_resolved.json").read_text())
UTC = dt.UTC

IDENTITY = pa.struct(
    [("id", pa.string()), ("authenticatedState", pa.string()), ("primary", pa.bool_())]
)
# A file as a producer might write it: strings for dates, wide integers, other list and string
# types, and some optional fields left out.
SOURCE = pa.schema(
    [
        ("_id", pa.large_string()),
        ("_repo", pa.struct([("createDate", pa.string())])),
        (
            "person",
            pa.struct(
                [
                    ("name", pa.struct([("firstName", pa.string()), ("lastName", pa.string())])),
                    ("birthDate", pa.string()),
                    ("birthYear", pa.int64()),
                    ("gender", pa.dictionary(pa.int8(), pa.string())),
                ]
            ),
        ),
        ("personalEmail", pa.struct([("address", pa.string())])),
        ("identityMap", pa.map_(pa.string(), pa.list_(IDENTITY))),
        (
            "subscriptions",
            pa.large_list(
                pa.struct(
                    [("status", pa.string()), ("startDate", pa.date64()), ("seats", pa.int64())]
                )
            ),
        ),
        (
            "loyalty",
            pa.struct([("points", pa.int32()), ("level", pa.int64()), ("score", pa.float32())]),
        ),
        ("tags", pa.list_(pa.string())),
    ]
)


@pytest.fixture(scope="module")
def profile() -> TargetSchema:
    return TargetSchema.from_xdm(PROFILE)


def row(**fields: Any) -> dict[str, Any]:
    return {"_id": "p1", "_repo": {"createDate": "2024-03-01T10:00:00Z"}, **fields}


def target_row(**fields: Any) -> dict[str, Any]:
    created = dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    return {"_id": "p1", "_repo": {"createDate": created, "modifyDate": None}, **fields}


def codes(conformed: Conformed) -> dict[int, list[tuple[str, str | None]]]:
    return {e.row: [(f.code, f.field) for f in e.errors] for e in conformed.errors}


# --- check_file --------------------------------------------------------------------------------


def test_check_file_accepts_the_target_itself(profile: TargetSchema) -> None:
    assert profile.check_file(profile.arrow) == []


def test_check_file_accepts_convertible_types_and_missing_optional_fields(
    profile: TargetSchema,
) -> None:
    assert profile.check_file(SOURCE) == []
    other = pa.schema(
        [
            ("_id", pa.string_view()),
            ("_repo", pa.struct([("createDate", pa.timestamp("ns"))])),
            ("person", pa.struct([("birthYear", pa.uint8()), ("birthDate", pa.date32())])),
            ("loyalty", pa.struct([("points", pa.uint64()), ("score", pa.decimal128(10, 2))])),
            ("homeAddress", pa.null()),
            ("tags", pa.list_(pa.dictionary(pa.int32(), pa.large_string()))),
        ]
    )
    assert profile.check_file(other) == []


def test_check_file_lists_every_problem(profile: TargetSchema) -> None:
    source = pa.schema(
        [
            ("_repo", pa.null()),
            (
                "person",
                pa.struct(
                    [
                        ("name", pa.string()),
                        ("birthYear", pa.binary()),  # text converts row by row: not this
                        ("birthDate", pa.timestamp("ms")),
                    ]
                ),
            ),
            ("personalEmail", pa.struct([("address", pa.binary())])),
            ("identityMap", pa.map_(pa.int32(), pa.list_(pa.struct([("id", pa.string())])))),
            ("subscriptions", pa.list_(pa.string())),
            (
                "loyalty",
                pa.struct([("points", pa.decimal128(12, 2)), ("tier", pa.list_(pa.string()))]),
            ),
            ("tags", pa.string()),
            ("nickname", pa.string()),
        ]
    )
    assert profile.check_file(source) == [
        "required field '_id' is missing from the file",
        "column '_repo' has no values (null type) in the file but the schema requires it",
        "column 'person.name' is string in the file but object in the schema",
        "column 'person.birthDate' is date-time (timestamp[ms]) in the file but date in the schema",
        "column 'person.birthYear' is binary in the file but integer (short) in the schema",
        "column 'personalEmail.address' is binary in the file but string in the schema",
        "the keys of map column 'identityMap' are integer (int) in the file "
        "but string in the schema",
        "column 'subscriptions[]' is string in the file but object in the schema",
        "column 'loyalty.points' is decimal128(12, 2) in the file but integer (long) in the schema",
        "column 'loyalty.tier' is array of string in the file but string in the schema",
        "column 'tags' is string in the file but array of string in the schema",
        "column 'nickname' is in the file but the schema has no such field "
        "(its data would be lost)",
    ]


def test_check_file_reports_a_required_nested_field_missing(profile: TargetSchema) -> None:
    source = pa.schema([("_id", pa.string()), ("_repo", pa.struct([("modifyDate", pa.string())]))])
    assert profile.check_file(source) == [
        "required field '_repo.createDate' is missing from the file"
    ]


def test_conform_refuses_a_batch_check_file_rejects(profile: TargetSchema) -> None:
    batch = pa.RecordBatch.from_pylist([{"_id": 1}], schema=pa.schema([("_id", pa.int64())]))
    with pytest.raises(SchemaMismatch) as caught:
        profile.conform(batch)
    assert "column '_id' is integer (long) in the file but string in the schema" in str(
        caught.value
    )
    assert (
        caught.value.details["problems"][0]
        == "column '_id' is integer (long) in the file but string in the schema"
    )


# --- conform -----------------------------------------------------------------------------------

GOOD_FULL = row(
    person={
        "name": {"firstName": "Ada", "lastName": "Lovelace"},
        "birthDate": "1990-05-01",
        "birthYear": 1990,
        "gender": "female",
    },
    personalEmail={"address": "ada@example.com"},
    identityMap=[("ECID", [{"id": "e1", "authenticatedState": "ambiguous", "primary": True}])],
    subscriptions=[{"status": "active", "startDate": dt.date(2024, 1, 1), "seats": 3}],
    loyalty={"points": 10, "level": 2, "score": 1.5},
    tags=["vip"],
)
BATCH_ROWS = [
    GOOD_FULL,  # 0
    row(),  # 1: only the required fields
    row(_id=None),  # 2
    row(_repo={"createDate": None}),  # 3
    row(person={"name": {"firstName": "X", "lastName": None}, "gender": "x"}),  # 4
    row(personalEmail={"address": "not-an-email"}),  # 5
    row(person={"birthDate": "2024-02-30"}),  # 6
    row(loyalty={"level": 300}),  # 7: int8 overflow
    row(identityMap=[("ECID", [{"id": "a"}]), ("email", [{"id": "b"}, {"id": None}])]),  # 8
    row(subscriptions=[{"status": "active"}, {"status": "paused", "seats": 0}]),  # 9
    row(person=None, identityMap=None, subscriptions=[]),  # 10: nothing under a null is checked
    row(_repo={"createDate": "yesterday"}, person={"birthYear": 1800}),  # 11
    row(_repo={"createDate": "2024-03-01T12:00:00+02:00"}, person={"name": None}),  # 12
]


def test_conform_separates_good_rows_from_bad_ones(profile: TargetSchema) -> None:
    batch = pa.RecordBatch.from_pylist(BATCH_ROWS, schema=SOURCE)
    conformed = profile.conform(batch)

    assert conformed.good.type == pa.int64()
    assert conformed.good.to_pylist() == [0, 1, 10, 12]
    assert codes(conformed) == {
        2: [(REQUIRED_MISSING, "_id")],
        3: [(REQUIRED_MISSING, "_repo.createDate")],
        4: [(REQUIRED_MISSING, "person.name.lastName"), (INVALID_VALUE, "person.gender")],
        5: [(INVALID_VALUE, "personalEmail.address")],
        6: [(INVALID_VALUE, "person.birthDate")],
        7: [(INVALID_VALUE, "loyalty.level")],
        8: [(REQUIRED_MISSING, "identityMap.email[1].id")],
        9: [(INVALID_VALUE, "subscriptions[1].status"), (INVALID_VALUE, "subscriptions[1].seats")],
        11: [(INVALID_VALUE, "_repo.createDate"), (INVALID_VALUE, "person.birthYear")],
    }
    messages = {e.row: [f.message for f in e.errors] for e in conformed.errors}
    assert (
        messages[4][1]
        == "person.gender: 'x' is not one of female, male, not_specified, non_specific"
    )
    assert messages[5] == ["personalEmail.address: 'not-an-email' is not a valid email address"]
    assert messages[6] == ["person.birthDate: '2024-02-30' is not a date (YYYY-MM-DD)"]
    assert messages[7] == ["loyalty.level: 300 is out of range for integer (byte)"]
    assert messages[8] == ["identityMap.email[1].id: required field is missing or null"]
    assert messages[9][1] == "subscriptions[1].seats: 0 is less than the minimum 1"
    assert messages[11] == [
        "_repo.createDate: 'yesterday' is not an ISO-8601 date-time",
        "person.birthYear: 1800 is less than the minimum 1900",
    ]
    assert conformed.errors[0].errors[0] == FieldError(
        REQUIRED_MISSING, "_id: required field is missing or null", "_id"
    )
    assert conformed.errors[0].errors[0].to_dict() == {
        "code": REQUIRED_MISSING,
        "message": "_id: required field is missing or null",
        "field": "_id",
    }


def test_conform_casts_good_rows_exactly_to_the_target(profile: TargetSchema) -> None:
    batch = pa.RecordBatch.from_pylist(BATCH_ROWS, schema=SOURCE)
    conformed = profile.conform(batch)

    expected = pa.RecordBatch.from_pylist(
        [
            target_row(
                person={
                    "name": {"firstName": "Ada", "lastName": "Lovelace"},
                    "birthDate": dt.date(1990, 5, 1),
                    "birthYear": 1990,
                    "gender": "female",
                },
                personalEmail={"address": "ada@example.com", "primary": None},
                identityMap=[
                    ("ECID", [{"id": "e1", "authenticatedState": "ambiguous", "primary": True}])
                ],
                subscriptions=[{"status": "active", "startDate": dt.date(2024, 1, 1), "seats": 3}],
                loyalty={"points": 10, "tier": None, "level": 2, "score": 1.5},
                tags=["vip"],
            ),
            target_row(),
            target_row(subscriptions=[]),
            target_row(person={"name": None, "birthDate": None, "birthYear": None, "gender": None}),
        ],
        schema=profile.arrow,
    )
    assert conformed.data.schema == profile.arrow
    assert conformed.data.equals(expected)


def test_conform_attributes_errors_in_a_sliced_batch(profile: TargetSchema) -> None:
    batch = pa.RecordBatch.from_pylist(BATCH_ROWS, schema=SOURCE).slice(7, 4)
    conformed = profile.conform(batch)
    assert conformed.good.to_pylist() == [3]
    assert codes(conformed) == {
        0: [(INVALID_VALUE, "loyalty.level")],
        1: [(REQUIRED_MISSING, "identityMap.email[1].id")],
        2: [(INVALID_VALUE, "subscriptions[1].status"), (INVALID_VALUE, "subscriptions[1].seats")],
    }


def test_conform_of_a_batch_without_errors_keeps_every_row(profile: TargetSchema) -> None:
    batch = pa.RecordBatch.from_pylist([GOOD_FULL, row()], schema=SOURCE)
    conformed = profile.conform(batch)
    assert conformed.errors == []
    assert conformed.good.to_pylist() == [0, 1]
    assert conformed.data.num_rows == 2


def test_strings_parse_as_utc_date_times() -> None:
    target = TargetSchema.from_arrow(pa.schema([("at", pa.timestamp("us", tz="UTC"))]))
    values = [
        "2024-03-01T10:00:00Z",
        "2024-03-01T12:00:00+02:00",
        "2024-03-01T05:00:00-0500",
        "2024-03-01T10:00:00.123456789+00:00",  # beyond microseconds: truncated
        "2024-03-01 10:00:00",  # no offset: UTC
        "2024-03-01",  # a date alone: midnight UTC
        "2024-02-30T00:00:00Z",
        "2024-03-01T25:00:00Z",
        "soon",
    ]
    batch = pa.RecordBatch.from_pydict({"at": values})
    conformed = target.conform(batch)

    ten = dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert conformed.data.column(0).to_pylist() == [
        ten,
        ten,
        ten,
        ten.replace(microsecond=123456),
        ten,
        dt.datetime(2024, 3, 1, tzinfo=UTC),
    ]
    assert [e.row for e in conformed.errors] == [6, 7, 8]
    assert conformed.errors[2].errors[0].message == "at: 'soon' is not an ISO-8601 date-time"


def test_timestamps_of_any_unit_and_zone_become_utc_microseconds() -> None:
    target = TargetSchema.from_arrow(pa.schema([("at", pa.timestamp("us", tz="UTC"))]))
    instant = dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    paris = pa.array([instant], pa.timestamp("ms", tz="Europe/Paris"))
    naive_ns = pa.array([instant.replace(tzinfo=None)], pa.timestamp("ns"))
    for column in (paris, naive_ns):
        conformed = target.conform(pa.RecordBatch.from_arrays([column], names=["at"]))
        assert conformed.data.column(0).to_pylist() == [instant]

    too_late = pa.array([0, 10**17, None], pa.timestamp("s"))
    conformed = target.conform(pa.RecordBatch.from_arrays([too_late], names=["at"]))
    assert conformed.good.to_pylist() == [0, 2]
    assert codes(conformed) == {1: [(INVALID_VALUE, "at")]}
    assert conformed.errors[0].errors[0].message == (
        "at: 100000000000000000 (timestamp[s]) is out of range for date-time"
    )


def test_integer_narrowing_and_widening() -> None:
    target = TargetSchema.from_arrow(
        pa.schema([("small", pa.int16()), ("big", pa.int64()), ("ratio", pa.float64())])
    )
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([1, 40000, -40000, None], pa.int64()),
            pa.array([1, 2, 2**64 - 1, 3], pa.uint64()),
            pa.array([Decimal("1.50"), None, None, Decimal("-2.25")], pa.decimal128(6, 2)),
        ],
        names=["small", "big", "ratio"],
    )
    conformed = target.conform(batch)
    assert conformed.good.to_pylist() == [0, 3]
    assert codes(conformed) == {
        1: [(INVALID_VALUE, "small")],
        2: [(INVALID_VALUE, "small"), (INVALID_VALUE, "big")],
    }
    assert conformed.errors[1].errors[1].message == (
        "big: 18446744073709551615 is out of range for integer (long)"
    )
    assert conformed.data.to_pylist() == [
        {"small": 1, "big": 1, "ratio": 1.5},
        {"small": None, "big": 3, "ratio": -2.25},
    ]


def test_from_arrow_checks_types_and_nullability_only() -> None:
    target = TargetSchema.from_arrow(
        pa.schema([pa.field("id", pa.string(), nullable=False), ("gender", pa.string())])
    )
    batch = pa.RecordBatch.from_pydict({"id": ["a", None], "gender": ["anything", None]})
    conformed = target.conform(batch)
    assert codes(conformed) == {1: [(REQUIRED_MISSING, "id")]}
    assert conformed.data.to_pylist() == [{"id": "a", "gender": "anything"}]


def test_long_values_are_truncated_in_messages(profile: TargetSchema) -> None:
    address = "x" * 200
    batch = pa.RecordBatch.from_pylist([row(personalEmail={"address": address})], schema=SOURCE)
    message = profile.conform(batch).errors[0].errors[0].message
    assert message.startswith("personalEmail.address: 'xxx")
    assert message.endswith("… is not a valid email address")
    assert len(message) < 150


def test_format_pattern_and_length_rules() -> None:
    resolved = {
        "type": "object",
        "properties": {
            "site": {"type": "string", "format": "uri"},
            "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            "code": {"type": "string", "minLength": 2, "maxLength": 3},
            "score": {"type": "number", "exclusiveMaximum": 1},
        },
    }
    target = TargetSchema.from_xdm(resolved)
    batch = pa.RecordBatch.from_pydict(
        {
            "site": ["https://example.com/a", "not a uri", None],
            "zip": ["75001", "7500", "ABCDE"],
            "code": ["ab", "a", "abcd"],
            "score": [0.5, 1.0, None],
        }
    )
    conformed = target.conform(batch)
    assert conformed.good.to_pylist() == [0]
    assert [f.message for f in conformed.errors[0].errors] == [
        "site: 'not a uri' is not a valid URI",
        "zip: '7500' does not match the pattern '^[0-9]{5}$'",
        "code: 'a' is shorter than the minimum length 2",
        "score: 1.0 is not less than the exclusive maximum 1",
    ]
    assert [f.field for f in conformed.errors[1].errors] == ["zip", "code"]


def test_conform_of_an_empty_batch(profile: TargetSchema) -> None:
    conformed = profile.conform(pa.RecordBatch.from_pylist([], schema=SOURCE))
    assert conformed.data.num_rows == 0
    assert conformed.data.schema == profile.arrow
    assert conformed.errors == []
