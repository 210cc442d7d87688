"""The function library: Adobe Data Prep's mapping functions, vectorised with pyarrow.compute.

Names and arguments are Data Prep's (``docs/reference/mapping-functions.md`` lists each with an
example); a few functions are lakefeed's own and marked so there. Importing this module
registers every function, those of :mod:`~lakefeed.mappings.datetimes`,
:mod:`~lakefeed.mappings.hashing` and :mod:`~lakefeed.mappings.urls` included.

Common rules: a null argument gives a null result (no failure), unless the function is about
nulls; text arguments accept numbers, booleans and dates (written as text); a value a function
cannot handle (``to_integer("abc")``) is null and a row failure naming the function.
"""

from __future__ import annotations

import functools
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import MappingError
from lakefeed.mappings import datetimes, hashing, operators, urls  # noqa: F401  (registration)
from lakefeed.mappings.evaluation import (
    Context,
    boolean,
    is_list,
    is_text,
    isolate_cast,
    number,
    parse_number,
    row_numbers,
    text,
    truthy,
    type_error,
    unify,
)
from lakefeed.mappings.paths import parse_path
from lakefeed.mappings.regexes import check_regex, escape, escape_in_class, numbered_groups
from lakefeed.mappings.registry import FUNCTIONS, ConstantCheck, boolean_constant, function

__all__ = ["FUNCTIONS"]


def _all_null(values: list[pa.Array]) -> pa.Array:
    return functools.reduce(pc.and_, (v.is_null() for v in values))


def _null(data_type: pa.DataType) -> pa.Scalar:
    return pa.scalar(None, data_type)


def _whole(position: int, low: int = 0, high: int = 100_000) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        value = constants.get(position)
        if value is None and position not in constants:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"argument {position + 1} must be a whole number from {low} to {high}"
        return None

    return check


def _text_constant(position: int, empty: bool = True) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        value = constants.get(position)
        if position in constants and not isinstance(value, str):
            return f"argument {position + 1} must be text in quotes"
        if not empty and value == "":
            return f"argument {position + 1} must not be empty"
        return None

    return check


def _regex(position: int) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        problem = _text_constant(position)(constants)
        if problem or position not in constants:
            return problem
        return check_regex(constants[position])

    return check


def _both(*checks: ConstantCheck) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        return next((p for p in (c(constants) for c in checks) if p), None)

    return check


# --- strings ----------------------------------------------------------------------------------


@function("concat", args=(1, None))
def concat(ctx: Context, *values: pa.Array) -> pa.Array:
    """Nulls count as empty text; the result is null only when every value is."""
    strings = [text(v, "concat()") for v in values]
    if len(strings) == 1:
        return strings[0]
    joined = pc.binary_join_element_wise(*strings, "", null_handling="replace", null_replacement="")
    return pc.if_else(_all_null(strings), _null(pa.string()), joined)


@function("explode", args=(1, 2), constants=(1,), check=_regex(1))
def explode(ctx: Context, value: pa.Array, pattern: str = ",") -> pa.Array:
    """Java's String.split: parts between matches of ``pattern``, trailing empty parts
    dropped."""
    strings = text(value, "explode()")
    trimmed = pc.replace_substring_regex(strings, f"(?:{pattern})+$", "")
    parts = pc.split_pattern_regex(trimmed, pattern)
    only_separators = pc.and_(pc.equal(trimmed, ""), pc.not_equal(strings, ""))
    return pc.if_else(only_separators, pa.scalar([], parts.type), parts)


def _check_instr(constants: dict[int, Any]) -> str | None:
    return _both(_text_constant(1, empty=False), _whole(2, 0, 1000), _whole(3, 1, 1000))(constants)


