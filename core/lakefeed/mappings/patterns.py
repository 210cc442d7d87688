"""Java DateTimeFormatter patterns (``yyyy-MM-dd'T'HH:mm:ss.SSSX``) over whole columns.

A pattern is compiled once into a regular expression with a named group per field, so reading
a column is one ``extract_regex`` call plus integer arithmetic (:mod:`.calendar`); writing is
one piece per field (``pc.year``, ``pc.month`` … padded) joined row-wise. Supported letters:
y u M L d D H k K h m s S a E z V Z X x O; text in single quotes and ``[optional]`` sections.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.mappings.calendar import leap_year, local_micros, to_utc, valid_parts, whole_numbers
from lakefeed.mappings.evaluation import TIMESTAMP, offset_text
from lakefeed.mappings.regexes import escape

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_SUPPORTED = "yuMLdDHkKhmsSaEzVZXxO"
_NUMERIC = "yuMLdDHkKhmsS"


@dataclass(frozen=True)
class _Field:
    letter: str
    count: int


@dataclass(frozen=True)
class _Optional:
    items: tuple[Any, ...]


def _tokens(pattern: str) -> tuple[Any, ...]:
    """Literal text (str), fields and optional sections of a Java pattern."""
    stack: list[list[Any]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = i + 1
            literal = []
            while True:
                if end >= len(pattern):
                    raise ValueError("a quote is not closed")
                if pattern[end] == "'":
                    if pattern[end + 1 : end + 2] == "'":
                        literal.append("'")
                        end += 2
                        continue
                    break
                literal.append(pattern[end])
                end += 1
            stack[-1].append("".join(literal) if literal else "'")
            i = end + 1
        elif char == "[":
            stack.append([])
            i += 1
        elif char == "]":
            if len(stack) == 1:
                raise ValueError("']' closes no optional section")
            items = stack.pop()
            stack[-1].append(_Optional(tuple(items)))
            i += 1
        elif char.isascii() and char.isalpha():
            if char not in _SUPPORTED:
                raise ValueError(
                    f"the letter '{char}' is not supported (supported: "
                    f"{' '.join(_SUPPORTED)}; put other text in single quotes: 'T')"
                )
            end = i
            while end < len(pattern) and pattern[end] == char:
                end += 1
            stack[-1].append(_Field(char, end - i))
            i = end
        else:
            stack[-1].append(char)
            i += 1
    if len(stack) != 1:
        raise ValueError("an optional section '[' is not closed")
    return tuple(stack[0])


_OFFSET = r"(?:[Zz]|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?|(?:GMT|UTC|UT)(?:[+-]\d{1,2}(?::?\d{2})?)?)"
_ZONE = r"[A-Za-z][A-Za-z0-9_/+\-:]*"


@dataclass(frozen=True)
class _Parser:
    regex: str
    groups: tuple[tuple[str, _Field], ...]  # group name, the field it reads


@functools.lru_cache(maxsize=256)
def _parser(pattern: str) -> _Parser:
    groups: list[tuple[str, _Field]] = []
    tokens = _tokens(pattern)
    flat = _flatten(tokens)

    def build(items: tuple[Any, ...]) -> str:
        out = []
        for item in items:
            if isinstance(item, _Optional):
                out.append(f"(?:{build(item.items)})?")
            elif isinstance(item, _Field):
                name = f"f{len(groups)}"
                groups.append((name, item))
                adjacent = _followed_by_number(flat, item)
                out.append(f"(?P<{name}>{_field_regex(item, adjacent)})")
            else:
                out.append(escape(item))
        return "".join(out)

    return _Parser("^" + build(tokens) + "$", tuple(groups))


def _flatten(items: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_flatten(item.items) if isinstance(item, _Optional) else [item])
    return out


def _followed_by_number(flat: list[Any], field: _Field) -> bool:
    index = next(i for i, item in enumerate(flat) if item is field)  # identity: fields repeat
    following = flat[index + 1] if index + 1 < len(flat) else None
    return isinstance(following, _Field) and following.letter in _NUMERIC


def _field_regex(field: _Field, adjacent: bool) -> str:
    letter, count = field.letter, field.count
    if letter in "yu":
        return {2: r"\d{2}", 4: r"\d{4}"}.get(
            count, rf"\d{{{count},9}}" if not adjacent else rf"\d{{{count}}}"
        )
    if letter in "ML":
        if count >= 4:
            return r"[A-Za-z]+"
        if count == 3:
            return r"[A-Za-z]{3}\.?"
    if letter == "D":
        return rf"\d{{{count},3}}" if not adjacent else rf"\d{{{max(count, 3)}}}"
    if letter in "MLdHkKhms":
        return r"\d{2}" if count == 2 or adjacent else r"\d{1,2}"
    if letter == "S":
        return rf"\d{{{count}}}" if adjacent else r"\d{1,9}"
    if letter == "a":
        return r"[AaPp]\.?[Mm]\.?"
    if letter == "E":
        return r"[A-Za-z]+\.?"
    if letter in "zV":
        return _ZONE
    return _OFFSET  # Z X x O


def _parts(parser: _Parser, strings: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
    """Whether each row matched, and the text of each kind of field ("" where absent)."""
    struct = pc.extract_regex(pc.utf8_trim_whitespace(strings), parser.regex)
    found: dict[str, pa.Array] = {}
    for index, (_, field) in enumerate(parser.groups):
        values = pc.struct_field(struct, [index])
        kind = _kind(field)
        if kind in found:  # a letter twice: the first one that is there
            found[kind] = pc.if_else(pc.equal(found[kind], ""), values, found[kind])
        else:
            found[kind] = values
    return struct.is_valid(), found


def _kind(field: _Field) -> str:
    letter, count = field.letter, field.count
    if letter in "yu":
        return "yy" if count == 2 else "year"
    if letter in "ML":
        return "month_name" if count >= 3 else "month"
    if letter in "zV":
        return "zone"
    if letter in "ZXxO":
        return "offset"
    return {"d": "day", "D": "doy", "H": "H", "k": "k", "K": "K", "h": "h", "m": "minute",
            "s": "second", "S": "fraction", "a": "ampm", "E": "weekday"}[letter]  # fmt: skip


def parse_pattern(
    strings: pa.Array,
    pattern: str,
    default_zone: str | None = None,
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Instants read from ``strings`` with a Java pattern, a mask of the rows read, and one
    of the rows of the pattern's shape (read or not: the 30th of February, an unknown zone)."""
    parser = _parser(pattern)
    matched, parts = _parts(parser, strings)
    n = len(strings)

    def get(kind: str, default: int | None = None) -> pa.Array:
        if kind not in parts:
            return pa.repeat(pa.scalar(default, pa.int64()), n)
        values = whole_numbers(parts[kind])
        return values if default is None else values.fill_null(default)

    year = get("year")
    if "yy" in parts:
        year = pc.coalesce(year, pc.add(get("yy"), 2000))
    if "year" not in parts and "yy" not in parts:
        year = pa.repeat(pa.scalar(1970, pa.int64()), n)
    month = get("month")
    if "month_name" in parts:
        names = pc.utf8_lower(pc.replace_substring(parts["month_name"], ".", ""))
        full = pc.index_in(names, value_set=pa.array(_MONTHS))
        short = pc.index_in(names, value_set=pa.array([m[:3] for m in _MONTHS]))
        month = pc.coalesce(month, pc.add(pc.coalesce(full, short).cast(pa.int64()), 1))
        matched = pc.and_(matched, pc.or_(pc.equal(parts["month_name"], ""), month.is_valid()))
    month = month.fill_null(1)
    day = get("day", 1)
    hour = _hours(parts, get)
    minute, second = get("minute", 0), get("second", 0)
    micros = pa.repeat(pa.scalar(0, pa.int64()), n)
    if "fraction" in parts:
        digits = pc.utf8_slice_codeunits(pc.utf8_rpad(parts["fraction"], 6, "0"), 0, 6)
        micros = whole_numbers(digits).fill_null(0)
    valid = valid_parts(year, month, day, hour, minute, second)
    local = local_micros(year, month, day, hour, minute, second, micros)
    if "doy" in parts:
        doy = get("doy")
        leap = leap_year(year)
        doy_ok = pc.and_(
            pc.greater_equal(doy, 1), pc.less_equal(doy, pc.add(365, leap.cast(pa.int64())))
        )
        valid = pc.and_(valid, doy_ok.fill_null(True))
        jan1 = local_micros(year, _ones(n), _ones(n), hour, minute, second, micros)
        local = pc.coalesce(pc.add(jan1, pc.multiply(pc.subtract(doy, 1), 86_400_000_000)), local)
    zones = _zone_texts(parts, default_zone)
    instants, zone_ok = to_utc(local, zones)
    read = pc.and_(pc.and_(matched, valid.fill_null(False)), zone_ok).fill_null(False)
    return pc.if_else(read, instants, pa.scalar(None, TIMESTAMP)), read, matched.fill_null(False)


