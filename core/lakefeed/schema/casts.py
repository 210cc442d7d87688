"""Which scalar column types convert to which target types, and the vectorized conversions.

:func:`find_cast` answers ``None`` for an incompatible pair, which is what
:meth:`TargetSchema.check_file` reports. A :class:`Cast` never raises on a bad value: it returns
the converted column (null where a value could not be converted) and the indexes of those values.
Arrow's own checked cast is tried first on the whole column; only when it fails are the bad
values found, by vectorized checks (shape, range, day of month) and, for what those cannot see,
by bisecting the column, so bad values cost time only in the column they are in.

Strings convert to every scalar type (delimited files are read as text): an empty or blank
string becomes null in a column that is not text, surrounding spaces are allowed, and booleans
are ``true``/``false``, ``1``/``0`` or ``yes``/``no`` in any case.

Some conversions keep every value but not every digit: a timestamp finer than the target's unit
(Parquet's nanoseconds into Iceberg's microseconds) is truncated, and an integer or decimal into a
double is rounded to 15–17 significant digits. Such a :class:`Cast` names the kind of loss and
finds the values that lost something, so a run can count them per field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.schema.arrow import describe

#: (converted values, int64 indexes of the values that could not be converted, or None)
CastResult = tuple[pa.Array, pa.Array | None]
#: (source values, converted values) → a mask, true where a converted value lost precision
LossCheck = Callable[[pa.Array, pa.Array], pa.Array]

#: Kinds of precision loss, as run metrics name them.
TRUNCATED_TIMESTAMPS = "truncatedTimestamps"  # digits below the target's unit dropped
ROUNDED_NUMBERS = "roundedNumbers"  # an integer or decimal that a double cannot hold exactly

DATE_REGEX = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
DATE_TIME_REGEX = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$"
)
_BISECT_LEAF = 8
#: An offset after a time of day (a date alone, "2021-03-04", ends in digits, not an offset).
_OFFSET = re.compile(
    r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"
)


@dataclass(frozen=True)
class Cast:
    """A conversion of one source type to one target type."""

    problem: str  # completes "<field>: <value> …" for a value that cannot be converted
    run: Callable[[pa.Array], CastResult]
    loss: str | None = None  # the kind of precision loss the conversion may cause
    lost: LossCheck | None = None  # which converted values lost precision


def find_cast(source: pa.DataType, target: pa.DataType) -> Cast | None:
    """How values of ``source`` become values of ``target``; ``None`` when they cannot."""
    if pa.types.is_dictionary(source):
        inner = find_cast(source.value_type, target)
        if inner is None:
            return None
        run, lost = inner.run, inner.lost
        return Cast(
            inner.problem,
            lambda values: run(values.dictionary_decode()),
            inner.loss,
            None if lost is None else lambda values, out: lost(values.dictionary_decode(), out),
        )
    if source == target:
        return Cast("is invalid", lambda values: (values, None))
    problem = f"cannot be converted to {describe(target)}"
    if _is_string(target):
        if _is_string(source):
            return Cast(problem, _plain(target))
        if pa.types.is_date(source):
            return Cast(problem, lambda v: (v.cast(pa.date32(), safe=False).cast(target), None))
        if pa.types.is_timestamp(source):
            return Cast(problem, lambda v: (_format_timestamps(v).cast(target), None))
    if _is_string(source) and (found := _from_text(target)) is not None:
        return found
    if pa.types.is_signed_integer(target) and pa.types.is_integer(source):
        return Cast(f"is out of range for {describe(target)}", _integers(source, target))
    if pa.types.is_float64(target) and pa.types.is_floating(source):
        return Cast(problem, _plain(target))
    if pa.types.is_float64(target) and pa.types.is_integer(source):
        exact = source.bit_width <= 32
        return Cast(problem, _plain(target), ROUNDED_NUMBERS, None if exact else _changed)
    if pa.types.is_float64(target) and pa.types.is_decimal(source):
        return Cast(problem, _decimals_to_doubles, ROUNDED_NUMBERS, _changed)
    if pa.types.is_decimal(target) and (pa.types.is_integer(source) or pa.types.is_decimal(source)):
        return Cast(f"cannot be stored exactly as {describe(target)}", _decimals(target))
    if pa.types.is_date(target):
        if pa.types.is_date(source):
            return Cast(problem, _plain(target))
        if _is_string(source):
            return Cast(
                "is not a date (YYYY-MM-DD)",
                _blank_as_null(lambda v: _parse_dates(v, target)),
            )
    if pa.types.is_timestamp(target):
        if pa.types.is_timestamp(source):
            finer = _UNITS.index(source.unit) > _UNITS.index(target.unit)
            return Cast(
                f"is out of range for {describe(target)}",
                _timestamps(target),
                TRUNCATED_TIMESTAMPS,
                _changed if finer else None,
            )
        if _is_string(source):
            return Cast(
                "is not an ISO-8601 date-time",
                _blank_as_null(lambda v: _parse_date_times(v, target)),
                TRUNCATED_TIMESTAMPS,
                _digits_dropped,
            )
    return None


_UNITS = ("s", "ms", "us", "ns")

# --- text into numbers and booleans (delimited files read every column as text) ---------------

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def _from_text(target: pa.DataType) -> Cast | None:
    """Strings into integers, doubles, booleans and decimals. Surrounding spaces and a
    leading ``+`` are allowed; an empty (or blank) string is null, not a failure: a CSV
    file's empty field in a column that is not text."""
    if pa.types.is_signed_integer(target):
        return Cast(f"is not an integer in the range of {describe(target)}", _numbers(target))
    if pa.types.is_float64(target):
        return Cast("is not a number", _numbers(target))
    if pa.types.is_decimal(target):
        return Cast(f"is not a number that {describe(target)} holds exactly", _numbers(target))
    if pa.types.is_boolean(target):
        return Cast("is not a boolean (true/false, 1/0, yes/no)", _booleans)
    return None


