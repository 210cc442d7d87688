"""Values under null structs, for the Parquet writer.

A data file that lacks an optional struct reads as a null struct whose fields are null too,
required ones included (pyiceberg projects a missing column that way). Arrow's Parquet writer
refuses a required column holding nulls, even where every one of them sits under a null parent
and no reader ever sees it. :func:`fill_under_null_parents` puts a placeholder (``""``, ``0``,
an empty list, …) in those hidden slots, and only there: a null in a required field whose
parent is present is left for the writer to refuse, as it should.
"""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.compute as pc


def needs_fill(data_type: pa.DataType) -> bool:
    """Whether ``data_type`` holds a required field inside a struct (so a null struct of it
    may hide nulls the writer refuses)."""
    if pa.types.is_struct(data_type):
        return any(not f.nullable or needs_fill(f.type) for f in data_type)
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return needs_fill(data_type.value_type)
    return False


def fill_under_null_parents(table: pa.Table) -> pa.Table:
    """``table`` with the hidden nulls of its struct columns filled (a column that cannot hold
    them is passed as it is)."""
    columns = []
    for column, field in zip(table.columns, table.schema, strict=True):
        if needs_fill(field.type) and column.null_count:
            column = pa.chunked_array(
                [_filled(chunk, field.type) for chunk in column.chunks], type=field.type
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def _filled(array: pa.Array, data_type: pa.DataType) -> pa.Array:
    if pa.types.is_struct(data_type):
        parent_null = array.is_null()
        children = []
        for index, field in enumerate(data_type):
            child = _filled(array.field(index), field.type)
            if not field.nullable and child.null_count:
                hidden = pc.and_(child.is_null(), parent_null)
                child = pc.if_else(hidden, _placeholder(field.type, len(child)), child)
            children.append(child)
        mask = parent_null if array.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(data_type), mask=mask)
    if (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)) and len(array):
        array = pa.concat_arrays([array])  # offsets from 0, so they index .values as they are
        values = _filled(array.values, data_type.value_type)
        mask = array.is_null() if array.null_count else None
        return type(array).from_arrays(array.offsets, values, type=data_type, mask=mask)
    return array


def _placeholder(data_type: pa.DataType, length: int) -> pa.Array:
    """``length`` non-null values of ``data_type``: never read, only there to be written."""
    if isinstance(data_type, pa.ExtensionType):
        storage = _placeholder(data_type.storage_type, length)
        return pa.ExtensionArray.from_storage(data_type, storage)
    if pa.types.is_struct(data_type):
        children = [_placeholder(f.type, length) for f in data_type]
        return pa.StructArray.from_arrays(children, fields=list(data_type))
    if (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_map(data_type)
    ):
        return pa.array([[]] * length, type=data_type)
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        value: object = ""
    elif pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        value = b""
    elif pa.types.is_fixed_size_binary(data_type):
        value = b"\0" * data_type.byte_width
    elif pa.types.is_decimal(data_type):
        value = decimal.Decimal(0)
    elif pa.types.is_boolean(data_type):
        value = False
    else:  # numbers, dates, times, timestamps: zero of their storage
        storage = pa.int32() if pa.types.is_date32(data_type) else pa.int64()
        return pa.array([0] * length, storage).cast(data_type)
    return pa.repeat(pa.scalar(value, data_type), length)