@function("instr", args=(2, 4), constants=(1, 2, 3), check=_check_instr)
def instr(
    ctx: Context, value: pa.Array, substring: str, start: int = 0, occurrence: int = 1
) -> pa.Array:
    """Java's indexOf: the 0-based index of the ``occurrence``-th ``substring`` at or after
    index ``start``, or -1."""
    strings = text(value, "instr()")
    found = escape(substring)
    pattern = f"(?s)^(?P<before>.{{{start}}}(?:.*?{found}){{{occurrence - 1}}}.*?){found}"
    before = pc.struct_field(pc.extract_regex(strings, pattern), [0])
    index = pc.utf8_length(before).cast(pa.int64())
    return pc.if_else(strings.is_null(), _null(pa.int64()), index.fill_null(-1))


@function(
    "replacestr",
    "replace",
    args=3,
    constants=(1, 2),
    check=_both(_text_constant(1, empty=False), _text_constant(2)),
)
def replacestr(ctx: Context, value: pa.Array, find: str, replacement: str) -> pa.Array:
    return pc.replace_substring(text(value, "replacestr()"), find, replacement)


@function("substr", args=3, constants=(1, 2), check=_both(_whole(1, 0, 10**9), _whole(2, 0, 10**9)))
def substr(ctx: Context, value: pa.Array, start: int, length: int) -> pa.Array:
    """``length`` characters from the 0-based index ``start`` (fewer where the text ends)."""
    return pc.utf8_slice_codeunits(text(value, "substr()"), start, start + length)


@function("lower", "lcase", args=1)
def lower(ctx: Context, value: pa.Array) -> pa.Array:
    return pc.utf8_lower(text(value, "lower()"))


@function("upper", "ucase", args=1)
def upper(ctx: Context, value: pa.Array) -> pa.Array:
    return pc.utf8_upper(text(value, "upper()"))


@function("split", args=2, constants=(1,), check=_text_constant(1, empty=False))
def split(ctx: Context, value: pa.Array, separators: str) -> pa.Array:
    """Apache StringUtils.split: split on any of the characters of ``separators``; runs of
    them count as one and no part is empty."""
    strings = text(value, "split()")
    chars = "[" + "".join(escape_in_class(c) for c in dict.fromkeys(separators)) + "]+"
    trimmed = pc.replace_substring_regex(strings, f"^{chars}|{chars}$", "")
    parts = pc.split_pattern_regex(trimmed, chars)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar([], parts.type), parts)


@function("join", args=2)
def join(ctx: Context, separator: pa.Array, values: pa.Array) -> pa.Array:
    """Null elements count as empty text (Apache StringUtils.join)."""
    if not is_list(values.type):
        return text(values, "join()")
    items = _map_items(values, lambda items: text(items, "join()").fill_null(""))
    return pc.binary_join(items, text(separator, "join()"))


def _pad_check(constants: dict[int, Any]) -> str | None:
    return _both(_whole(1, 0, 10_000), _text_constant(2))(constants)


def _pads(value: pa.Array, count: int, padding: str | None, name: str) -> tuple[pa.Array, pa.Array]:
    """The strings, and the padding each needs: a table of the ``count + 1`` possible pads,
    taken by length (Arrow pads with one character only)."""
    strings = text(value, name)
    padding = padding or " "
    full = (padding * count)[:count]
    table = pa.array([full[:k] for k in range(count + 1)], pa.string())
    needed = pc.max_element_wise(pc.subtract(count, pc.utf8_length(strings).cast(pa.int64())), 0)
    return strings, table.take(needed)


@function("lpad", args=3, constants=(1, 2), check=_pad_check)
def lpad(ctx: Context, value: pa.Array, count: int, padding: str | None) -> pa.Array:
    strings, pads = _pads(value, count, padding, "lpad()")
    return pc.binary_join_element_wise(pads, strings, "")


@function("rpad", args=3, constants=(1, 2), check=_pad_check)
def rpad(ctx: Context, value: pa.Array, count: int, padding: str | None) -> pa.Array:
    strings, pads = _pads(value, count, padding, "rpad()")
    return pc.binary_join_element_wise(strings, pads, "")


