"""What expressions evaluate against: one record batch, the run's clock, the row failures.

Every value is an Arrow array as long as the batch (literals are repeated), so functions are
pyarrow compute calls over whole columns. Python runs per row only to word the failures of the
rows that have one. The helpers below convert values the way Data Prep does: text from numbers,
numbers from text (a value that is not a number is a row failure), truthiness for conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import MappingError
from lakefeed.mappings.paths import Path, format_path
from lakefeed.schema.arrow import describe

#: (row index in the batch, message)
Failure = tuple[int, str]


class Evaluable(Protocol):
    """An expression (``lakefeed.mappings.expressions.Expression``), as far as this module
    needs one."""

    def evaluate(self, ctx: Context) -> pa.Array: ...


TIMESTAMP = pa.timestamp("us", tz="UTC")
_SHOWN_CHARS = 80
NUMBER_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


class Context:
    """One evaluation: the batch's columns by path, ``now`` and the failures recorded."""

    def __init__(self, batch: pa.RecordBatch, now: datetime) -> None:
        self.batch = batch
        self.num_rows = batch.num_rows
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.failures: list[Failure] = []
        self._columns: dict[Path, pa.Array] = {}
        #: calls already evaluated in this batch, by their text: their values and failures
        #: (an expression that repeats ``to_integer(x)``, or two mappings that share one,
        #: computes it once)
        self.evaluated: dict[str, tuple[pa.Array, list[Failure]]] = {}

    # --- source columns --------------------------------------------------------------------

    def column(self, path: Path) -> pa.Array:
        """The values at ``path``; nulls (of the null type) when the batch has no such path.
        A struct's null rows are null in its children too."""
        found = self._columns.get(path)
        if found is None:
            found = self._resolve(path)
            self._columns[path] = found
        return found

    def has_column(self, path: Path) -> bool:
        return find_path(self.batch.schema, path) is None

    def _resolve(self, path: Path) -> pa.Array:
        if find_path(self.batch.schema, path) is not None:
            return pa.nulls(self.num_rows)
        values: pa.Array = self.batch.column(self.batch.schema.get_field_index(path[0]))
        for name in path[1:]:
            values = pc.struct_field(_decoded(values), [values.type.get_field_index(name)])
        return _decoded(values)

    # --- literals ----------------------------------------------------------------------------

    def repeat(self, value: Any, data_type: pa.DataType | None = None) -> pa.Array:
        if value is None:
            return pa.nulls(self.num_rows, data_type or pa.null())
        return pa.repeat(pa.scalar(value, data_type), self.num_rows)

    # --- failures ------------------------------------------------------------------------------

    def fail(self, mask: pa.Array, message: str, values: pa.Array | None = None) -> None:
        """Record a failure for each row where ``mask`` is true. ``{value}`` in ``message`` is
        replaced by the row's value of ``values``."""
        mask = mask.fill_null(False) if mask.null_count else mask
        if not mask.true_count:
            return
        rows = pc.indices_nonzero(mask).to_pylist()
        if values is None or "{value}" not in message:
            self.failures.extend((row, message) for row in rows)
            return
        shown = python_values(values.filter(mask))
        self.failures.extend(
            (row, message.replace("{value}", show(value)))
            for row, value in zip(rows, shown, strict=True)
        )

    def scoped(self, expression: Evaluable) -> tuple[pa.Array, list[Failure]]:
        """Evaluate ``expression`` and return its failures instead of recording them."""
        kept = self.failures
        self.failures = []
        try:
            return expression.evaluate(self), self.failures
        finally:
            self.failures = kept

    def keep(self, failures: list[Failure], where: pa.Array) -> None:
        """Record those of ``failures`` whose row is true in ``where``: a branch's failures
        count only in the rows that take the branch."""
        if not failures:
            return
        rows = pa.array([row for row, _ in failures], pa.int64())
        taken = where.take(rows).fill_null(False).to_pylist()
        self.failures.extend(f for f, yes in zip(failures, taken, strict=True) if yes)


