"""The date and time functions: now, timestamp, date, format, dformat, date_part,
set_date_part, make_date_time, zone_date_to_utc and zone_date_to_zone.

Date-times are ``timestamp[us, UTC]`` (``zone_date_to_zone`` keeps its zone in the type);
text without a zone is UTC unless a function says otherwise. Formats are Java patterns
(:mod:`.patterns`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.mappings.calendar import check_zone, local_micros, offset_seconds, to_utc, valid_parts
from lakefeed.mappings.evaluation import TIMESTAMP, Context, is_text, number, text, type_error
from lakefeed.mappings.patterns import (
    format_pattern,
    parse_pattern,
    pattern_problem,
    read_fixed_width,
)
from lakefeed.mappings.registry import ConstantCheck, function

#: 8601, then the formats Data Prep lists (data-handling guide).
DEFAULT_FORMATS = (
    "yyyy-MM-dd['T'][' ']HH:mm[:ss][.SSSSSSSSS][X][' 'z]",
    "yyyy-MM-dd HH:mm:ssZ",
    "yyyy-MM-dd HH:mm:ss.SSSZ",
    "yyyy-MM-dd HH:mm:ss.SSS",
    "yyyy-MM-dd'T'HH:mm:ss.SSSX",
    "yyyy-MM-dd'T'HH:mm:ss'Z'",
    "yyyy-MM-dd",
    "yyyy/MM/dd",
    "yyyy.MM.dd",
    "yyyy-MMM-dd",
    "yyyyMMdd",
    "MM-dd-yyyy",
    "MMddyyyy",
    "M/dd/yyyy",
    "dd.M.yyyy",
    "M/dd/yyyy hh:mm:ss a",
    "dd.M.yyyy hh:mm:ss a",
    "dd.MMM.yyyy",
    "dd-MMM-yyyy",
)


def check_pattern(position: int) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        if position not in constants:
            return None
        value = constants[position]
        if not isinstance(value, str) or not value:
            return f'argument {position + 1} must be a date format in quotes, e.g. "yyyy-MM-dd"'
        problem = pattern_problem(value)
        return f"the date format {value!r} is not valid: {problem}" if problem else None

    return check


def _zone_check(position: int) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        if position not in constants:
            return None
        zone = constants[position]
        if not isinstance(zone, str) or not zone:
            return f'argument {position + 1} must be a time zone in quotes, e.g. "UTC"'
        return check_zone(zone)

    return check


#: An offset after a time of day (a date alone, "2021-03-04", ends in digits, not an offset).
_OFFSET_AT_END = re.compile(
    r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
)


def _iso(strings: pa.Array, default_zone: str | None) -> pa.Array | None:
    """Arrow's own ISO 8601 reading (strict: it refuses the 30th of February), when every
    value of the column reads with it: all without an offset, or all with one. (A failing
    cast is slow, so the first values decide which is tried first.)"""
    sample = next((v for v in strings.slice(0, 16).to_pylist() if v), "")
    aware_first = _OFFSET_AT_END.search(sample.strip()) is not None
    for aware in (aware_first, not aware_first):
        try:
            if aware:
                return strings.cast(TIMESTAMP)
            naive = strings.cast(pa.timestamp("us"))
        except pa.ArrowInvalid:
            continue
        if default_zone:
            return to_utc(naive.cast(pa.int64()), default_zone)[0]
        return naive.cast(TIMESTAMP)
    return None


def parse_default(
    ctx: Context | None, values: pa.Array, function_name: str, default_zone: str | None = None
) -> pa.Array:
    """Date-times from values: date-times and dates as they are, text in the
    :data:`DEFAULT_FORMATS`. Text none of them reads is null, and a row failure when ``ctx``
    is given."""
    return _date_times(ctx, values, DEFAULT_FORMATS, function_name, default_zone)


def _date_times(
    ctx: Context | None,
    values: pa.Array,
    patterns: tuple[str, ...],
    function_name: str,
    default_zone: str | None,
) -> pa.Array:
    t = values.type
    if pa.types.is_timestamp(t):
        micros = values.cast(pa.timestamp("us", t.tz), safe=False)
        if t.tz is None and default_zone:
            return to_utc(micros.cast(pa.int64()), default_zone)[0]
        return micros.cast(TIMESTAMP)
    if pa.types.is_date(t):
        return values.cast(pa.date32()).cast(pa.timestamp("us")).cast(TIMESTAMP)
    if pa.types.is_null(t):
        return values.cast(TIMESTAMP)
    if not is_text(t):
        raise type_error(function_name, "the value must be a date, a date-time or text", values)
    strings = values.cast(pa.string())
    fast = (
        _iso(strings, default_zone)
        if patterns == DEFAULT_FORMATS
        else read_fixed_width(strings, patterns[0], default_zone)
        if len(patterns) == 1
        else None
    )
    if fast is not None:
        return fast
    result = pa.nulls(len(strings), TIMESTAMP)
    remaining = strings.is_valid()
    shaped = pa.repeat(False, len(strings))
    for pattern in patterns:
        if not remaining.true_count:
            break
        candidates = pc.if_else(remaining, strings, pa.scalar(None, pa.string()))
        parsed, read, matched = parse_pattern(candidates, pattern, default_zone)
        result = pc.if_else(read, parsed, result)
        remaining = pc.and_(remaining, pc.invert(read))
        shaped = pc.or_(shaped, matched)
    if ctx is not None:
        if len(patterns) == 1:
            unread = f"{{value}} does not match the format {patterns[0]!r}"
        else:
            unread = "{value} is not a date-time in a format Data Prep reads (give a format)"
        invalid = pc.and_(remaining, shaped)
        ctx.fail(invalid, f"{function_name}: {{value}} is not a valid date-time", strings)
        ctx.fail(pc.and_(remaining, pc.invert(shaped)), f"{function_name}: {unread}", strings)
    return result


# --- the functions ------------------------------------------------------------------------------


def _now(ctx: Context) -> pa.Array:
    return ctx.repeat(ctx.now, TIMESTAMP)


@function("now", args=0)
def now(ctx: Context) -> pa.Array:
    """The run's start (one instant for every row of a run)."""
    return _now(ctx)