def _ones(n: int) -> pa.Array:
    return pa.repeat(pa.scalar(1, pa.int64()), n)


def _hours(parts: dict[str, pa.Array], get: Any) -> pa.Array:
    hour = get("H")
    if "k" in parts:
        k = get("k")
        hour = pc.coalesce(hour, pc.if_else(pc.equal(k, 24), 0, k))
    pm = None
    if "ampm" in parts:
        pm = pc.starts_with(pc.utf8_lower(parts["ampm"]), "p")
    for letter in ("h", "K"):
        if letter in parts:
            twelve = get(letter)
            if letter == "h":
                twelve = pc.if_else(pc.equal(twelve, 12), 0, twelve)
            if pm is not None:
                twelve = pc.if_else(pm, pc.add(twelve, 12), twelve)
            hour = pc.coalesce(hour, twelve)
    return hour.fill_null(0)


def _zone_texts(parts: dict[str, pa.Array], default_zone: str | None) -> pa.Array | str:
    """Each row's zone: the pattern's zone or offset field, else ``default_zone`` (UTC)."""
    fields = [parts[kind] for kind in ("zone", "offset") if kind in parts]
    if not fields:
        return default_zone or "UTC"
    zones = fields[0]
    for other in fields[1:]:
        zones = pc.if_else(pc.equal(zones, ""), other, zones)
    return pc.if_else(pc.equal(zones, "").fill_null(True), default_zone or "UTC", zones)


