"""Calendar arithmetic and time zones over whole columns.

Instants are assembled from their parts with integer kernels (days from the civil calendar),
so no Python runs per row. A zone is an offset (``+02:00``, ``Z``, ``GMT+8``), one of the
abbreviations in :data:`ZONE_ABBREVIATIONS` (fixed offsets), or a region id
(``America/Los_Angeles``) looked up in Arrow's time zone database once per distinct id.
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.mappings.evaluation import TIMESTAMP

ZONE_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "IST": 5.5, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
    "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8, "ACST": 9.5, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13,
}  # fmt: skip

#: What date(value) and date-time destinations try, in order, for text without a format: ISO


def whole_numbers(values: pa.Array) -> pa.Array:
    blank = pc.equal(values, "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), values).cast(pa.int64())


def leap_year(year: pa.Array) -> pa.Array:
    def divisible(by: int) -> pa.Array:
        return pc.equal(pc.subtract(year, pc.multiply(pc.divide(year, by), by)), 0)

    return pc.or_(pc.and_(divisible(4), pc.invert(divisible(100))), divisible(400))


_DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())


def valid_parts(*parts: pa.Array) -> pa.Array:
    year, month, day, hour, minute, second = parts
    month_index = pc.if_else(
        pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12)), pc.subtract(month, 1), 0
    )
    days = pc.add(
        _DAYS_IN_MONTH.take(month_index),
        pc.and_(leap_year(year), pc.equal(month, 2)).cast(pa.int64()),
    )
    checks = [
        pc.and_(pc.greater_equal(year, 1), pc.less_equal(year, 9999)),
        pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12)),
        pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, days)),
        pc.and_(pc.greater_equal(hour, 0), pc.less_equal(hour, 23)),
        pc.and_(pc.greater_equal(minute, 0), pc.less_equal(minute, 59)),
        pc.and_(pc.greater_equal(second, 0), pc.less_equal(second, 59)),
    ]
    return functools.reduce(pc.and_, checks)


def local_micros(*parts: pa.Array) -> pa.Array:
    """Microseconds since 1970 of a wall-clock time (days from the civil calendar, H. Hinnant's
    algorithm; years from 1 on, so every division here is of non-negative numbers)."""
    year, month, day, hour, minute, second, micros = parts
    early = pc.less_equal(month, 2)
    y = pc.subtract(year, early.cast(pa.int64()))
    era = pc.divide(y, 400)
    yoe = pc.subtract(y, pc.multiply(era, 400))
    mp = pc.if_else(early, pc.add(month, 9), pc.subtract(month, 3))
    doy = pc.add(pc.divide(pc.add(pc.multiply(mp, 153), 2), 5), pc.subtract(day, 1))
    doe = pc.add(
        pc.subtract(pc.add(pc.multiply(yoe, 365), pc.divide(yoe, 4)), pc.divide(yoe, 100)), doy
    )
    days = pc.subtract(pc.add(pc.multiply(era, 146_097), doe), 719_468)
    seconds = pc.add(
        pc.multiply(days, 86_400),
        pc.add(pc.multiply(hour, 3600), pc.add(pc.multiply(minute, 60), second)),
    )
    return pc.add(pc.multiply(seconds, 1_000_000), micros)


def offset_seconds(zones: pa.Array) -> pa.Array:
    """The fixed offset of each zone text that is one ("+02:00", "Z", "GMT+8", "PST"); null
    for region ids and for text that is no zone."""
    upper = pc.utf8_upper(zones)
    named = pc.index_in(upper, value_set=pa.array(list(ZONE_ABBREVIATIONS)))
    hours = pa.array([float(v) for v in ZONE_ABBREVIATIONS.values()], pa.float64())
    by_name = pc.multiply(hours.take(named), 3600).cast(pa.int64())
    stripped = pc.replace_substring_regex(upper, r"^(?:GMT|UTC|UT)([+-])", r"\1")
    struct = pc.extract_regex(
        stripped, r"^(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2})(?::?(?P<s>\d{2}))?)?$"
    )
    sign, h, m, s = (pc.struct_field(struct, [i]) for i in range(4))
    total = pc.add(
        pc.multiply(whole_numbers(h).fill_null(0), 3600),
        pc.add(pc.multiply(whole_numbers(m).fill_null(0), 60), whole_numbers(s).fill_null(0)),
    )
    total = pc.if_else(pc.equal(sign, "-"), pc.negate(total), total)
    total = pc.if_else(pc.greater(pc.abs(total), 18 * 3600), pa.scalar(None, pa.int64()), total)
    return pc.coalesce(by_name, pc.if_else(struct.is_valid(), total, pa.scalar(None, pa.int64())))


def to_utc(local: pa.Array, zones: pa.Array | str) -> tuple[pa.Array, pa.Array]:
    """Instants of wall-clock microseconds in their zones (one zone for all rows, or one per
    row), and where the zone was known. Each distinct zone is resolved once. At a
    daylight-saving change, a local time that happens twice takes the earlier instant and one
    that is skipped moves forward by the length of the gap, as Java's ZonedDateTime does."""
    if isinstance(zones, str):
        zones = pa.DictionaryArray.from_arrays(
            pa.repeat(pa.scalar(0, pa.int32()), len(local)), pa.array([zones])
        )
    encoded = zones if pa.types.is_dictionary(zones.type) else pc.dictionary_encode(zones)
    distinct, indices = encoded.dictionary, encoded.indices
    fixed = offset_seconds(distinct)
    instants = pc.subtract(local, pc.multiply(fixed.take(indices), 1_000_000))
    known = fixed.take(indices).is_valid()
    for index, (zone, offset) in enumerate(
        zip(distinct.to_pylist(), fixed.to_pylist(), strict=True)
    ):
        if offset is not None:
            continue
        mask = pc.equal(indices, index).fill_null(False)
        everywhere = mask.true_count == len(mask)
        wall = (local if everywhere else local.filter(mask)).cast(pa.timestamp("us"))
        try:
            located = pc.assume_timezone(
                wall, timezone=zone, ambiguous="earliest", nonexistent="earliest"
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        # Java's rule for a local time a daylight-saving change skips: the offset before the
        # change (02:30 becomes 03:30); elsewhere this is the instant found.
        offset = pc.subtract(pc.local_timestamp(located).cast(pa.int64()), located.cast(pa.int64()))
        located = pc.subtract(wall.cast(pa.int64()), offset)
        instants = located if everywhere else pc.replace_with_mask(instants, mask, located)
        known = pc.or_(known, mask)
    return instants.cast(TIMESTAMP), known


def check_zone(zone: str) -> str | None:
    """None when ``zone`` is an offset, an abbreviation or a region id."""
    if offset_seconds(pa.array([zone])).is_valid()[0].as_py():
        return None
    try:
        pc.assume_timezone(pa.array([0], pa.timestamp("s")), timezone=zone)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return (
            f"{zone!r} is not a time zone (use a region id such as 'America/Los_Angeles', "
            "an offset such as '+02:00', or UTC)"
        )
    return None