@function("timestamp", args=0)
def timestamp(ctx: Context) -> pa.Array:
    """The run's start in milliseconds since 1970."""
    return pc.divide(_now(ctx).cast(pa.int64()), 1000)


@function("date", args=(1, 3), constants=(1,), check=check_pattern(1))
def date(
    ctx: Context, value: pa.Array, pattern: str | None = None, default: pa.Array | None = None
) -> pa.Array:
    """Text read with ``pattern`` (or the default formats); ``default`` where the value is
    null."""
    patterns = (pattern,) if pattern else DEFAULT_FORMATS
    result = _date_times(ctx, value, patterns, "date()", None)
    if default is not None:
        fallback = parse_default(ctx, default, "date()")
        result = pc.if_else(value.is_null(), fallback, result)
    return result


@function("format", args=2, constants=(1,), check=check_pattern(1))
def format_(ctx: Context, value: pa.Array, pattern: str) -> pa.Array:
    if pa.types.is_timestamp(value.type) and value.type.tz not in (None, "UTC"):
        return format_pattern(value.cast(pa.timestamp("us", value.type.tz)), pattern)
    return format_pattern(parse_default(ctx, value, "format()"), pattern)


@function("dformat", args=2, constants=(1,), check=check_pattern(1))
def dformat(ctx: Context, value: pa.Array, pattern: str) -> pa.Array:
    """Milliseconds since 1970 written with ``pattern`` (in UTC)."""
    millis = number(ctx, value, "dformat()")
    if not pa.types.is_integer(millis.type):
        millis = pc.trunc(millis)
    instants = pc.multiply(millis.cast(pa.int64()), 1000).cast(TIMESTAMP)
    return format_pattern(instants, pattern)


_COMPONENTS = {
    **dict.fromkeys(("year", "yyyy", "yy"), "year"),
    **dict.fromkeys(("quarter", "qq", "q"), "quarter"),
    **dict.fromkeys(("month", "mm", "m"), "month"),
    **dict.fromkeys(("dayofyear", "dy", "y"), "dayofyear"),
    **dict.fromkeys(("day", "dd", "d"), "day"),
    **dict.fromkeys(("week", "ww", "w", "wk"), "week"),
    **dict.fromkeys(("weekday", "dw"), "weekday"),
    **dict.fromkeys(("hour", "hh", "hh24"), "hour"),
    "hh12": "hh12",
    **dict.fromkeys(("minute", "mi", "n"), "minute"),
    **dict.fromkeys(("second", "ss", "s"), "second"),
    **dict.fromkeys(("millisecond", "ms", "sss"), "millisecond"),
}
_SETTABLE = ("year", "month", "day", "hour", "minute", "second")


def _component_check(settable: bool) -> ConstantCheck:
    def check(constants: dict[int, Any]) -> str | None:
        name = constants.get(0)
        kind = _COMPONENTS.get(name.lower()) if isinstance(name, str) else None
        if kind is None or (settable and kind not in _SETTABLE):
            names = sorted(k for k, v in _COMPONENTS.items() if not settable or v in _SETTABLE)
            return f"the date component {name!r} is not one of: {', '.join(names)}"
        return None

    return check


