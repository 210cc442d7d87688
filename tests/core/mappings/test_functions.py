"""Each function over columns: typical values, nulls, and values it fails on (null and a row
failure naming the function). The reference page's examples (test_reference_doc.py) cover
one row each; these cover several rows at once, so a result in the wrong row shows."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import MappingError

Evaluate = Callable[..., tuple[list[Any], list[tuple[int, str]]]]  # the conftest fixture

S = ["Ada", None, ""]  # a text column: a value, a null, empty text
CRC_OF_1 = zlib.crc32(b"1").to_bytes(4, "little").hex()  # Data Prep's byte order


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# (expression, columns, expected values) — no failures expected
CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    # strings
    ("concat(s, '!')", {"s": S}, ["Ada!", "!", "!"]),
    ("concat(s, n)", {"s": S, "n": [None, None, 1]}, ["Ada", None, "1"]),
    (
        "concat(n, ' ', b)",
        {"n": [1.5, 2, None], "b": [True, False, None]},
        ["1.5 true", "2 false", " "],
    ),
    ("explode(s, ';')", {"s": ["a;b;", None, ";;"]}, [["a", "b"], None, []]),
    ("explode(s)", {"s": ["", "x", ",x"]}, [[""], ["x"], ["", "x"]]),
    ("instr(s, 'a')", {"s": ["banana", None, "xyz"]}, [1, None, -1]),
    ("instr(s, 'a', 2)", {"s": ["banana", "ba", "aaa"]}, [3, -1, 2]),
    ("instr(s, 'an', 0, 2)", {"s": ["banana", "an", "ananan"]}, [3, -1, 2]),
    ("instr(s, 'é')", {"s": ["café au lait", "é", "e"]}, [3, 0, -1]),
    ("replacestr(s, 'a', 'o')", {"s": ["banana", None, ""]}, ["bonono", None, ""]),
    ("replace(s, '.', '')", {"s": ["1.2.3", "x", None]}, ["123", "x", None]),
    ("substr(s, 1, 2)", {"s": ["abcd", "a", None]}, ["bc", "", None]),
    ("substr(s, 0, 10)", {"s": ["abc", "", None]}, ["abc", "", None]),
    ("lower(s)", {"s": ["ÀB", None, "x"]}, ["àb", None, "x"]),
    ("upper(n)", {"n": [1, None, 2]}, ["1", None, "2"]),
    ("split(s, ',;')", {"s": [",a;;b,", None, ""]}, [["a", "b"], None, []]),
    ("split(s, '.')", {"s": ["a.b", "a", "..."]}, [["a", "b"], ["a"], []]),
    ("join('-', l)", {"l": [["a", None, "b"], None, []]}, ["a--b", None, ""]),
    ("join(', ', l)", {"l": [[1, 2], [3], None]}, ["1, 2", "3", None]),
    ("lpad(s, 4, '0')", {"s": ["7", "12345", None]}, ["0007", "12345", None]),
    ("rpad(s, 3, '')", {"s": ["a", "abc", None]}, ["a  ", "abc", None]),
    ("left(s, 2)", {"s": ["abc", "a", None]}, ["ab", "a", None]),
    ("right(s, 0)", {"s": ["abc", "a", None]}, ["", "", None]),
    ("right(s, 5)", {"s": ["abc", "abcdef", None]}, ["abc", "bcdef", None]),
    ("trim(s)", {"s": [" a\t", None, "\n"]}, ["a", None, ""]),
    ("ltrim(s)", {"s": [" a ", None, "b"]}, ["a ", None, "b"]),
    ("rtrim(s)", {"s": [" a ", None, "b"]}, [" a", None, "b"]),
    ("equals(s, 'Ada')", {"s": S}, [True, False, False]),
    ("s.equalsIgnoreCase('ADA')", {"s": S}, [True, False, False]),
    ("length(s)", {"s": S}, [3, None, 0]),
    ("length(l)", {"l": [[1, 2], None, []]}, [2, None, 0]),
    # regular expressions
    (
        "extract_regex(s, '(\\d+)-(\\d+)')",
        {"s": ["a 12-34 b", "none", None]},
        [["12-34", "12", "34"], None, None],
    ),
    (
        "extract_regex(s, '(?P<y>\\d{4})(x)?')",
        {"s": ["2024", "1999x", "no"]},
        [["2024", "2024", ""], ["1999x", "1999", "x"], None],
    ),
    ("extract_regex(s, '[(](a)[)]')", {"s": ["(a)", "a", None]}, [["(a)", "a"], None, None]),
    ("matches_regex(s, '[A-Z][a-z]+')", {"s": S}, [True, None, False]),
    # null handling and logic
    ("iif(n > 1, 'big', 'small')", {"n": [2, None, 1]}, ["big", "small", "small"]),
    ("iif(s, 1, 0)", {"s": S}, [1, 0, 0]),
    ("iif(n == null, 0, n)", {"n": [5, None, 7]}, [5, 0, 7]),
    ("iif(b, n, null)", {"b": [True, False, None], "n": [1.5, 2.5, 3.5]}, [1.5, None, None]),
    ("coalesce(a, b, 0)", {"a": [1, None, None], "b": [None, 2.5, None]}, [1.0, 2.5, 0.0]),
    ("coalesce(a, 'none')", {"a": [1, None, 3]}, ["1", "none", "3"]),
    ("is_empty(s)", {"s": S}, [False, True, True]),
    (
        "is_empty(o)",
        {"o": pa.array([{"a": 1}, {"a": None}, None], pa.struct([("a", pa.int64())]))},
        [False, True, True],
    ),
    ("is_empty(n)", {"n": [0, None, 1]}, [False, True, False]),
    (
        "contains_key('o.a')",
        {"o": pa.array([{"a": 1}, {"a": None}, None], pa.struct([("a", pa.int64())]))},
        [True, False, False],
    ),
    ("contains_key('nope')", {"s": S}, [False, False, False]),
    ("nullify()", {"s": S}, [None, None, None]),
    ("decode(s, 'Ada', 1, '', 2)", {"s": S}, [1, None, 2]),
    ("decode(s, 'Ada', 'A', 'other')", {"s": S}, ["A", "other", "other"]),
    ("decode(n, 1, 'one', null, 'none', '?')", {"n": [1, None, 2]}, ["one", "none", "?"]),
    ("min(a, b)", {"a": [1, None, 5], "b": [2, 3, None]}, [1, 3, 5]),
    ("max(a, b, 2.5)", {"a": [1, None, 5], "b": [2, 3, None]}, [2.5, 3.0, 5.0]),
    ("max(s, 'B')", {"s": S}, ["B", "B", "B"]),
    # arrays
    ("first(l)", {"l": [[1, 2], [], None]}, [1, None, None]),
    ("last(l)", {"l": [[1, 2], [3], None]}, [2, 3, None]),
    ("first(a, b)", {"a": [None, 1, 2], "b": [9, 9, 9]}, [None, 1, 2]),
    (
        "to_array(true, a, b)",
        {"a": [1, None, 3], "b": [4, 5, None]},
        [[1, 4], [None, 5], [3, None]],
    ),
    ("to_array(false, a, b)", {"a": [1, None, None], "b": [4, 5, None]}, [[1, 4], [5], []]),
    ("add_to_array(l, 9)", {"l": [[1], None, []]}, [[1, 9], [9], [9]]),
    ("join_arrays(l, m)", {"l": [[1], None, [2, 3]], "m": [[4], [5], None]}, [[1, 4], [5], [2, 3]]),
    ("join_arrays(l, m)", {"l": [None, None, [2]], "m": [None, [5], None]}, [None, [5], [2]]),
    ("size_of(l)", {"l": [[1, 2], None, []]}, [2, None, 0]),
    ("size_of(s)", {"s": S}, [3, None, 0]),
    (
        "size_of(o)",
        {
            "o": pa.array(
                [{"a": 1, "b": 2}, {"a": None, "b": 1}, None],
                pa.struct([("a", pa.int64()), ("b", pa.int64())]),
            )
        },
        [2, 1, None],
    ),
    ("upsert_array_append(l)", {"l": [[1], None, []]}, [[1], None, []]),
    # conversions and numbers
    ("to_integer(s)", {"s": ["12", None, " -3 "]}, [12, None, -3]),
    ("to_integer(n)", {"n": [1.9, -1.9, None]}, [1, -1, None]),
    ("to_bigint(s)", {"s": ["9007199254740993", "1e3", "-0.5"]}, [9007199254740993, 1000, 0]),
    ("to_decimal(s)", {"s": ["1.5", "2", None]}, [1.5, 2.0, None]),
    ("to_float(n)", {"n": [1, None, 3]}, [1.0, None, 3.0]),
    ("to_boolean(s)", {"s": ["ON", "n", None]}, [True, False, None]),
    ("to_bool(n)", {"n": [1, 0, None]}, [True, False, None]),
    ("round(n, 1)", {"n": [1.25, -1.25, None]}, [1.3, -1.3, None]),
    ("round(n)", {"n": [2, None, -3]}, [2, None, -3]),
    ("round(s)", {"s": ["2.5", "-2.5", None]}, [3.0, -3.0, None]),
    ("ceil(n)", {"n": [1.1, -1.1, None]}, [2.0, -1.0, None]),
    ("floor(n)", {"n": [1.9, -1.1, 4]}, [1.0, -2.0, 4.0]),
    ("abs(n)", {"n": [-2, None, 3]}, [2, None, 3]),
    ("abs(n)", {"n": [-2.5, 0.0, None]}, [2.5, 0.0, None]),
    # hashes and ids
    (
        "md5(s)",
        {"s": ["a", None, "a"]},
        ["0cc175b9c0f1b6a831c399e269772661", None, "0cc175b9c0f1b6a831c399e269772661"],
    ),
    (
        "sha1(s, 'ISO-8859-1')",
        {"s": ["é", None, "e"]},
        [hashlib.sha1(b"\xe9").hexdigest(), None, hashlib.sha1(b"e").hexdigest()],
    ),
    ("sha1(s, 'US-ASCII')", {"s": ["é"]}, [hashlib.sha1(b"?").hexdigest()]),
    (
        "sha256(s, 'UTF-16')",
        {"s": ["a", None, ""]},
        [hashlib.sha256(b"\xfe\xff\x00a").hexdigest(), None, hashlib.sha256(b"").hexdigest()],
    ),
    ("sha512(s, 'utf-16le')", {"s": ["a"]}, [hashlib.sha512(b"a\x00").hexdigest()]),
    ("crc32(n)", {"n": [1, None, 1]}, [CRC_OF_1, None, CRC_OF_1]),
    # URLs
    (
        "get_url_host(u)",
        {"u": ["http://user@[::1]:80/x", "mailto:a@b", None]},
        ["[::1]", None, None],
    ),
    ("get_url_port(u)", {"u": ["https://a/", "gopher://a/", "x"]}, [443, None, None]),
    (
        "get_url_path(u, false)",
        {"u": ["https://a/b/c.txt?q", "https://a", None]},
        ["c.txt", "", None],
    ),
    ("get_url_encoded(s)", {"s": ["a b&c=d%", None, "é"]}, ["a%20b%26c%3Dd%25", None, "é"]),
    ("get_url_decoded(s)", {"s": ["a%20b%2fc%2525", None, "%41"]}, ["a b/c%25", None, "%41"]),
    # dates
    (
        "date(s, 'dd/MM/yyyy')",
        {"s": ["23/10/2019", None, "01/01/2000"]},
        [utc(2019, 10, 23), None, utc(2000, 1, 1)],
    ),
    (
        "date(s, 'd/M/yy H:mm')",
        {"s": ["3/4/19 7:05", "13/12/99 23:59", None]},
        [utc(2019, 4, 3, 7, 5), utc(2099, 12, 13, 23, 59), None],
    ),
    (
        "date(s, 'yyyy-MM-dd HH:mm:ss.SSS')",
        {"s": ["2019-10-23 11:24:00.5", "2019-10-23 11:24:00.123456789", None]},
        [utc(2019, 10, 23, 11, 24, 0, 500000), utc(2019, 10, 23, 11, 24, 0, 123456), None],
    ),
    (
        "date(s, 'yyyy-MM-dd HH:mm VV')",
        {
            "s": [
                "2019-07-01 12:00 America/New_York",
                "2019-01-01 12:00 America/New_York",
                "2019-07-01 12:00 Europe/Paris",
            ]
        },
        [utc(2019, 7, 1, 16), utc(2019, 1, 1, 17), utc(2019, 7, 1, 10)],
    ),
    (
        "date(s, 'yyyy-MM-dd[ HH:mm]')",
        {"s": ["2019-07-01", "2019-07-01 12:30", None]},
        [utc(2019, 7, 1), utc(2019, 7, 1, 12, 30), None],
    ),
    (
        "date(s, 'EEE, dd MMM yyyy HH:mm:ss z')",
        {"s": ["Wed, 23 Oct 2019 11:24:00 GMT", "Wed, 23 Oct 2019 11:24:00 PDT", None]},
        [utc(2019, 10, 23, 11, 24), utc(2019, 10, 23, 18, 24), None],
    ),
    (
        "date(s)",
        {"s": ["2019-10-23T11:24:00Z", "2019-10-23", "10/23/2019"]},
        [utc(2019, 10, 23, 11, 24), utc(2019, 10, 23), utc(2019, 10, 23)],
    ),
    (
        "date(s)",
        {"s": ["2019-10-23T11:24:00+02:00", "20191023", "23.10.2019"]},
        [utc(2019, 10, 23, 9, 24), utc(2019, 10, 23), utc(2019, 10, 23)],
    ),
    (
        "date(d)",
        {"d": [date(2019, 10, 23), None, date(2000, 2, 29)]},
        [utc(2019, 10, 23), None, utc(2000, 2, 29)],
    ),
    (
        "date(s, 'yyyy-MM-dd', '2000-01-01')",
        {"s": [None, "2019-10-23", None]},
        [utc(2000, 1, 1), utc(2019, 10, 23), utc(2000, 1, 1)],
    ),
    (
        "format(t, 'dd.MM.yy HH:mm:ss.SSS')",
        {"t": [utc(2019, 10, 23, 1, 2, 3, 4000), None, utc(2001, 1, 1)]},
        ["23.10.19 01:02:03.004", None, "01.01.01 00:00:00.000"],
    ),
    (
        "format(t, \"yyyy-MM-dd'T'HH:mmXXX\")",
        {"t": ["2019-10-23T11:24:00Z", None, "2019-10-23"]},
        ["2019-10-23T11:24Z", None, "2019-10-23T00:00Z"],
    ),
    (
        "format(zone_date_to_zone(t, 'Asia/Kolkata'), 'HH:mm Z z')",
        {"t": [utc(2019, 1, 1, 12), None, utc(2019, 7, 1)]},
        ["17:30 +0530 Asia/Kolkata", None, "05:30 +0530 Asia/Kolkata"],
    ),
    ("dformat(n, 'yyyy-MM-dd')", {"n": [0, None, 86400000]}, ["1970-01-01", None, "1970-01-02"]),
    ("date_part('year', t)", {"t": ["2019-10-23", None, "2000-02-29"]}, [2019, None, 2000]),
    ("date_part('quarter', t)", {"t": ["2019-10-23", "2019-01-01", None]}, [4, 1, None]),
    ("date_part('dayofyear', t)", {"t": ["2019-02-01", "2019-01-01", None]}, [32, 1, None]),
    (
        "date_part('hh12', t)",
        {"t": ["2019-01-01T00:30:00Z", "2019-01-01T13:00:00Z", None]},
        [12, 1, None],
    ),
    (
        "date_part('millisecond', t)",
        {"t": ["2019-01-01T00:00:00.123Z", None, "2019-01-01"]},
        [123, None, 0],
    ),
    ("date_part('week', t)", {"t": ["2019-12-30", "2019-06-15", None]}, [1, 24, None]),
    (
        "set_date_part('year', y, t)",
        {"y": [2020, 2021, None], "t": ["2019-10-23T11:24:00Z", None, "2019-10-23"]},
        [utc(2020, 10, 23, 11, 24), None, None],
    ),
    (
        "set_date_part('hour', 23, t)",
        {"t": ["2019-10-23T11:24:00Z", None, "2019-10-23"]},
        [utc(2019, 10, 23, 23, 24), None, utc(2019, 10, 23, 23)],
    ),
    (
        "make_date_time(y, 2, 29, 0, 0, 0, 0, z)",
        {"y": [2020, 2024, None], "z": ["UTC", "+05:00", "UTC"]},
        [utc(2020, 2, 29), utc(2024, 2, 28, 19), None],
    ),
    # 02:30 does not exist in Paris that night: moved forward by the hour skipped, as in Java
    (
        "make_date_time(2019, 3, 31, 2, 30, 0, 0, 'Europe/Paris')",
        {"s": S},
        [utc(2019, 3, 31, 1, 30)] * 3,
    ),
    # 02:30 happens twice that night: the earlier instant
    (
        "make_date_time(2019, 10, 27, 2, 30, 0, 0, 'Europe/Paris')",
        {"s": S},
        [utc(2019, 10, 27, 0, 30)] * 3,
    ),
    (
        "zone_date_to_utc(s)",
        {"s": ["2019-10-17T11:55:12 CET", "2019-10-17T11:55:12-0130", None]},
        [utc(2019, 10, 17, 10, 55, 12), utc(2019, 10, 17, 13, 25, 12), None],
    ),
    (
        "zone_date_to_utc(s, '+05:30')",
        {"s": ["2019-10-17 11:55", "2019-10-17T11:55Z", None]},
        [utc(2019, 10, 17, 6, 25), utc(2019, 10, 17, 11, 55), None],
    ),
    (
        "zone_date_to_utc(t, 'America/Los_Angeles')",
        {"t": pa.array([datetime(2019, 10, 17, 11, 55)], pa.timestamp("ms"))},
        [utc(2019, 10, 17, 18, 55)],
    ),
]


@pytest.mark.parametrize(("expression", "columns", "expected"), CASES, ids=[c[0] for c in CASES])
def test_function(
    evaluate: Evaluate, expression: str, columns: dict[str, Any], expected: list[Any]
) -> None:
    values, failures = evaluate(expression, **columns)
    assert failures == []
    if values and isinstance(values[0], datetime) and values[0].tzinfo is not UTC:
        values = [v.astimezone(UTC) if v else v for v in values]
    assert values == expected


# (expression, columns, expected values, the failures' rows, words in each failure message)
FAILS: list[tuple[str, dict[str, Any], list[Any], list[int], str]] = [
    (
        "to_integer(s)",
        {"s": ["12", "abc", None, "1.5.5"]},
        [12, None, None, None],
        [1, 3],
        "is not a number",
    ),
    ("to_integer(s)", {"s": ["2147483647", "2147483648"]}, [2147483647, None], [1], "out of range"),
    (
        "to_bigint(s)",
        {"s": ["9223372036854775808", "-9223372036854775808"]},
        [None, -(2**63)],
        [0],
        "to_bigint(): '9223372036854775808' is out of range",
    ),
    ("to_decimal(s)", {"s": ["x", "1"]}, [None, 1.0], [0], "to_decimal(): 'x' is not a number"),
    ("to_float(s)", {"s": ["1,5"]}, [None], [0], "is not a number"),
    (
        "to_boolean(s)",
        {"s": ["maybe", "yes"]},
        [None, True],
        [0],
        "to_boolean(): 'maybe' is not a boolean",
    ),
    ("to_boolean(n)", {"n": [2, 1]}, [None, True], [0], "to_boolean(): 2 is not a boolean"),
    ("round(s)", {"s": ["x", "1.4"]}, [None, 1.0], [0], "round(): 'x' is not a number"),
    (
        "abs(n)",
        {"n": pa.array([-(2**63), -1], pa.int64())},
        [None, 1],
        [0],
        "abs(): -9223372036854775808 is out of range",
    ),
    (
        "date(s, 'yyyy-MM-dd')",
        {"s": ["2019-10-23", "2019-02-29", "23/10/2019", None]},
        [utc(2019, 10, 23), None, None, None],
        [1, 2],
        "date(): '",
    ),
    (
        "date(s)",
        {"s": ["soon", "2019-10-23"]},
        [None, utc(2019, 10, 23)],
        [0],
        "date(): 'soon' is not a date-time in a format Data Prep reads",
    ),
    (
        "date(s, 'yyyy-MM-dd HH:mm z')",
        {"s": ["2019-10-23 10:00 Mars/Base"]},
        [None],
        [0],
        "is not a valid date-time",
    ),
    (
        "date(s, 'MMM d yyyy')",
        {"s": ["Foo 1 2019", "Oct 1 2019"]},
        [None, utc(2019, 10, 1)],
        [0],
        "does not match the format 'MMM d yyyy'",
    ),
    ("format(s, 'yyyy')", {"s": ["never", "2019-01-01"]}, [None, "2019"], [0], "format(): 'never'"),
    ("date_part('year', s)", {"s": ["x"]}, [None], [0], "date_part(): 'x'"),
    (
        "set_date_part('day', 31, t)",
        {"t": ["2019-04-02", "2019-05-02"]},
        [None, utc(2019, 5, 31)],
        [0],
        "set_date_part(): the date-time would not exist",
    ),
    (
        "set_date_part('month', m, t)",
        {"m": [13, 2], "t": ["2019-04-02", "2019-04-02"]},
        [None, utc(2019, 2, 2)],
        [0],
        "would not exist",
    ),
    (
        "make_date_time(2019, 2, d, 0, 0, 0, 0, z)",
        {"d": [29, 1, 1], "z": ["UTC", "Nowhere/Land", "UTC"]},
        [None, None, utc(2019, 2, 1)],
        [0, 1],
        "make_date_time(): ",
    ),
    ("n / d", {"n": [1, 1, 7], "d": [0, None, 2]}, [None, None, 3], [0], "/: division by zero"),
    ("n % d", {"n": [1, -7], "d": [0, 2]}, [None, -1], [0], "%: division by zero"),
    (
        "n * 2",
        {"n": pa.array([2**62, 3], pa.int64())},
        [None, 6],
        [0],
        "*: the result is out of range",
    ),
    (
        "-n",
        {"n": pa.array([-(2**63), 3], pa.int64())},
        [None, -3],
        [0],
        "-: the result is out of range",
    ),
    ("s - 1", {"s": ["5", "five"]}, [4, None], [1], "-: 'five' is not a number"),
]


@pytest.mark.parametrize(
    ("expression", "columns", "expected", "rows", "words"), FAILS, ids=[f[0] for f in FAILS]
)
def test_failures_are_nulls_and_row_failures(
    evaluate: Evaluate,
    expression: str,
    columns: dict[str, Any],
    expected: list[Any],
    rows: list[int],
    words: str,
) -> None:
    values, failures = evaluate(expression, **columns)
    assert values == expected
    assert [row for row, _ in failures] == rows
    assert all(words in message for _, message in failures), failures


def test_uuids_are_version_4_and_differ_per_row(evaluate: Evaluate) -> None:
    values, failures = evaluate("uuid()", rows=1000)
    assert failures == []
    assert len(set(values)) == 1000
    for value in values:
        assert len(value) == 36 and value[14] == "4" and value[19] in "89ab"


def test_now_is_the_runs_start_for_every_row(evaluate: Evaluate) -> None:
    assert evaluate("now()", rows=3)[0] == [utc(2021, 10, 26, 10, 10, 24)] * 3
    assert evaluate("timestamp()", rows=2)[0] == [1635243024000] * 2


def test_iif_counts_the_failures_of_the_branch_taken_only(evaluate: Evaluate) -> None:
    values, failures = evaluate("iif(s == 'n/a', 0, to_integer(s))", s=["n/a", "x", "3", None])
    assert values == [0, None, 3, None]
    assert failures == [(1, "to_integer(): 'x' is not a number")]
    values, failures = evaluate("s != null && to_integer(s) > 1 || false", s=["x", None, "2"])
    assert values == [False, False, True]
    assert [row for row, _ in failures] == [0]


def test_nested_failures_are_recorded_once_per_function(evaluate: Evaluate) -> None:
    values, failures = evaluate(
        "concat(to_integer(a), '/', to_integer(b))", a=["x", "1"], b=["y", "2"]
    )
    assert values == ["/", "1/2"]
    assert [row for row, _ in failures] == [0, 0]


@pytest.mark.parametrize(
    ("expression", "columns", "words"),
    [
        ("lower(l)", {"l": [[1]]}, "lower(): the value must be text"),
        ("size_of(n) + l", {"n": [1], "l": [[1]]}, "must be a number"),
        ("iif(true, l, 1)", {"l": [[1]]}, "do not mix"),
        ("join_arrays(l, 1)", {"l": [[1]]}, "must be arrays"),
        ("date(n)", {"n": [1]}, "date(): the value must be a date"),
        ("true < 'a'", {}, "cannot compare boolean with string"),
        ("l == l", {"l": [[1]]}, "cannot compare"),
    ],
)
def test_values_of_a_type_a_function_cannot_take_are_an_error(
    evaluate: Evaluate, expression: str, columns: dict[str, Any], words: str
) -> None:
    with pytest.raises(MappingError, match=re.escape(words)):
        evaluate(expression, **columns)


@pytest.mark.parametrize(
    ("expression", "columns", "expected"),
    [
        ("a + b", {"a": [1, None], "b": [2, 3]}, [3, None]),
        ("a + b", {"a": [1, None], "b": [0.5, 3.0]}, [1.5, None]),
        ("a + ' ' + b", {"a": ["x", None], "b": [None, None]}, ["x ", " "]),
        ("a + b", {"a": ["x", None], "b": [None, None]}, ["x", None]),
        ("a / b", {"a": [7, -7, 7.0], "b": [2, 2, 2]}, [3.5, -3.5, 3.5]),
        ("a / b", {"a": [7, -7], "b": [2, 2]}, [3, -3]),
        ("a % b", {"a": [7, -7, 7], "b": [3, 3, -3]}, [1, -1, 1]),
        ("a % b", {"a": [7.5, -7.5], "b": [2, 2]}, [1.5, -1.5]),
        ("a == b", {"a": [1, None, None], "b": [1, 1, None]}, [True, False, True]),
        ("a != null", {"a": [1, None]}, [True, False]),
        ("a < b", {"a": [1, None], "b": [2, 2]}, [True, False]),
        ("a > '10'", {"a": [9, 11]}, [False, True]),
        ("a >= b", {"a": ["b", "a"], "b": ["a", "b"]}, [True, False]),
        ("a < '2020-01-01'", {"a": [utc(2019, 1, 1), utc(2021, 1, 1)]}, [True, False]),
        ("!a", {"a": [True, None]}, [False, True]),
        ("a && b", {"a": [True, True, None], "b": [True, None, True]}, [True, False, False]),
        ("'n' + a + b", {"a": [1.5], "b": [True]}, ["n1.5true"]),
    ],
)
def test_operators(
    evaluate: Evaluate, expression: str, columns: dict[str, Any], expected: list[Any]
) -> None:
    assert evaluate(expression, **columns) == (expected, [])