def find_path(schema: pa.Schema, path: Path) -> str | None:
    """``None`` when ``schema`` has a field at ``path``; otherwise why not."""
    names = schema.names
    if names.count(path[0]) != 1:
        if path[0] in names:
            return f"'{path[0]}' appears more than once in the source"
        return f"the source has no attribute '{path[0]}'"
    data_type = schema.field(path[0]).type
    for depth, name in enumerate(path[1:], start=1):
        if pa.types.is_dictionary(data_type):
            data_type = data_type.value_type
        parent = format_path(path[:depth])
        if not pa.types.is_struct(data_type):
            return f"'{parent}' is {describe(data_type)}, not an object"
        if data_type.get_field_index(name) < 0:
            children = ", ".join(f.name for f in data_type) or "none"
            return f"the object '{parent}' has no attribute '{name}' (it has: {children})"
        data_type = data_type.field(name).type
    return None


def _decoded(values: pa.Array) -> pa.Array:
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


# --- showing values in messages ---------------------------------------------------------------


def python_values(values: pa.Array) -> list[Any]:
    try:
        return values.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        return [str(scalar) for scalar in values]


def show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


# --- kinds of values --------------------------------------------------------------------------


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def type_error(function: str, what: str, values: pa.Array) -> MappingError:
    return MappingError(
        f"{function}: {what}, not {describe(values.type)}.",
        fix="Convert the value first, or map another attribute.",
    )


# --- conversions ------------------------------------------------------------------------------


def text(values: pa.Array, function: str) -> pa.Array:
    """Values as strings: numbers and booleans written out, dates and date-times in ISO 8601
    (UTC date-times end in ``Z``)."""
    t = values.type
    if pa.types.is_string(t):
        return values
    if is_text(t) or pa.types.is_null(t):
        return values.cast(pa.string())
    if pa.types.is_boolean(t) or is_number(t):
        return values.cast(pa.string())
    if pa.types.is_date(t):
        return values.cast(pa.date32()).cast(pa.string())
    if pa.types.is_timestamp(t):
        return iso_text(values)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return _checked_utf8(values, function)
    raise type_error(function, "the value must be text, a number, a boolean or a date", values)


def _checked_utf8(values: pa.Array, function: str) -> pa.Array:
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise type_error(function, "binary values must be UTF-8 text", values) from exc


def iso_text(values: pa.Array) -> pa.Array:
    """ISO 8601 text of date-times: ``2019-10-23T11:24:00Z`` in UTC, the local time and its
    offset (``+02:00``) for a zoned type; fractions of a second only where there are some."""
    zone = values.type.tz
    utc = values.cast(TIMESTAMP)
    local = utc
    if zone not in (None, "UTC", "+00:00", "Z"):
        local = pc.local_timestamp(utc.cast(pa.timestamp("us", zone)))
    whole = pc.floor_temporal(local, unit="second")
    seconds = pc.strftime(whole.cast(pa.timestamp("s", whole.type.tz)), format="%Y-%m-%dT%H:%M:%S")
    micros = pc.subtract(local.cast(pa.int64()), whole.cast(pa.int64()))
    digits = pc.utf8_lpad(micros.cast(pa.string()), 6, "0")
    fraction = pc.binary_join_element_wise(".", pc.replace_substring_regex(digits, "0+$", ""), "")
    fraction = pc.if_else(pc.equal(micros, 0), "", fraction)
    if local is utc:
        suffix: pa.Array | str = "Z"
    else:
        suffix = offset_text(pc.subtract(local.cast(pa.int64()), utc.cast(pa.int64())))
    return pc.binary_join_element_wise(seconds, fraction, suffix, "")


def offset_text(offset_micros: pa.Array, colon: bool = True, zulu: bool = True) -> pa.Array:
    """``+02:00`` (or ``+0200``) for offsets in microseconds; ``Z`` for zero when ``zulu``."""
    minutes = pc.divide(offset_micros, 60_000_000)
    sign = pc.if_else(pc.less(minutes, 0), "-", "+")
    minutes = pc.abs(minutes)
    hours = pc.utf8_lpad(pc.divide(minutes, 60).cast(pa.string()), 2, "0")
    rest = pc.utf8_lpad(
        pc.subtract(minutes, pc.multiply(pc.divide(minutes, 60), 60)).cast(pa.string()), 2, "0"
    )
    written = pc.binary_join_element_wise(sign, hours, ":" if colon else "", rest, "")
    return pc.if_else(pc.equal(minutes, 0), "Z", written) if zulu else written