def _numbers(target: pa.DataType) -> Callable[[pa.Array], CastResult]:
    options = pc.CastOptions(target)

    def run(values: pa.Array) -> CastResult:
        values = values.cast(pa.string())
        try:
            return pc.cast(values, options=options), None  # Arrow's own parser, all at once
        except pa.ArrowException:
            pass
        cleaned = pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"^\+", "")
        cleaned = pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, pa.string()), cleaned)
        return cast_isolating(cleaned, target, options)

    return run


def _booleans(values: pa.Array) -> CastResult:
    words = pc.utf8_lower(pc.utf8_trim_whitespace(values.cast(pa.string())))
    true = pc.is_in(words, value_set=pa.array(TRUE_WORDS))
    false = pc.is_in(words, value_set=pa.array(FALSE_WORDS))
    known = pc.or_(pc.or_(true, false), pc.equal(words, "").fill_null(True))
    result = pc.if_else(
        true, pa.scalar(True), pc.if_else(false, pa.scalar(False), pa.scalar(None, pa.bool_()))
    )
    bad = pc.invert(known).fill_null(False)
    return result, _indexes(bad) if bad.true_count else None


def _blank_as_null(run: Callable[[pa.Array], CastResult]) -> Callable[[pa.Array], CastResult]:
    """``run`` where an empty (or blank) string is null rather than a failure; the blanks are
    looked for only when ``run`` fails somewhere."""

    def wrapped(values: pa.Array) -> CastResult:
        converted, failed = run(values)
        if failed is None:
            return converted, None
        blank = pc.equal(pc.utf8_trim_whitespace(values.cast(pa.string())), "")
        if not pc.any(blank.take(failed)).as_py():
            return converted, failed
        return run(pc.if_else(blank, pa.scalar(None, values.type), values))

    return wrapped