# --- reading fixed-width text quickly ------------------------------------------------------------

#: Fixed-width fields Arrow's ISO 8601 reader can take, with their width and ISO separator.
_ISO_FIELDS = {("y", 4): "", ("M", 2): "-", ("d", 2): "-", ("H", 2): "T", ("m", 2): ":",
               ("s", 2): ":"}  # fmt: skip


@functools.lru_cache(maxsize=256)
def _fixed_width(pattern: str) -> tuple[dict[str, int], list[tuple[int, str]], int] | None:
    """For a pattern of fixed-width date and time fields and literal text (dd/MM/yyyy HH:mm):
    where each field starts, where each literal starts, and the length; None otherwise."""
    starts: dict[str, int] = {}
    literals: list[tuple[int, str]] = []
    offset = 0
    for item in _tokens(pattern):
        if isinstance(item, str):
            literals.append((offset, item))
            offset += len(item)
        elif isinstance(item, _Field) and (item.letter, item.count) in _ISO_FIELDS:
            if item.letter in starts:
                return None
            starts[item.letter] = offset
            offset += item.count
        else:
            return None
    order = "yMdHms"
    present = [letter in starts for letter in order]
    if not all(present[:3]) or present != sorted(present, reverse=True):
        return None  # the ISO form needs a date, and no minute without an hour …
    return starts, literals, offset


def read_fixed_width(strings: pa.Array, pattern: str, default_zone: str | None) -> pa.Array | None:
    """Instants read by slicing the fields out and Arrow's strict ISO 8601 cast, when the
    pattern is fixed-width and every value fits it; None sends the caller the slow way (which
    also says what is wrong with each value)."""
    plan = _fixed_width(pattern)
    if plan is None:
        return None
    starts, literals, length = plan
    checks = [pc.equal(pc.utf8_length(strings), length)]
    if _iso_ordered(pattern):  # already ISO 8601 text: Arrow checks the separators itself
        return _cast_iso(strings, checks, default_zone)
    checks += [
        pc.equal(pc.utf8_slice_codeunits(strings, at, at + len(text)), text)
        for at, text in literals
    ]
    pieces: list[Any] = []
    digits = []
    for letter in "yMdHms":
        if letter in starts:
            width = 4 if letter == "y" else 2
            piece = pc.utf8_slice_codeunits(strings, starts[letter], starts[letter] + width)
            pieces += [_ISO_FIELDS[(letter, width)], piece]
            digits.append(piece)
    checks.append(pc.ascii_is_decimal(pc.binary_join_element_wise(*digits, "")))
    return _cast_iso(pc.binary_join_element_wise(*pieces, ""), checks, default_zone)


def _iso_ordered(pattern: str) -> bool:
    return re.fullmatch(r"yyyy-MM-dd(?:(?:'T'| )HH(?::mm(?::ss)?)?)?", pattern) is not None