def number(ctx: Context, values: pa.Array, function: str) -> pa.Array:
    """Values as numbers. Text is parsed (int64 when every value is a whole number, else
    float64); text that is not a number is a row failure and null."""
    t = values.type
    if is_number(t):
        return values
    if pa.types.is_null(t):
        return values.cast(pa.int64())
    if pa.types.is_boolean(t):
        return values.cast(pa.int64())
    if is_text(t):
        return parse_number(ctx, values, function)
    raise type_error(function, "the value must be a number", values)


def number_text(ctx: Context, strings: pa.Array, function: str) -> pa.Array:
    """The text of numbers as Arrow's casts read it (trimmed, no leading "+"); null, and a row
    failure, where the text is not a number."""
    trimmed = pc.utf8_trim_whitespace(strings)
    shaped = pc.match_substring_regex(trimmed, NUMBER_TEXT)
    ctx.fail(pc.invert(shaped), f"{function}: {{value}} is not a number", strings)
    # Arrow reads no leading "+"; the shape allows one sign at most.
    return pc.if_else(shaped, pc.utf8_ltrim(trimmed, "+"), pa.scalar(None, pa.string()))


def parse_number(
    ctx: Context, values: pa.Array, function: str, integer: bool | None = None
) -> pa.Array:
    """Numbers written as text (spaces around them allowed). ``integer`` True: int64, fractions
    truncated towards zero; False: float64; None: int64 when all are whole numbers."""
    strings = values.cast(pa.string())
    good = number_text(ctx, strings, function)
    if integer is False:
        return good.cast(pa.float64())
    whole = pc.ascii_is_decimal(pc.utf8_ltrim(good, "-"))
    all_whole = whole.false_count == 0
    if integer is None and not all_whole:
        return good.cast(pa.float64())
    out_of_range = f"{function}: {{value}} is out of range"
    if all_whole:
        return isolate_cast(ctx, good, pa.int64(), out_of_range)
    # Fractions and exponents: through a double, truncated (exact for |x| < 2**53).
    as_double = pc.trunc(good.cast(pa.float64()))
    too_big = pc.greater(pc.abs(as_double), 9.2e18)
    ctx.fail(too_big, out_of_range, strings)
    as_double = pc.if_else(too_big, pa.scalar(None, pa.float64()), as_double)
    integers = pc.if_else(whole, good, pa.scalar(None, pa.string()))
    exact = isolate_cast(ctx, integers, pa.int64(), out_of_range)
    return pc.if_else(whole, exact, as_double.cast(pa.int64()))


def isolate_cast(ctx: Context, values: pa.Array, target: pa.DataType, message: str) -> pa.Array:
    """Arrow's checked cast; the values it rejects become null and row failures."""
    result, failed = isolate(lambda part: part.cast(target), values, target)
    if failed is not None:
        mask = pc.is_in(row_numbers(len(values)), value_set=failed)
        ctx.fail(mask, message, values)
    return result


def isolate(
    run: Callable[[pa.Array], pa.Array], values: pa.Array, target: pa.DataType
) -> tuple[pa.Array, pa.Array | None]:
    """``run`` over ``values``; when it raises, the rows it raises for (found by bisection, so
    only the parts with such rows are run again) are null in the result and returned."""
    try:
        return run(values), None
    except pa.ArrowException:
        pass
    pieces: list[pa.Array] = []
    failed: list[int] = []
    _bisect(run, values, target, 0, pieces, failed)
    return pa.concat_arrays(pieces), pa.array(failed, pa.int64())


