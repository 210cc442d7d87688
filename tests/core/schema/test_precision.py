"""Values kept exactly where the target allows it, and the values that lose digits counted:
decimals as XDM decimals, nanoseconds into microseconds, wide integers and decimals into
doubles (pure logic)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import InvalidSchema
from lakefeed.schema.arrow import to_arrow
from lakefeed.schema.conform import INVALID_VALUE, TargetSchema
from lakefeed.schema.infer import infer_properties, merge_inferred

UTC_US = pa.timestamp("us", tz="UTC")


def decimal_field(precision: Any, scale: Any = 0) -> dict[str, Any]:
    return {
        "type": "number",
        "meta:xdmType": "decimal",
        "meta:precision": precision,
        "meta:scale": scale,
    }


def schema_of(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


def test_an_xdm_decimal_is_an_exact_arrow_decimal() -> None:
    arrow = to_arrow(schema_of({"price": decimal_field(20, 2), "n": decimal_field(38)}))
    assert arrow.field("price").type == pa.decimal128(20, 2)
    assert arrow.field("n").type == pa.decimal128(38, 0)


@pytest.mark.parametrize(
    ("precision", "scale"), [(None, 0), (0, 0), (39, 2), (10, 11), (10, -1), (True, 0), (5.5, 1)]
)
def test_a_decimal_without_a_usable_precision_and_scale_is_refused(
    precision: Any, scale: Any
) -> None:
    with pytest.raises(InvalidSchema, match="Decimal field 'price'"):
        to_arrow(schema_of({"price": decimal_field(precision, scale)}))


def test_inference_keeps_decimals_exact_up_to_iceberg_s_precision() -> None:
    properties, _ = infer_properties(
        pa.schema(
            [
                ("price", pa.decimal128(12, 2)),
                ("huge", pa.decimal256(40, 2)),  # wider than Iceberg's 38 digits: a double
                ("ratio", pa.float32()),
            ]
        )
    )
    assert properties["price"] == decimal_field(12, 2)
    assert properties["huge"] == {"type": "number", "meta:xdmType": "number"}
    assert properties["ratio"] == {"type": "number", "meta:xdmType": "number"}


def test_merged_decimals_widen_to_hold_every_file() -> None:
    files = [
        pa.schema([("a", pa.decimal128(10, 2)), ("b", pa.decimal128(8, 0)), ("c", pa.int64())]),
        pa.schema([("a", pa.decimal128(8, 4)), ("b", pa.int32()), ("c", pa.decimal128(38, 20))]),
        pa.schema([("a", pa.decimal128(5, 1)), ("b", pa.float64()), ("c", pa.decimal128(6, 1))]),
    ]
    properties, _ = merge_inferred(files)
    assert properties["a"] == decimal_field(12, 4)  # 8 integer digits, 4 after the point
    assert properties["b"] == {"type": "number", "meta:xdmType": "number"}  # met a double
    assert properties["c"] == {"type": "number", "meta:xdmType": "number"}  # 19 + 20 > 38 digits
    assert merge_inferred([files[0], pa.schema([("c", pa.decimal128(6, 2))])])[0]["c"] == (
        decimal_field(21, 2)  # a long's 19 digits and 2 after the point
    )


def test_decimals_into_a_decimal_are_exact_or_rejected_never_rounded() -> None:
    target = TargetSchema.from_arrow(pa.schema([("price", pa.decimal128(6, 2))]))
    values = [Decimal("1.50"), Decimal("1.505"), Decimal("12345.6"), None]
    batch = pa.RecordBatch.from_arrays([pa.array(values, pa.decimal128(9, 3))], ["price"])

    conformed = target.conform(batch)

    assert conformed.data.column(0).to_pylist() == [Decimal("1.50"), None]
    assert [e.row for e in conformed.errors] == [1, 2]
    (error,) = conformed.errors[0].errors
    assert error.code == INVALID_VALUE
    assert error.message == "price: 1.505 cannot be stored exactly as decimal128(6, 2)"
    assert conformed.losses == {}


def test_timestamps_finer_than_the_target_are_truncated_and_counted() -> None:
    target = TargetSchema.from_arrow(
        pa.schema([("at", UTC_US), ("text", UTC_US), ("coarse", UTC_US), ("coded", UTC_US)])
    )
    nanos = [1_700_000_000_123_456_789, 1_700_000_000_123_456_000, None]
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(nanos, pa.timestamp("ns")),
            pa.array(["2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00.123456000Z", None]),
            pa.array([1_700_000_000_123, None, None], pa.timestamp("ms")),
            pa.array(nanos, pa.timestamp("ns", "Europe/Paris")).dictionary_encode(),
        ],
        ["at", "text", "coarse", "coded"],
    )

    conformed = target.conform(batch)

    assert conformed.errors == []
    assert conformed.losses == {"truncatedTimestamps": {"at": 1, "text": 1, "coded": 1}}
    micros = conformed.data.column(0).cast(pa.int64()).to_pylist()
    assert micros == [1_700_000_000_123_456, 1_700_000_000_123_456, None]
    assert conformed.data.column(3).equals(conformed.data.column(0))


def test_numbers_a_double_cannot_hold_are_counted_per_field() -> None:
    target = TargetSchema.from_arrow(
        pa.schema([("big", pa.float64()), ("small", pa.float64()), ("money", pa.float64())])
    )
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([2**53 + 1, 2**53, 7, None], pa.int64()),
            pa.array([2**31 - 1, -(2**31), 0, 1], pa.int32()),  # always exact
            pa.array(
                [Decimal("12345678901234567.89"), Decimal("0.10"), Decimal("1.50"), None],
                pa.decimal128(20, 2),
            ),
        ],
        ["big", "small", "money"],
    )

    conformed = target.conform(batch)

    assert conformed.errors == []
    assert conformed.losses == {"roundedNumbers": {"big": 1, "money": 1}}
    assert conformed.data.column(2).to_pylist()[0] == 1.2345678901234568e16


def test_decimals_into_doubles_are_the_nearest_doubles() -> None:
    """Arrow's own decimal-to-double cast is often one unit in the last place off, and a round
    trip at the decimal's scale hides it: 1234567.89 became 1234567.8900000001, uncounted."""
    target = TargetSchema.from_arrow(pa.schema([("money", pa.float64()), ("wide", pa.float64())]))
    money = [Decimal("1234567.89"), Decimal("12345.67"), Decimal("-0.07"), None]
    wide = [Decimal("1.5"), Decimal("12345.67"), Decimal("1" * 40 + ".5"), None]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(money, pa.decimal128(10, 2)), pa.array(wide, pa.decimal256(45, 5))],
        ["money", "wide"],
    )

    conformed = target.conform(batch)

    nearest = [[None if v is None else float(v) for v in values] for values in (money, wide)]
    assert conformed.data.column(0).to_pylist() == nearest[0]
    assert conformed.data.column(1).to_pylist() == nearest[1]
    assert conformed.losses == {"roundedNumbers": {"wide": 1}}  # only the 41 digits


def test_losses_in_nested_fields_are_counted_by_path() -> None:
    item = pa.struct([("at", UTC_US)])
    target = TargetSchema.from_arrow(pa.schema([("visits", pa.list_(item))]))
    source = pa.struct([("at", pa.timestamp("ns"))])
    visits = pa.array(
        [[{"at": 1_000_000_001}, {"at": 2_000_000_000}], None, [{"at": 3_000_000_003}]],
        pa.list_(source),
    )
    conformed = target.conform(pa.RecordBatch.from_arrays([visits], ["visits"]))
    assert conformed.losses == {"truncatedTimestamps": {"visits[].at": 2}}


def test_bounds_apply_to_decimal_fields() -> None:
    resolved = schema_of({"price": {**decimal_field(8, 2), "minimum": 0}})
    target = TargetSchema.from_xdm(resolved)
    batch = pa.RecordBatch.from_arrays(
        [pa.array([Decimal("1.00"), Decimal("-0.01")], pa.decimal128(8, 2))], ["price"]
    )
    conformed = target.conform(batch)
    assert [e.row for e in conformed.errors] == [1]
    assert "is less than the minimum 0" in conformed.errors[0].errors[0].message
