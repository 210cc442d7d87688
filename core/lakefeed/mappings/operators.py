"""The operators of expressions, over whole columns.

``+`` joins text when either side is text (a null side counts as empty text; both null give
null) and adds numbers otherwise. ``- * / %`` work on numbers, parsing text operands; whole
numbers divide to whole numbers (towards zero) and ``%`` takes the sign of the dividend, as in
Java. Dividing by zero, or a result beyond a long, is a row failure. ``==`` and ``!=`` treat
null as a value (``x == null`` is true for null x); the other comparisons are false when a side
is null. ``&&``, ``||`` and ``!`` read their operands as conditions (``evaluation.truthy``).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import MappingError
from lakefeed.mappings.datetimes import parse_default
from lakefeed.mappings.evaluation import (
    Context,
    is_number,
    is_text,
    isolate,
    number,
    row_numbers,
    text,
    truthy,
    unify,
)
from lakefeed.schema.arrow import describe


def unary(ctx: Context, op: str, values: pa.Array) -> pa.Array:
    if op == "!":
        return pc.invert(truthy(values))
    values = number(ctx, values, "-")
    return _checked(ctx, "-", lambda v: pc.negate_checked(v[0]), [values])


def logical(op: str, left: pa.Array, right: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The result, and where the right side was needed (short-circuit)."""
    left, right = truthy(left), truthy(right)
    if op == "&&":
        return pc.and_(left, right), left
    return pc.or_(left, right), pc.invert(left)


def binary(ctx: Context, op: str, left: pa.Array, right: pa.Array) -> pa.Array:
    if op in ("==", "!="):
        equal = _equal(ctx, op, left, right)
        return equal if op == "==" else pc.invert(equal)
    if op in ("<", "<=", ">", ">="):
        return _compare(ctx, op, left, right)
    if op == "+" and (is_text(left.type) or is_text(right.type)):
        return _join_text(left, right)
    left, right = number(ctx, left, op), number(ctx, right, op)
    left, right = unify([left, right], op)
    if op in ("/", "%"):
        zero = pc.equal(right, 0).fill_null(False)
        ctx.fail(zero, f"{op}: division by zero")
        right = pc.if_else(zero, pa.scalar(None, right.type), right)
    if op == "+":
        return _checked(ctx, op, lambda v: pc.add_checked(v[0], v[1]), [left, right])
    if op == "-":
        return _checked(ctx, op, lambda v: pc.subtract_checked(v[0], v[1]), [left, right])
    if op == "*":
        return _checked(ctx, op, lambda v: pc.multiply_checked(v[0], v[1]), [left, right])
    if op == "/":
        return _checked(ctx, op, lambda v: pc.divide_checked(v[0], v[1]), [left, right])
    if op == "%":
        return _checked(ctx, op, lambda v: _remainder(v[0], v[1]), [left, right])
    raise MappingError(f"Unknown operator {op!r}.")


def _remainder(left: pa.Array, right: pa.Array) -> pa.Array:
    """Java's %: the sign of the dividend (Arrow's modulo takes the divisor's)."""
    quotient = pc.divide_checked(left, right)
    if not pa.types.is_integer(quotient.type):
        quotient = pc.trunc(quotient)
    return pc.subtract_checked(left, pc.multiply_checked(quotient, right))


def _checked(
    ctx: Context, op: str, run: Callable[[list[pa.Array]], pa.Array], values: list[pa.Array]
) -> pa.Array:
    """A checked kernel over whole columns; the rows it overflows in become failures."""
    table = pa.StructArray.from_arrays(values, [str(i) for i in range(len(values))])

    def on(part: pa.Array) -> pa.Array:
        return run(part.flatten())

    try:
        return on(table)
    except pa.ArrowInvalid:
        pass
    target = run([v.slice(0, 0) for v in values]).type
    result, failed = isolate(on, table, target)
    if failed is not None:
        ctx.fail(
            pc.is_in(row_numbers(len(table)), value_set=failed), f"{op}: the result is out of range"
        )
    return result


def _join_text(left: pa.Array, right: pa.Array) -> pa.Array:
    left, right = text(left, "+"), text(right, "+")
    both_null = pc.and_(left.is_null(), right.is_null())
    joined = pc.binary_join_element_wise(
        left, right, "", null_handling="replace", null_replacement=""
    )
    return pc.if_else(both_null, pa.scalar(None, pa.string()), joined)


def _comparable(ctx: Context, op: str, left: pa.Array, right: pa.Array) -> list[pa.Array]:
    """Both sides in one type. Text against a number compares as numbers (text that is not
    a number compares as null, without a failure); text against a date-time reads the text as
    an ISO 8601 date-time."""
    lt, rt = left.type, right.type
    if is_text(lt) and is_number(rt):
        left = _quiet_number(left)
    elif is_number(lt) and is_text(rt):
        right = _quiet_number(right)
    elif is_text(lt) and pa.types.is_temporal(rt):
        left = _quiet_date_time(left)
    elif pa.types.is_temporal(lt) and is_text(rt):
        right = _quiet_date_time(right)
    elif pa.types.is_boolean(lt) != pa.types.is_boolean(rt) and not (
        pa.types.is_null(lt) or pa.types.is_null(rt)
    ):
        raise MappingError(
            f"{op}: cannot compare {describe(lt)} with {describe(rt)}.",
            fix="Convert one side first, e.g. with to_boolean().",
        )
    return unify([left, right], op)


def _quiet_number(values: pa.Array) -> pa.Array:
    strings = pc.utf8_trim_whitespace(values.cast(pa.string()))
    shaped = pc.match_substring_regex(strings, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    return pc.if_else(shaped, strings, pa.scalar(None, pa.string())).cast(pa.float64())


def _quiet_date_time(values: pa.Array) -> pa.Array:
    return parse_default(None, values, "compare")


def _equal(ctx: Context, op: str, left: pa.Array, right: pa.Array) -> pa.Array:
    left, right = _comparable(ctx, op, left, right)
    if pa.types.is_null(left.type) or pa.types.is_null(right.type):
        return pc.and_(left.is_null(), right.is_null())
    equal = _kernel(pc.equal, op, left, right)
    both_null = pc.and_(left.is_null(), right.is_null())
    return pc.if_else(both_null, True, equal.fill_null(False))


def _compare(ctx: Context, op: str, left: pa.Array, right: pa.Array) -> pa.Array:
    left, right = _comparable(ctx, op, left, right)
    if pa.types.is_null(left.type) or pa.types.is_null(right.type):
        return pa.repeat(False, len(left))
    kernel = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}[op]
    return _kernel(kernel, op, left, right).fill_null(False)


def _kernel(
    kernel: Callable[[pa.Array, pa.Array], pa.Array], op: str, left: pa.Array, right: pa.Array
) -> pa.Array:
    try:
        return kernel(left, right)
    except pa.ArrowNotImplementedError as exc:
        raise MappingError(
            f"{op}: cannot compare values of type {describe(left.type)}.",
            fix="Compare text, numbers, booleans or dates.",
        ) from exc