def _cast_iso(iso: pa.Array, checks: list[pa.Array], default_zone: str | None) -> pa.Array | None:
    if not all(pc.all(check).as_py() is not False for check in checks):
        return None
    try:
        naive = iso.cast(pa.timestamp("us"))
    except pa.ArrowInvalid:  # the 30th of February, a 13th month …
        return None
    if default_zone:
        return to_utc(naive.cast(pa.int64()), default_zone)[0]
    return naive.cast(TIMESTAMP)


# --- writing text -----------------------------------------------------------------------------


def format_pattern(values: pa.Array, pattern: str) -> pa.Array:
    """Date-times written with a Java pattern, in the time zone of their type."""
    zone = values.type.tz or "UTC"
    utc_micros = values.cast(TIMESTAMP).cast(pa.int64())
    wall = pc.local_timestamp(values) if zone != "UTC" else values.cast(pa.timestamp("us"))
    offset = pc.subtract(wall.cast(pa.int64()), utc_micros)
    pieces = [_piece(item, wall, offset, zone) for item in _flatten(_tokens(pattern))]
    if not pieces:
        return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), "")
    joined = pc.binary_join_element_wise(*pieces, "")
    return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), joined)


def _pad(values: pa.Array, width: int) -> pa.Array:
    written = values.cast(pa.string())
    return pc.utf8_lpad(written, width, "0") if width > 1 else written


def _piece(item: Any, wall: pa.Array, offset: pa.Array, zone: str) -> Any:
    if isinstance(item, str):
        return item
    letter, count = item.letter, item.count
    if letter in "yu":
        year = pc.year(wall)
        if count == 2:
            return _pad(pc.subtract(year, pc.multiply(pc.divide(year, 100), 100)), 2)
        return _pad(year, count)
    if letter in "ML":
        month = pc.month(wall)
        if count >= 3:
            names = [m.capitalize() for m in _MONTHS]
            table = pa.array(names if count >= 4 else [m[:3] for m in names])
            return table.take(pc.subtract(month, 1))
        return _pad(month, count)
    if letter == "E":
        names = [d.capitalize() for d in _DAYS]
        table = pa.array(names if count >= 4 else [d[:3] for d in names])
        return table.take(pc.day_of_week(wall))
    simple = {"d": pc.day, "D": pc.day_of_year, "H": pc.hour, "m": pc.minute, "s": pc.second}
    if letter in simple:
        return _pad(simple[letter](wall), count)
    if letter in "hKk":
        hour = pc.hour(wall)
        twelve = pc.subtract(hour, pc.multiply(pc.divide(hour, 12), 12))
        if letter == "h":
            return _pad(pc.if_else(pc.equal(twelve, 0), 12, twelve), count)
        if letter == "K":
            return _pad(twelve, count)
        return _pad(pc.if_else(pc.equal(hour, 0), 24, hour), count)
    if letter == "S":
        micros = pc.add(pc.multiply(pc.millisecond(wall), 1000), pc.microsecond(wall))
        nine = pc.binary_join_element_wise(_pad(micros, 6), "000", "")
        return pc.utf8_slice_codeunits(nine, 0, count)
    if letter == "a":
        return pc.if_else(pc.less(pc.hour(wall), 12), "AM", "PM")
    if letter in "zV":
        return zone
    if letter == "O":
        hours = pc.divide(offset, 3_600_000_000)
        written = pc.binary_join_element_wise(
            "GMT", pc.if_else(pc.less(offset, 0), "-", "+"), pc.abs(hours).cast(pa.string()), ""
        )
        return pc.if_else(pc.equal(offset, 0), "GMT", written)
    zulu = letter == "X" or (letter == "Z" and count == 5)
    colon = (letter in "Xx" and count >= 3) or (letter == "Z" and count >= 4)
    written = offset_text(offset, colon=colon, zulu=zulu)
    if letter == "Z" and count == 4:
        return pc.if_else(
            pc.equal(offset, 0), "GMT", pc.binary_join_element_wise("GMT", written, "")
        )
    if letter in "Xx" and count == 1:
        return pc.replace_substring_regex(written, r"^([+-]\d{2})00$", r"\1")
    return written


def pattern_problem(pattern: str) -> str | None:
    """None when ``pattern`` can be read and written; otherwise what is wrong with it."""
    try:
        _parser(pattern)
    except ValueError as exc:
        return str(exc)
    return None
