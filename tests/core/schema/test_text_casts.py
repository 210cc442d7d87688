"""Text into numbers, booleans, decimals, dates and timestamps (delimited files read every column
as text): a value that does not convert fails alone, an empty string is null, and nothing
raises."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.schema.casts import find_cast
from lakefeed.schema.conform import TargetSchema


def run(target: pa.DataType, values: list[Any], source: pa.DataType | None = None) -> Any:
    source = source or pa.string()
    cast = find_cast(source, target)
    assert cast is not None, f"no cast from {source} to {target}"
    converted, failed = cast.run(pa.array(values, source))
    assert converted.type == target
    return converted.to_pylist(), None if failed is None else failed.to_pylist()


@pytest.mark.parametrize("source", [pa.string(), pa.large_string()])
def test_integers(source: pa.DataType) -> None:
    assert run(pa.int64(), ["1", "-2", " 3 ", "+4", "", "  ", None], source) == (
        [1, -2, 3, 4, None, None, None],
        None,
    )
    assert run(pa.int64(), ["1", "1.5", "x", "9223372036854775808", "2"], source) == (
        [1, None, None, None, 2],
        [1, 2, 3],
    )
    assert run(pa.int16(), ["32767", "32768", "-32769"]) == ([32767, None, None], [1, 2])


def test_an_integer_failure_names_the_target() -> None:
    cast = find_cast(pa.string(), pa.int32())
    assert cast is not None and cast.problem == "is not an integer in the range of integer (int)"


def test_doubles() -> None:
    assert run(pa.float64(), ["1.5", "-2", "1e3", " .5 ", "", "1,5", "abc"]) == (
        [1.5, -2.0, 1000.0, 0.5, None, None, None],
        [5, 6],
    )


def test_booleans_in_words_any_case() -> None:
    words = ["true", "FALSE", "Yes", "no", "1", "0", " True ", "", None, "maybe", "2"]
    assert run(pa.bool_(), words) == (
        [True, False, True, False, True, False, True, None, None, None, None],
        [9, 10],
    )


def test_decimals_only_where_exact() -> None:
    target = pa.decimal128(6, 2)
    assert run(target, ["1.5", "-0.25", "", "1.234", "123456", "x"]) == (
        [Decimal("1.50"), Decimal("-0.25"), None, None, None, None],
        [3, 4, 5],
    )


def test_empty_dates_and_timestamps_are_null_not_failures() -> None:
    assert run(pa.date32(), ["2026-01-02", "", " ", "2026-02-30"])[1] == [3]
    utc = pa.timestamp("us", "UTC")
    converted, failed = run(utc, ["2026-01-02T03:04:05Z", "", "soon"])
    assert converted[1] is None and failed == [2]


def test_the_fast_path_keeps_good_columns_whole() -> None:
    values = pa.array([str(n) for n in range(100_000)])
    cast = find_cast(pa.string(), pa.int64())
    assert cast is not None
    converted, failed = cast.run(values)
    assert failed is None and converted.to_pylist()[-1] == 99_999


def test_text_columns_conform_to_numbers_booleans_and_decimals_row_by_row() -> None:
    target = TargetSchema.from_arrow(
        pa.schema(
            [
                ("id", pa.int64()),
                ("score", pa.float64()),
                ("ok", pa.bool_()),
                ("price", pa.decimal128(8, 2)),
            ]
        )
    )
    batch = pa.record_batch(
        [
            pa.array(["1", "2", "x"]),
            pa.array(["1.5", "", "3"]),
            pa.array(["yes", "no", "true"]),
            pa.array(["9.99", "1", "2"]),
        ],
        names=["id", "score", "ok", "price"],
    )
    assert target.check_file(batch.schema) == []
    conformed = target.conform(batch)
    assert conformed.data.to_pylist() == [
        {"id": 1, "score": 1.5, "ok": True, "price": Decimal("9.99")},
        {"id": 2, "score": None, "ok": False, "price": Decimal("1.00")},
    ]
    (error,) = conformed.errors
    assert error.row == 2 and "'x' is not an integer" in error.errors[0].message


def test_timestamps_without_an_offset_are_utc_with_or_beside_ones_with() -> None:
    utc = pa.timestamp("us", "UTC")
    plain, failed = run(utc, ["2026-01-02 03:04:05", "2026-01-02T03:04:05.5", None])
    assert failed is None
    assert [v.isoformat() if v else v for v in plain] == [
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T03:04:05.500000+00:00",
        None,
    ]
    mixed, failed = run(utc, ["2026-01-02 03:04:05", "2026-01-02T05:04:05+02:00", "x"])
    assert mixed[0] == mixed[1] and failed == [2]


def test_a_blank_in_a_required_non_text_field_is_a_row_error() -> None:
    target = TargetSchema.from_arrow(
        pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("n", pa.string())])
    )
    batch = pa.record_batch(
        [pa.array(["1", " ", "3"]), pa.array(["a", "", "c"])], names=["id", "n"]
    )

    conformed = target.conform(batch)

    assert conformed.data.column("id").to_pylist() == [1, 3]
    (error,) = conformed.errors
    assert error.row == 1
    assert error.errors[0].code == "INGEST-1555-400" and error.errors[0].field == "id"
