"""``fill_under_null_parents``: what a null struct hides becomes writable, nothing else changes."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed.datasets.struct_fill import fill_under_null_parents, needs_fill

REQUIRED = pa.field("id", pa.string(), nullable=False)
INNER = pa.struct([REQUIRED, pa.field("n", pa.int64()), pa.field("d", pa.date32(), False)])
OUTER = pa.struct([pa.field("inner", INNER), pa.field("amount", pa.decimal128(10, 2), False)])
SCHEMA = pa.schema(
    [
        pa.field("outer", OUTER),
        pa.field("items", pa.list_(pa.field("item", OUTER))),
        pa.field("plain", pa.string()),
    ]
)


def written(table: pa.Table) -> pa.Table:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return pq.read_table(io.BytesIO(sink.getvalue()))


def test_hidden_nulls_are_filled_and_read_back_as_null_parents() -> None:
    # How pyiceberg reads a file that lacks ``outer`` (all null) next to one that has it.
    present = pa.array([{"inner": {"id": "a", "n": 1, "d": 0}, "amount": 1}, None], type=OUTER)
    missing = pa.nulls(2, OUTER)
    # An item whose ``inner`` its file lacked: the list holds a null struct too.
    item = pa.StructArray.from_arrays(
        [pa.nulls(1, INNER), pa.array([2], pa.decimal128(10, 2))], fields=list(OUTER)
    )
    items = pa.ListArray.from_arrays(
        pa.array([0, 1, 1], pa.int32()), item, type=SCHEMA.field("items").type,
        mask=pa.array([False, True]),
    )  # fmt: skip
    with pytest.raises(pa.ArrowInvalid, match="non-nullable"):
        written(pa.table({"items": items}))
    table = pa.Table.from_arrays(
        [pa.chunked_array([present, missing]), pa.chunked_array([items, items]),
         pa.chunked_array([pa.array(["x", None]), pa.array([None, "y"])])],
        schema=SCHEMA,
    )  # fmt: skip
    with pytest.raises(pa.ArrowInvalid, match="non-nullable"):
        written(table)

    filled = fill_under_null_parents(table)

    assert filled.schema == SCHEMA
    assert filled.to_pylist() == table.to_pylist()  # what readers see is unchanged
    assert written(filled).to_pylist() == table.to_pylist()


def test_a_null_under_a_present_parent_is_left_for_the_writer_to_refuse() -> None:
    broken = pa.StructArray.from_arrays(
        [pa.array([None], pa.string()), pa.array([1]), pa.array([0], pa.date32())],
        fields=list(INNER),
    )
    table = pa.table({"inner": broken})
    assert needs_fill(INNER) and not needs_fill(pa.struct([pa.field("x", pa.int8())]))

    with pytest.raises(pa.ArrowInvalid, match="non-nullable"):
        written(fill_under_null_parents(table))