def _changed(values: pa.Array, converted: pa.Array) -> pa.Array:
    """True where converting ``converted`` back to the source type does not give the source
    value: the digits it lost (timestamps compare as their UTC instants)."""
    source = values.type
    if pa.types.is_timestamp(source):
        back = converted.cast(pa.timestamp(source.unit, converted.type.tz), safe=False)
        return pc.not_equal(back.cast(pa.int64()), values.cast(pa.int64())).fill_null(False)
    return pc.not_equal(converted.cast(source, safe=False), values).fill_null(False)


def _digits_dropped(values: pa.Array, converted: pa.Array) -> pa.Array:
    """ISO-8601 texts converted with non-zero digits below the microsecond."""
    finer = pc.match_substring_regex(values.cast(pa.string()), r"\.\d{6}\d*[1-9]")
    return pc.and_(finer, converted.is_valid()).fill_null(False)


def _decimals(target: pa.DataType) -> Callable[[pa.Array], CastResult]:
    """Integers and decimals into a decimal: checked, so a value the target cannot hold
    exactly (too many digits before or after the point) fails instead of being rounded."""
    options = pc.CastOptions(target)
    return lambda values: cast_isolating(values, target, options)


def _decimals_to_doubles(values: pa.Array) -> CastResult:
    """Decimals into the nearest doubles. Arrow's own cast scales in floating point and is often
    one unit in the last place off (1234567.89 → 1234567.8900000001), which a round trip at the
    decimal's scale does not notice; its parser of decimal text rounds correctly."""
    return values.cast(pa.string()).cast(pa.float64()), None


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _plain(target: pa.DataType) -> Callable[[pa.Array], CastResult]:
    """Casts that cannot fail on a value (widening; float rounding and truncation accepted)."""
    return lambda values: (values.cast(target, safe=False), None)


def _integers(source: pa.DataType, target: pa.DataType) -> Callable[[pa.Array], CastResult]:
    low, high = _integer_range(target)
    source_low, source_high = _integer_range(source)

    def run(values: pa.Array) -> CastResult:
        checks = []
        if source_low < low:
            checks.append(pc.less(values, pa.scalar(low, source)))
        if source_high > high:
            checks.append(pc.greater(values, pa.scalar(high, source)))
        if not checks:
            return values.cast(target), None
        out_of_range = checks[0] if len(checks) == 1 else pc.or_(*checks)
        out_of_range = out_of_range.fill_null(False)
        if not out_of_range.true_count:
            return values.cast(target), None
        kept = pc.if_else(out_of_range, pa.scalar(None, source), values)
        return kept.cast(target), _indexes(out_of_range)

    return run


def _integer_range(t: pa.DataType) -> tuple[int, int]:
    bits = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _timestamps(target: pa.DataType) -> Callable[[pa.Array], CastResult]:
    # A naive timestamp keeps its values and so is read as UTC; sub-unit precision is dropped.
    options = pc.CastOptions(target, allow_time_truncate=True)
    return lambda values: cast_isolating(values, target, options)


def _format_timestamps(values: pa.Array) -> pa.Array:
    utc = values.cast(pa.timestamp(values.type.unit, "UTC"))
    return pc.strftime(utc, format="%Y-%m-%dT%H:%M:%SZ")


def _parse_dates(values: pa.Array, target: pa.DataType) -> CastResult:
    values = values.cast(pa.string())
    try:
        return values.cast(target), None
    except pa.ArrowInvalid:
        pass
    # strptime rolls 2024-02-30 over to March 1st: a date is valid when its day survives.
    shaped = pc.match_substring_regex(values, DATE_REGEX).fill_null(False)
    candidates = pc.if_else(shaped, values, pa.scalar(None, pa.string()))
    parsed = pc.strptime(candidates, format="%Y-%m-%d", unit="s", error_is_null=True)
    day = pc.utf8_slice_codeunits(candidates, 8, 10).cast(pa.int64())
    valid = pc.equal(pc.day(parsed), day).fill_null(False)
    invalid = pc.and_(values.is_valid(), pc.invert(valid))
    dates = pc.if_else(valid, parsed.cast(target), pa.scalar(None, target))
    return dates, _indexes(invalid) if invalid.true_count else None


