"""The expression parser: literals, references, operators and their precedence, and errors
that name the position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lakefeed.errors import MappingError
from lakefeed.mappings import parse
from lakefeed.mappings.expressions import Binary, Call, Literal, Reference, Unary

Evaluate = Callable[..., tuple[list[Any], list[tuple[int, str]]]]  # the conftest fixture


def test_literals() -> None:
    assert parse("42") == Literal(42, 1)
    assert parse("2.5").value == 2.5
    assert parse("1e3").value == 1000.0
    assert parse("-7").value == -7
    assert parse("true").value is True
    assert parse("false").value is False
    assert parse("null").value is None
    assert parse('"double"').value == "double"
    assert parse("'single'").value == "single"


def test_string_escapes_and_backslashes_kept_for_regular_expressions() -> None:
    assert parse(r'"a\"b"').value == 'a"b'
    assert parse(r"'it\'s'").value == "it's"
    assert parse(r'"tab\there"').value == "tab\there"
    assert parse(r'"back\\slash"').value == "back\\slash"
    assert parse(r'"\u00e9"').value == "é"
    assert parse(r'"\d+\.\d*"').value == r"\d+\.\d*"
    assert parse('"it\'s"').value == "it's"


def test_references_paths_and_quoted_names() -> None:
    assert parse("email") == Reference(("email",), 1)
    assert parse("address.city").path == ("address", "city")
    assert parse("${First Name}").path == ("First Name",)
    assert parse(r"${order.unit\.price}").path == ("order", "unit.price")
    assert parse("`unit.price`").path == ("unit.price",)
    assert parse("order.`unit.price`").path == ("order", "unit.price")
    assert parse("$total").path == ("$total",)
    assert parse("${new}").path == ("new",)


def test_references_lists_every_attribute_read() -> None:
    expression = parse('concat(a, " ", b.c, iif(`d.e` == null, f, "x"))')
    assert expression.references() == {"a", "b.c", "`d.e`", "f"}
    assert parse('"x"').references() == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 * 3 % 4", 2),
        ("-2 * 3", -6),
        ("1 + 2 == 3", True),
        ("1 < 2 == 2 > 1", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!false && false", False),
        ("not (1 == 2)", True),
        ("1 eq 1 and 2 ne 3", True),
        ("3 gt 2 or 1 lt 0", True),
        ("4 ge 4 && 4 le 4", True),
        ("7 div 2", 3),
        ("7 mod 4", 3),
        ("1 > 2 ? 'a' : 2 > 1 ? 'b' : 'c'", "b"),
        ("true ? 1 + 1 : 0", 2),
    ],
)
def test_precedence(evaluate: Evaluate, text: str, expected: object) -> None:
    assert evaluate(text) == ([expected], [])


def test_tree_shapes() -> None:
    tree = parse("a + b * c")
    assert isinstance(tree, Binary) and tree.op == "+"
    assert isinstance(tree.right, Binary) and tree.right.op == "*"
    assert isinstance(parse("!a"), Unary)
    assert parse("x ? 1 : 2") == Call(
        "iif", (Reference(("x",), 1), Literal(1, 5), Literal(2, 9)), 3
    )


def test_method_calls_are_calls_with_the_target_first() -> None:
    call = parse('name.first.equalsIgnoreCase("ADA")')
    assert isinstance(call, Call) and call.name == "equalsIgnoreCase"
    assert call.args[0] == Reference(("name", "first"), 1)
    assert parse('"a".equals(b)').args[0] == Literal("a", 1)


def test_array_literals(evaluate: Evaluate) -> None:
    assert evaluate("[1, 2, 3]") == ([[1, 2, 3]], [])
    assert evaluate("[]") == ([[]], [])
    assert evaluate("[1, null]") == ([[1, None]], [])


def test_aliases_parse_to_the_function() -> None:
    assert parse("lcase(x)").name == "lower"
    assert parse("replace(x, 'a', 'b')").name == "replacestr"
    assert parse("guid()").name == "uuid"


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("concat(a, b", 12, "expected ',' or ')'"),
        ("concat(a b)", 10, "expected ',' or ')'"),
        ("1 +", 4, "expected a value"),
        ("a b", 3, "expected the end"),
        ("(1 + 2", 7, "expected ')'"),
        ("x ? 1", 6, "expected ':'"),
        ('"open', 1, "no closing"),
        ("'open", 1, "no closing"),
        ("${open", 1, "no closing }"),
        ("`open", 1, "no closing backtick"),
        ("a # b", 3, "unexpected character '#'"),
        ("x = 1", 3, "'=' is not an operator"),
        ("new + 1", 1, "reserved word"),
        ('"a".equals', 11, "expected '(' to call the method equals()"),
        ("99999999999999999999", 1, "too large"),
        ("lower(a, b)", 1, "lower() takes 1 argument, not 2"),
        ("concat()", 1, "takes at least 1 argument"),
        ("substr(x, 0)", 1, "takes 3 arguments"),
        ("substr(x, start, 2)", 11, "argument 2 of substr() must be a literal"),
        ("date(x, fmt)", 9, "argument 2 of date() must be a literal"),
        ('date(x, "yyyy-QQ")', 1, "the letter 'Q' is not supported"),
        ('date(x, "yyyy-MM-dd\'T")', 1, "quote is not closed"),
        ('explode(x, "(")', 1, "not valid RE2"),
        ('matches_regex(x, "(?=a)")', 1, "not valid RE2"),
        ('sha256(x, "EBCDIC")', 1, "character set 'EBCDIC'"),
        ('zone_date_to_zone(x, "Mars/Base")', 1, "'Mars/Base' is not a time zone"),
        ('date_part("fortnight", x)', 1, "'fortnight' is not one of"),
        ('set_date_part("week", 1, x)', 1, "'week' is not one of"),
        ("lpad(x, -1, 'a')", 1, "whole number from 0"),
        ('contains_key("a..b")', 1, "empty name"),
        ("to_array(1, a)", 1, "argument 1 must be true or false"),
        ("get_url_path(u, 'no')", 1, "argument 2 must be true or false"),
        ("  ", 0, "empty"),
    ],
)
def test_errors_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse(text)
    assert words in str(caught.value)
    if position:
        assert f"position {position} " in str(caught.value)


def test_unknown_function_lists_the_known_ones_and_suggests() -> None:
    with pytest.raises(MappingError) as caught:
        parse("concat(lowr(a), b)")
    message = str(caught.value)
    assert "Unknown function 'lowr' at position 8" in message
    assert "Did you mean lower" in message
    assert "Known functions: abs, add_to_array," in message
    assert "docs/reference/mapping-functions.md" in message


def test_unknown_function_with_a_usual_name_says_what_to_write() -> None:
    with pytest.raises(MappingError, match=r"Write x == null instead"):
        parse("is_null(x)")
    with pytest.raises(MappingError, match=r"Write coalesce\(x, y\) instead"):
        parse("nvl(a, b)")


def test_a_function_name_alone_is_an_attribute() -> None:
    assert parse("date") == Reference(("date",), 1)
    assert parse("lower.x").path == ("lower", "x")