@function("date_part", args=2, constants=(0,), check=_component_check(settable=False))
def date_part(ctx: Context, component: str, value: pa.Array) -> pa.Array:
    instants = _zoned(ctx, value, "date_part()")
    kind = _COMPONENTS[component.lower()]
    if kind == "weekday":
        return pc.day_of_week(instants, count_from_zero=False, week_start=1)
    if kind == "hh12":
        hour = pc.hour(instants)
        twelve = pc.subtract(hour, pc.multiply(pc.divide(hour, 12), 12))
        return pc.if_else(pc.equal(twelve, 0), 12, twelve)
    kernels = {
        "year": pc.year, "quarter": pc.quarter, "month": pc.month, "dayofyear": pc.day_of_year,
        "day": pc.day, "week": pc.iso_week, "hour": pc.hour, "minute": pc.minute,
        "second": pc.second, "millisecond": pc.millisecond,
    }  # fmt: skip
    return kernels[kind](instants).cast(pa.int64())


def _zoned(ctx: Context, value: pa.Array, name: str) -> pa.Array:
    """Date-times, keeping a zone other than UTC that the value's type has."""
    if pa.types.is_timestamp(value.type) and value.type.tz not in (None, "UTC"):
        return value
    return parse_default(ctx, value, name)


@function("set_date_part", args=3, constants=(0,), check=_component_check(settable=True))
def set_date_part(ctx: Context, component: str, value: pa.Array, when: pa.Array) -> pa.Array:
    """The date-time (in UTC) with one component replaced; a date that does not exist (the
    30th of February) is a row failure."""
    instants = parse_default(ctx, when, "set_date_part()")
    kind = _COMPONENTS[component.lower()]
    replacement = number(ctx, value, "set_date_part()")
    if not pa.types.is_integer(replacement.type):
        replacement = pc.trunc(replacement)
    replacement = replacement.cast(pa.int64())
    parts = {
        "year": pc.year(instants), "month": pc.month(instants), "day": pc.day(instants),
        "hour": pc.hour(instants), "minute": pc.minute(instants), "second": pc.second(instants),
    }  # fmt: skip
    parts = {k: v.cast(pa.int64()) for k, v in parts.items()}
    parts[kind] = replacement
    micros = pc.add(pc.multiply(pc.millisecond(instants), 1000), pc.microsecond(instants))
    return _assemble(ctx, [*parts.values(), micros.cast(pa.int64())], None, "set_date_part()")


def _assemble(ctx: Context, parts: list[pa.Array], zones: pa.Array | None, name: str) -> pa.Array:
    year, month, day, hour, minute, second, _ = parts
    present = functools.reduce(pc.and_, (p.is_valid() for p in parts))
    valid = pc.and_(valid_parts(year, month, day, hour, minute, second).fill_null(False), present)
    ctx.fail(pc.and_(present, pc.invert(valid)), f"{name}: the date-time would not exist")
    safe = [pc.if_else(valid, p, pa.scalar(None, pa.int64())) for p in parts]
    local = local_micros(*safe)
    if zones is None:
        return local.cast(TIMESTAMP)
    instants, known = to_utc(local, zones)
    unknown = pc.and_(pc.and_(valid, zones.is_valid()), pc.invert(known))
    ctx.fail(unknown, f"{name}: {{value}} is not a time zone", zones)
    return pc.if_else(known, instants, pa.scalar(None, TIMESTAMP))


@function("make_date_time", "make_timestamp", args=(7, 8))
def make_date_time(ctx: Context, *values: pa.Array) -> pa.Array:
    """A date-time from its parts in a time zone (UTC when none is given)."""
    numbers = []
    for value in values[:7]:
        part = number(ctx, value, "make_date_time()")
        numbers.append(
            (part if pa.types.is_integer(part.type) else pc.trunc(part)).cast(pa.int64())
        )
    *parts, nanos = numbers
    micros = pc.divide(nanos, 1000)
    zones = text(values[7], "make_date_time()") if len(values) == 8 else ctx.repeat("UTC")
    return _assemble(ctx, [*parts, micros], zones, "make_date_time()")


@function("zone_date_to_utc", args=(1, 2), constants=(1,), check=_zone_check(1))
def zone_date_to_utc(ctx: Context, value: pa.Array, zone: str | None = None) -> pa.Array:
    """A date-time in UTC. Text and date-times without a zone are read in ``zone`` (UTC by
    default); a zone or offset in the value wins."""
    return parse_default(ctx, value, "zone_date_to_utc()", default_zone=zone)


@function("zone_date_to_zone", args=2, constants=(1,), check=_zone_check(1))
def zone_date_to_zone(ctx: Context, value: pa.Array, zone: str) -> pa.Array:
    """The same instant, shown in ``zone`` when written as text."""
    instants = parse_default(ctx, value, "zone_date_to_zone()")
    seconds = offset_seconds(pa.array([zone]))[0].as_py()
    if seconds is not None:
        sign = "-" if seconds < 0 else "+"
        zone = f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"
    return instants.cast(pa.timestamp("us", zone))