def _parse_date_times(values: pa.Array, target: pa.DataType) -> CastResult:
    """ISO-8601 strings with ``Z`` or an offset; a date alone is midnight and a date-time
    without an offset is read as UTC, as naive timestamp columns are."""
    aware = pa.timestamp(target.unit, "UTC")
    values = values.cast(pa.string())
    # Arrow's parser all at once, with offsets or (CSV exports) without, read as UTC; the
    # first value says which to try first, as a failed try costs as much as a good one.
    tries = [aware, pa.timestamp(target.unit)]
    present = values.drop_null()
    if len(present) and not _OFFSET.search(present[0].as_py()):
        tries.reverse()
    for parsed_as in tries:
        try:
            return values.cast(parsed_as).cast(aware).cast(target), None
        except pa.ArrowInvalid:
            pass
    normal = pc.replace_substring_regex(values, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    normal = pc.replace_substring_regex(normal, r"(\.\d{6})\d+", r"\1")  # beyond microseconds
    normal = pc.replace_substring_regex(normal, r"[Zz]$", "+00:00")
    naive = pc.invert(pc.match_substring_regex(normal, r"[+-]\d{2}(:?\d{2})?$"))
    normal = pc.if_else(naive, pc.binary_join_element_wise(normal, "+00:00", ""), normal)
    shaped = pc.match_substring_regex(values, DATE_TIME_REGEX)
    parsed, failed = _parse_checked(normal, aware, shaped)
    return parsed.cast(target), failed


def _parse_checked(values: pa.Array, target: pa.DataType, shaped: pa.Array) -> CastResult:
    """Cast strings that have the right shape; the rest (and those the cast rejects) fail."""
    misshapen = pc.invert(shaped).fill_null(False)
    candidates = pc.if_else(misshapen, pa.scalar(None, values.type), values)
    parsed, rejected = cast_isolating(candidates, target, pc.CastOptions(target))
    return parsed, _union(_indexes(misshapen), rejected)


def cast_isolating(values: pa.Array, target: pa.DataType, options: pc.CastOptions) -> CastResult:
    """Arrow's checked cast, with the values it rejects set to null and their indexes returned."""
    try:
        return pc.cast(values, options=options), None
    except pa.ArrowException:
        pass
    pieces: list[pa.Array] = []
    failed: list[int] = []
    _bisect(values, target, options, 0, pieces, failed)
    return pa.concat_arrays(pieces), pa.array(failed, pa.int64())


def _bisect(
    values: pa.Array,
    target: pa.DataType,
    options: pc.CastOptions,
    start: int,
    pieces: list[pa.Array],
    failed: list[int],
) -> None:
    if len(values) <= _BISECT_LEAF:
        for i in range(len(values)):
            try:
                pieces.append(pc.cast(values.slice(i, 1), options=options))
            except pa.ArrowException:
                pieces.append(pa.nulls(1, target))
                failed.append(start + i)
        return
    half = len(values) // 2
    for offset, part in ((0, values.slice(0, half)), (half, values.slice(half))):
        try:
            pieces.append(pc.cast(part, options=options))
        except pa.ArrowException:
            _bisect(part, target, options, start + offset, pieces, failed)


def _indexes(mask: pa.Array) -> pa.Array:
    return pc.indices_nonzero(mask).cast(pa.int64())


def _union(first: pa.Array, second: pa.Array | None) -> pa.Array | None:
    """The sorted indexes of two disjoint index arrays; ``None`` when both are empty."""
    merged = first if second is None else pa.concat_arrays([first, second])
    if len(merged) == 0:
        return None
    return merged.take(pc.sort_indices(merged))