@function("left", args=2, constants=(1,), check=_whole(1, 0, 10**9))
def left(ctx: Context, value: pa.Array, count: int) -> pa.Array:
    return pc.utf8_slice_codeunits(text(value, "left()"), 0, count)


@function("right", args=2, constants=(1,), check=_whole(1, 0, 10**9))
def right(ctx: Context, value: pa.Array, count: int) -> pa.Array:
    strings = text(value, "right()")
    if count == 0:
        return pc.utf8_slice_codeunits(strings, 0, 0)
    return pc.utf8_slice_codeunits(strings, -count)


@function("ltrim", args=1)
def ltrim(ctx: Context, value: pa.Array) -> pa.Array:
    return pc.utf8_ltrim_whitespace(text(value, "ltrim()"))


@function("rtrim", args=1)
def rtrim(ctx: Context, value: pa.Array) -> pa.Array:
    return pc.utf8_rtrim_whitespace(text(value, "rtrim()"))


@function("trim", args=1)
def trim(ctx: Context, value: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(text(value, "trim()"))


@function("equals", args=2)
def equals(ctx: Context, first: pa.Array, second: pa.Array) -> pa.Array:
    """False when either is null."""
    return pc.equal(text(first, "equals()"), text(second, "equals()")).fill_null(False)


@function("equalsIgnoreCase", args=2)
def equals_ignore_case(ctx: Context, first: pa.Array, second: pa.Array) -> pa.Array:
    a = pc.utf8_lower(text(first, "equalsIgnoreCase()"))
    b = pc.utf8_lower(text(second, "equalsIgnoreCase()"))
    return pc.equal(a, b).fill_null(False)


@function("length", args=1)
def length(ctx: Context, value: pa.Array) -> pa.Array:
    """lakefeed's: characters of text, elements of an array."""
    if is_list(value.type):
        return pc.list_value_length(value).cast(pa.int64())
    return pc.utf8_length(text(value, "length()")).cast(pa.int64())


# --- regular expressions ----------------------------------------------------------------------


@function("extract_regex", args=2, constants=(1,), check=_regex(1))
def extract_regex(ctx: Context, value: pa.Array, pattern: str) -> pa.Array:
    """The first match and its groups, as an array; null when nothing matches."""
    strings = text(value, "extract_regex()")
    named, count = numbered_groups(pattern)
    groups = pc.extract_regex(strings, named)
    fields = [pc.struct_field(groups, [i]) for i in range(count + 1)]
    lists = lists_from(fields, include_nulls=True, rows=len(strings))
    return pc.if_else(groups.is_null(), pa.scalar(None, lists.type), lists)


@function("matches_regex", args=2, constants=(1,), check=_regex(1))
def matches_regex(ctx: Context, value: pa.Array, pattern: str) -> pa.Array:
    """True when the whole text matches (Java's String.matches)."""
    return pc.match_substring_regex(text(value, "matches_regex()"), f"^(?:{pattern})$")


# --- null handling and logic ------------------------------------------------------------------


@function("iif", args=3, lazy=True)
def iif(ctx: Context, condition: Any, then: Any, otherwise: Any) -> pa.Array:
    """Only the failures of the branch a row takes count for that row."""
    chosen = truthy(condition.evaluate(ctx))
    a, a_failures = ctx.scoped(then)
    b, b_failures = ctx.scoped(otherwise)
    ctx.keep(a_failures, chosen)
    ctx.keep(b_failures, pc.invert(chosen))
    a, b = _typed(unify([a, b], "iif()"))
    return a if pa.types.is_null(a.type) else pc.if_else(chosen, a, b)


@function("coalesce", args=(1, None))
def coalesce(ctx: Context, *values: pa.Array) -> pa.Array:
    unified = _typed(unify(values, "coalesce()"))
    return pc.coalesce(*unified) if len(unified) > 1 else unified[0]


def _typed(values: list[pa.Array]) -> list[pa.Array]:
    """Null-typed values cast to the type of the others (after ``unify``)."""
    known = next((v.type for v in values if not pa.types.is_null(v.type)), None)
    return values if known is None else [v.cast(known) for v in values]


@function("is_empty", args=1)
def is_empty(ctx: Context, value: pa.Array) -> pa.Array:
    """True for null, empty text, an empty array and an object without values."""
    t = value.type
    if is_text(t):
        empty = pc.equal(pc.utf8_length(value), 0)
    elif is_list(t) or pa.types.is_map(t):
        empty = pc.equal(pc.list_value_length(value), 0)
    elif pa.types.is_struct(t):
        children = [pc.struct_field(value, [i]) for i in range(t.num_fields)]
        empty = _all_null(children) if children else pa.repeat(True, len(value))
    else:
        empty = pa.repeat(False, len(value))
    return pc.or_(value.is_null(), empty.fill_null(True))


def _path_check(constants: dict[int, Any]) -> str | None:
    problem = _text_constant(0, empty=False)(constants)
    if problem:
        return problem
    try:
        parse_path(constants[0])
    except MappingError as exc:
        return exc.message
    return None


@function("contains_key", "is_set", args=1, constants=(0,), check=_path_check)
def contains_key(ctx: Context, path: str) -> pa.Array:
    """True where the source has the attribute at ``path`` with a value (is_set is the name
    Data Prep deprecated for it)."""
    parsed = parse_path(path)
    if not ctx.has_column(parsed):
        return pa.repeat(False, ctx.num_rows)
    return ctx.column(parsed).is_valid()


@function("nullify", args=0)
def nullify(ctx: Context) -> pa.Array:
    return ctx.repeat(None)


@function("decode", args=(3, None))
def decode(ctx: Context, key: pa.Array, *options: pa.Array) -> pa.Array:
    """``options`` are key/value pairs, then an optional default."""
    pairs = len(options) // 2
    conditions = [operators.binary(ctx, "==", key, options[2 * i]) for i in range(pairs)]
    results = _typed(
        unify([options[2 * i + 1] for i in range(pairs)] + list(options[2 * pairs :]), "decode()")
    )
    if all(pa.types.is_null(r.type) for r in results):
        return results[0]
    which = pa.StructArray.from_arrays(conditions, [str(i) for i in range(pairs)])
    return pc.case_when(which, *results)


@function("min", args=(1, None))
def minimum(ctx: Context, *values: pa.Array) -> pa.Array:
    unified = _typed(unify(values, "min()"))
    return pc.min_element_wise(*unified) if len(unified) > 1 else unified[0]


@function("max", args=(1, None))
def maximum(ctx: Context, *values: pa.Array) -> pa.Array:
    unified = _typed(unify(values, "max()"))
    return pc.max_element_wise(*unified) if len(unified) > 1 else unified[0]


# --- arrays -----------------------------------------------------------------------------------


def lists_from(values: list[pa.Array], include_nulls: bool, rows: int) -> pa.Array:
    """One array per row holding the row's values, in argument order."""
    width = len(values)
    if width == 0:
        offsets = pa.repeat(pa.scalar(0, pa.int32()), rows + 1)
        return pa.ListArray.from_arrays(offsets, pa.array([], pa.null()))
    values = _typed(unify(values, "to_array()"))
    flat = pa.concat_arrays(values)
    position = row_numbers(rows * width)
    row = pc.divide(position, width)
    column = pc.subtract(position, pc.multiply(row, width))
    flat = flat.take(pc.add(pc.multiply(column, rows), row))
    if include_nulls:
        offsets = pc.multiply(row_numbers(rows + 1), width)
    else:
        counts = functools.reduce(pc.add, (v.is_valid().cast(pa.int64()) for v in values))
        offsets = _offsets(counts)
        flat = flat.drop_null()
    return pa.ListArray.from_arrays(offsets.cast(pa.int32()), flat)


def _offsets(lengths: pa.Array) -> pa.Array:
    return pa.concat_arrays(
        [pa.array([0], pa.int64()), pc.cumulative_sum(lengths.cast(pa.int64()))]
    )


def concat_lists(lists: list[pa.Array], function_name: str) -> pa.Array:
    """Each row's arrays joined in argument order; null only where every array is."""
    for values in lists:
        if not (is_list(values.type) or pa.types.is_null(values.type)):
            raise type_error(function_name, "the arguments must be arrays", values)
    typed = [v for v in lists if not pa.types.is_null(v.type)]
    if not typed:
        return lists[0]
    items = _typed(unify([pc.list_flatten(v) for v in typed], function_name))
    parents = pa.concat_arrays([pc.list_parent_indices(v) for v in typed])
    order = pc.sort_indices(parents)  # stable: within a row, argument order is kept
    flat = pa.concat_arrays(items).take(order)
    lengths = functools.reduce(pc.add, (pc.list_value_length(v).fill_null(0) for v in typed))
    offsets = _offsets(lengths).cast(pa.int32())
    mask = _all_null(typed)
    return pa.ListArray.from_arrays(offsets, flat, mask=mask if mask.true_count else None)


def _map_items(values: pa.Array, run: Any) -> pa.Array:
    """A list array with ``run`` applied to its items."""
    offsets = pc.subtract(values.offsets, values.offsets[0])
    items = run(pc.list_flatten(values.fill_null([]) if values.null_count else values))
    mask = values.is_null() if values.null_count else None
    return pa.ListArray.from_arrays(offsets.cast(pa.int32()), items, mask=mask)


@function("to_array", args=(1, None), constants=(0,), check=boolean_constant(0))
def to_array(ctx: Context, include_nulls: Any, *values: pa.Array) -> pa.Array:
    return lists_from(list(values), bool(include_nulls), ctx.num_rows)


@function("add_to_array", args=(2, None))
def add_to_array(ctx: Context, array: pa.Array, *values: pa.Array) -> pa.Array:
    added = lists_from(list(values), True, ctx.num_rows)
    return concat_lists([array, added], "add_to_array()")


@function("join_arrays", args=(1, None))
def join_arrays(ctx: Context, *arrays: pa.Array) -> pa.Array:
    return concat_lists(list(arrays), "join_arrays()")


@function("first", args=(1, None))
def first(ctx: Context, *values: pa.Array) -> pa.Array:
    """The first element of one array argument; else the first argument."""
    if len(values) == 1 and is_list(values[0].type):
        return _element(values[0], last=False)
    return values[0]


@function("last", args=(1, None))
def last(ctx: Context, *values: pa.Array) -> pa.Array:
    if len(values) == 1 and is_list(values[0].type):
        return _element(values[0], last=True)
    return values[-1]


def _element(values: pa.Array, last: bool) -> pa.Array:
    lengths = pc.list_value_length(values).fill_null(0)
    flat = pc.list_flatten(values)
    ends = pc.cumulative_sum(lengths.cast(pa.int64()))
    index = pc.subtract(ends, 1) if last else pc.subtract(ends, lengths.cast(pa.int64()))
    index = pc.if_else(pc.greater(lengths, 0), index, _null(pa.int64()))
    return flat.take(index)


@function("size_of", args=1)
def size_of(ctx: Context, value: pa.Array) -> pa.Array:
    """Elements of an array or map, characters of text, attributes with a value of an
    object."""
    t = value.type
    if is_list(t) or pa.types.is_map(t):
        return pc.list_value_length(value).cast(pa.int64())
    if pa.types.is_struct(t):
        counts = [
            pc.struct_field(value, [i]).is_valid().cast(pa.int64()) for i in range(t.num_fields)
        ]
        total = functools.reduce(pc.add, counts) if counts else pa.repeat(0, len(value))
        return pc.if_else(value.is_null(), _null(pa.int64()), total)
    return pc.utf8_length(text(value, "size_of()")).cast(pa.int64())


@function("upsert_array_append", args=1)
def upsert_array_append(ctx: Context, array: pa.Array) -> pa.Array:
    """Profile updates only; inserts (all lakefeed writes) take the array as it is."""
    return array


@function("upsert_array_replace", args=(1, 2))
def upsert_array_replace(ctx: Context, array: pa.Array, *_: pa.Array) -> pa.Array:
    return array


# --- numbers and conversions ------------------------------------------------------------------


def _integers(ctx: Context, value: pa.Array, target: pa.DataType, name: str) -> pa.Array:
    t = value.type
    if is_text(t):
        values = parse_number(ctx, value, name, integer=True)
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        doubles = pc.trunc(value.cast(pa.float64()))
        too_big = pc.greater(pc.abs(doubles), 9.2e18)
        ctx.fail(too_big, f"{name}: {{value}} is out of range", value)
        values = pc.if_else(too_big, _null(pa.float64()), doubles).cast(pa.int64())
    else:
        values = number(ctx, value, name)
    return isolate_cast(ctx, values, target, f"{name}: {{value}} is out of range")


@function("to_integer", args=1)
def to_integer(ctx: Context, value: pa.Array) -> pa.Array:
    """An int (32 bits); a fraction is truncated towards zero."""
    return _integers(ctx, value, pa.int32(), "to_integer()")


@function("to_bigint", args=1)
def to_bigint(ctx: Context, value: pa.Array) -> pa.Array:
    """A long (64 bits); a fraction is truncated towards zero."""
    return _integers(ctx, value, pa.int64(), "to_bigint()")


def _doubles(ctx: Context, value: pa.Array, name: str) -> pa.Array:
    if is_text(value.type):
        return parse_number(ctx, value, name, integer=False)
    return number(ctx, value, name).cast(pa.float64())


@function("to_decimal", args=1)
def to_decimal(ctx: Context, value: pa.Array) -> pa.Array:
    return _doubles(ctx, value, "to_decimal()")


@function("to_float", args=1)
def to_float(ctx: Context, value: pa.Array) -> pa.Array:
    return _doubles(ctx, value, "to_float()")


@function("to_boolean", "to_bool", args=1)
def to_boolean(ctx: Context, value: pa.Array) -> pa.Array:
    """lakefeed's: Data Prep's words for true and false (y/yes/on/true, n/no/off/false), 1
    and 0."""
    return boolean(ctx, value, "to_boolean()")


@function("round", args=(1, 2), constants=(1,), check=_whole(1, 0, 18))
def round_(ctx: Context, value: pa.Array, digits: int = 0) -> pa.Array:
    """lakefeed's: halves away from zero."""
    values = number(ctx, value, "round()")
    if pa.types.is_integer(values.type):
        return values
    return pc.round(values, digits, round_mode="half_towards_infinity")


@function("ceil", args=1)
def ceil(ctx: Context, value: pa.Array) -> pa.Array:
    values = number(ctx, value, "ceil()")
    return values if pa.types.is_integer(values.type) else pc.ceil(values)


@function("floor", args=1)
def floor(ctx: Context, value: pa.Array) -> pa.Array:
    values = number(ctx, value, "floor()")
    return values if pa.types.is_integer(values.type) else pc.floor(values)


@function("abs", args=1)
def absolute(ctx: Context, value: pa.Array) -> pa.Array:
    values = number(ctx, value, "abs()")
    try:
        return pc.abs_checked(values)
    except pa.ArrowInvalid:  # the smallest integer of its type has no positive counterpart
        smallest = pc.equal(values, pa.scalar(-(2 ** (values.type.bit_width - 1)), values.type))
        ctx.fail(smallest, "abs(): {value} is out of range", values)
        return pc.abs(pc.if_else(smallest, _null(values.type), values))
