"""Values converted towards the type of their destination field.

Only conversions that keep the value are made: text to numbers, booleans, dates and
date-times when it reads as one; whole doubles to integers; numbers, booleans and dates to
text; objects by attribute name and arrays element by element. A value that does not convert
is null and a row failure. A kind of value that never converts (an array into a number) is a
:class:`~lakefeed.errors.MappingError`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import MappingError
from lakefeed.mappings.datetimes import parse_default
from lakefeed.mappings.evaluation import (
    Context,
    boolean,
    is_list,
    is_number,
    is_text,
    isolate_cast,
    number_text,
    parse_number,
    row_numbers,
    text,
)
from lakefeed.schema.arrow import describe
from lakefeed.schema.casts import find_cast


def coerce(ctx: Context, values: pa.Array, target: pa.DataType, where: str) -> pa.Array:
    """``values`` as ``target``; ``where`` is the destination's path, for messages."""
    source = values.type
    if pa.types.is_dictionary(source):
        return coerce(ctx, values.dictionary_decode(), target, where)
    if source == target:
        return values
    if pa.types.is_null(source):
        return pa.nulls(len(values), target)
    problem = f"{{value}} cannot be stored in '{where}' ({describe(target)})"
    name = f"'{where}'"
    if pa.types.is_struct(target):
        return _struct(ctx, values, target, where)
    if is_list(target):
        return _list(ctx, values, target, where)
    if pa.types.is_nested(source) or pa.types.is_nested(target):
        raise _never(source, target, where)
    if is_text(target):
        return text(values, name).cast(target)
    if pa.types.is_boolean(target):
        if is_text(source) or is_number(source):
            return boolean(ctx, values, name)
        raise _never(source, target, where)
    if pa.types.is_integer(target):
        return _integer(ctx, values, target, problem, where)
    if pa.types.is_floating(target) or pa.types.is_decimal(target):
        if is_text(source) and pa.types.is_decimal(target):  # exactly, not through a double
            digits = number_text(ctx, values.cast(pa.string()), name)
            return isolate_cast(ctx, digits, target, problem)
        if is_text(source):
            return parse_number(ctx, values, name, integer=False).cast(target)
        if is_number(source):
            return _cast(ctx, values, target, problem)
        raise _never(source, target, where)
    if pa.types.is_timestamp(target) or pa.types.is_date(target):
        if pa.types.is_timestamp(source) or pa.types.is_date(source) or is_text(source):
            instants = parse_default(ctx, values, name)
            if pa.types.is_date(target):
                return instants.cast(pa.timestamp("us")).cast(pa.date32()).cast(target)
            return _cast(ctx, instants, target, problem)
        raise _never(source, target, where)
    return _cast(ctx, values, target, problem)


def _never(source: pa.DataType, target: pa.DataType, where: str) -> MappingError:
    return MappingError(
        f"A value of type {describe(source)} cannot be stored in '{where}', which is "
        f"{describe(target)}.",
        fix="Map a value of the destination's type, or convert it in an expression "
        "(to_integer(), date(), concat() …).",
    )


def _cast(ctx: Context, values: pa.Array, target: pa.DataType, problem: str) -> pa.Array:
    found = find_cast(values.type, target)
    if found is not None:
        converted, failed = found.run(values)
        if failed is not None:
            ctx.fail(pc.is_in(row_numbers(len(values)), value_set=failed), problem, values)
        return converted
    return isolate_cast(ctx, values, target, problem)


def _integer(
    ctx: Context, values: pa.Array, target: pa.DataType, problem: str, where: str
) -> pa.Array:
    source = values.type
    if is_text(source):
        values = parse_number(ctx, values, f"'{where}'")
        source = values.type
    if pa.types.is_floating(source) or pa.types.is_decimal(source):
        doubles = values.cast(pa.float64())
        fraction = pc.not_equal(pc.trunc(doubles), doubles)
        ctx.fail(fraction, f"{{value}} is not a whole number for '{where}'", values)
        values = pc.if_else(fraction, pa.scalar(None, pa.float64()), doubles)
        return isolate_cast(ctx, values, target, problem)
    if pa.types.is_integer(source):
        return _cast(ctx, values, target, problem)
    raise _never(source, target, where)


def _struct(ctx: Context, values: pa.Array, target: pa.DataType, where: str) -> pa.Array:
    """Objects by attribute name: attributes the destination lacks are left out, those the
    value lacks are null."""
    if not pa.types.is_struct(values.type):
        raise _never(values.type, target, where)
    children = []
    for field in target:
        index = values.type.get_field_index(field.name)
        if index < 0:
            children.append(pa.nulls(len(values), field.type))
            continue
        child = pc.struct_field(values, [index])
        children.append(coerce(ctx, child, field.type, f"{where}.{field.name}"))
    mask = values.is_null() if values.null_count else None
    return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)


def _list(ctx: Context, values: pa.Array, target: pa.DataType, where: str) -> pa.Array:
    """Arrays element by element; a failing element fails its row."""
    if not is_list(values.type):
        raise _never(values.type, target, where)
    items = pc.list_flatten(values)
    parents = pc.list_parent_indices(values)
    inner = Context(pa.record_batch([items], names=["items"]), ctx.now)
    converted = coerce(inner, items, target.value_type, f"{where}[]")
    if inner.failures:
        rows = parents.take(pa.array([row for row, _ in inner.failures], pa.int64())).to_pylist()
        ctx.failures.extend(
            (row, message) for row, (_, message) in zip(rows, inner.failures, strict=True)
        )
    lengths = pc.list_value_length(values).fill_null(0).cast(pa.int64())
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(lengths)])
    mask = values.is_null() if values.null_count else None
    if pa.types.is_large_list(target):
        return pa.LargeListArray.from_arrays(offsets, converted, type=target, mask=mask)
    return pa.ListArray.from_arrays(offsets.cast(pa.int32()), converted, type=target, mask=mask)