def _bisect(
    run: Callable[[pa.Array], pa.Array],
    values: pa.Array,
    target: pa.DataType,
    start: int,
    pieces: list[pa.Array],
    failed: list[int],
) -> None:
    if len(values) <= 8:
        for i in range(len(values)):
            try:
                pieces.append(run(values.slice(i, 1)).cast(target))
            except pa.ArrowException:
                pieces.append(pa.nulls(1, target))
                failed.append(start + i)
        return
    half = len(values) // 2
    for offset, part in ((0, values.slice(0, half)), (half, values.slice(half))):
        try:
            pieces.append(run(part).cast(target))
        except pa.ArrowException:
            _bisect(run, part, target, start + offset, pieces, failed)


def row_numbers(length: int) -> pa.Array:
    """0 … length-1 as int64, without a Python loop over the rows."""
    if length == 0:
        return pa.array([], pa.int64())
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)


_TRUE_WORDS = ("true", "t", "yes", "y", "on", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "off", "0")


def boolean(ctx: Context, values: pa.Array, function: str) -> pa.Array:
    """Values as booleans: text y/yes/on/true/1 and n/no/off/false/0 (any case), numbers 1
    and 0; anything else is a row failure and null."""
    t = values.type
    if pa.types.is_boolean(t):
        return values
    if pa.types.is_null(t):
        return values.cast(pa.bool_())
    if is_text(t):
        words = pc.utf8_lower(pc.utf8_trim_whitespace(values.cast(pa.string())))
        yes = pc.is_in(words, value_set=pa.array(_TRUE_WORDS))
        no = pc.is_in(words, value_set=pa.array(_FALSE_WORDS))
        bad = pc.and_(values.is_valid(), pc.invert(pc.or_(yes, no)))
        ctx.fail(bad, f"{function}: {{value}} is not a boolean (true/false, yes/no, 1/0)", values)
        return pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
    if is_number(t):
        yes, no = pc.equal(values, 1), pc.equal(values, 0)
        bad = pc.invert(pc.or_(yes, no))
        ctx.fail(bad, f"{function}: {{value}} is not a boolean (1 or 0)", values)
        return pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
    raise type_error(function, "the value must be a boolean", values)


def truthy(values: pa.Array) -> pa.Array:
    """Conditions: a boolean as is; null, empty text and zero are false, other values true."""
    t = values.type
    if pa.types.is_boolean(t):
        return values.fill_null(False)
    if pa.types.is_null(t):
        return pa.repeat(False, len(values))
    if is_text(t):
        return pc.greater(pc.utf8_length(values), 0).fill_null(False)
    if is_number(t):
        return pc.not_equal(values, 0).fill_null(False)
    return values.is_valid()


# --- common types -----------------------------------------------------------------------------


def unify(values: Sequence[pa.Array], function: str) -> list[pa.Array]:
    """The values cast to one type: nulls to the others' type; integers to int64; numbers to
    float64 (decimals of one type stay decimals); date-times to UTC microseconds; text with
    numbers, booleans or dates to text. Other mixes are a :class:`MappingError`."""
    typed = [v for v in values if not pa.types.is_null(v.type)]
    if not typed:
        return list(values)
    target = common_type([v.type for v in typed], function)
    out = []
    for v in values:
        if v.type == target:
            out.append(v)
        elif is_text(target):
            out.append(text(v, function))
        else:
            out.append(v.cast(target))
    return out


def common_type(types: Sequence[pa.DataType], function: str) -> pa.DataType:
    first = types[0]
    if all(t == first for t in types):
        return pa.string() if is_text(first) else first
    if all(pa.types.is_integer(t) for t in types):
        return pa.int64()
    if all(is_number(t) for t in types):
        return pa.float64()
    if all(pa.types.is_timestamp(t) or pa.types.is_date(t) for t in types):
        return TIMESTAMP
    if all(
        is_text(t) or is_number(t) or pa.types.is_boolean(t) or pa.types.is_temporal(t)
        for t in types
    ):
        return pa.string()
    if all(is_text(t) for t in types):
        return pa.string()
    names = ", ".join(sorted({describe(t) for t in types}))
    raise MappingError(
        f"{function}: the values have types that do not mix ({names}).",
        fix="Convert them to one type first, e.g. with to_integer() or concat().",
    )
