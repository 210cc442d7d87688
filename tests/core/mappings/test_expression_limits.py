"""The limits on an expression: number literals of at most 100 characters, at most 100 levels
of nesting and 10,000 parts. Beyond them the parser answers a MappingError naming the limit and
the position (never a ValueError or RecursionError); at them, every walk over the tree fits in
the recursion limit with room left for the caller."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import MappingError
from lakefeed.mappings import CompiledMappingSet, Mapping, parse
from lakefeed.mappings.expressions import MAX_DEPTH, MAX_NODES, MAX_NUMBER_CHARS

NOW = datetime(2021, 10, 26, 10, 10, 24, tzinfo=UTC)

#: Frames a caller may already use when it parses or applies (a REST worker thread uses
#: about 12, a flow run's thread about 16; pytest more).
CALLER_FRAMES = 250


def refused(text: str, *words: str) -> MappingError:
    with pytest.raises(MappingError) as caught:
        parse(text)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return caught.value


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["1" * 5000, "1" * 101, "1." + "5" * 200, "." + "5" * 100, "1e" + "9" * 100]
)
def test_a_number_of_more_than_100_characters_is_refused_at_its_position(number: str) -> None:
    error = refused(f"a + {number}", "position 5 ", f"{len(number):,} characters", "at most 100")
    assert error.details["position"] == 5
    assert len(str(error)) < 600  # the message shows the text around the number only


def test_a_number_of_100_characters_is_read() -> None:
    assert MAX_NUMBER_CHARS == 100
    assert parse("0" * 99 + "7").value == 7
    assert parse("1." + "0" * 98).value == 1.0


# --- depth --------------------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, str]:
    """Expressions ``levels`` levels deep, one of each way of nesting."""
    n = levels - 1  # the innermost name or value is a level
    return {
        "chain": " + ".join(["a"] * levels),
        "and": " && ".join(["a"] * levels),
        "calls": "upper(" * n + "a" + ")" * n,
        "iif": "iif(a, " * n + "a" + ", 'x')" * n,
        "ternary": "a ? " * n + "a" + " : 'x'" * n,
        "parentheses": "(" * n + "a" + ")" * n,
        "not": "!" * n + "a",
        "minus": "- " * n + "a",
        "arrays": "[" * n + "a" + "]" * n,
        "methods": "a" + ".trim()" * n,
        "right nested": "a + (" * (n // 2) + "a" + ")" * (n // 2),  # 2 levels a group
    }


SHAPES = list(_nested(1))


@pytest.mark.parametrize("shape", SHAPES)
def test_more_than_100_levels_are_refused_naming_the_limit(shape: str) -> None:
    assert MAX_DEPTH == 100
    refused(_nested(MAX_DEPTH + 1)[shape], "too large at position", "more than 100 levels deep")


@pytest.mark.parametrize(
    "text",
    [
        "+".join(["a"] * 20_000),
        "(" * 20_000 + "a" + ")" * 20_000,
        "upper(" * 5000 + "a" + ")" * 5000,
        "!" * 20_000 + "a",
        "a" + ".trim()" * 5000,
    ],
    ids=["20,000 terms", "parentheses", "calls", "not", "methods"],
)
def test_far_deeper_expressions_are_refused_early_with_a_short_message(text: str) -> None:
    error = refused(text, "more than 100 levels deep", f"an expression of {len(text):,} characters")
    assert len(str(error)) < 800


def test_a_constant_argument_that_is_a_long_expression_is_named_briefly() -> None:
    chain = " + ".join(["a"] * 90)
    error = refused(f"substr(x, {chain}, 2)", "argument 2 of substr() must be a literal")
    assert len(str(error)) < 600


# --- size ---------------------------------------------------------------------------------------


def test_more_than_10000_parts_are_refused_naming_the_limit() -> None:
    assert MAX_NODES == 10_000
    assert parse("concat(" + ", ".join(["a"] * 9_999) + ")").size == 10_000
    refused("concat(" + ", ".join(["a"] * 10_000) + ")", "more than 10,000 parts")
    refused("[" + ", ".join(["a"] * 20_000) + "]", "more than 10,000 parts")
    wide = ", ".join(["a + a"] * 4_000)  # 12,000 parts, 2 levels deep
    refused(f"concat({wide})", "more than 10,000 parts")


def test_depth_and_size_are_not_part_of_equality() -> None:
    assert parse("upper(a)").depth == 2 and parse("a + b * c").depth == 3
    assert parse("a + b * c").size == 5
    assert parse("a") == parse("a")
    assert "depth" not in repr(parse("upper(a)"))


# --- a tree at the limits works everywhere --------------------------------------------------------


def _with_caller_frames(frames: int, work: Callable[[], Any]) -> Any:
    """``work()`` in a new thread, called ``frames`` frames deep; its result or its error."""
    outcome: list[Any] = []

    def burn(n: int) -> None:
        if n:
            burn(n - 1)
            return
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=burn, args=(frames,))
    thread.start()
    thread.join()
    (result,) = outcome
    if isinstance(result, BaseException):
        raise result
    return result


@pytest.mark.parametrize("shape", SHAPES)
def test_a_tree_at_the_limit_parses_applies_prints_and_pickles(shape: str) -> None:
    text = _nested(MAX_DEPTH)[shape]
    batch = pa.RecordBatch.from_pydict({"a": ["x"]})

    def everything() -> list[Any]:
        expression = parse(text)
        mappings = CompiledMappingSet.compile([Mapping("EXPRESSION", text, "out")], None)
        mapped = mappings.apply(batch, NOW)
        copy = pickle.loads(pickle.dumps(mappings))
        assert copy.apply(batch, NOW).data.equals(mapped.data)
        assert mappings.check_source(batch.schema) == []
        again = parse(text)
        assert str(expression) == str(again) and repr(expression) == repr(again)
        assert hash(expression) == hash(again) and expression == again
        return [expression.depth, mappings.references(), mapped.data.num_rows]

    depth, references, rows = _with_caller_frames(CALLER_FRAMES, everything)
    assert depth <= MAX_DEPTH and references == {"a"} and rows == 1


def test_the_widest_tree_applies() -> None:
    text = "concat(" + ", ".join(["a"] * (MAX_NODES - 1)) + ")"
    mappings = CompiledMappingSet.compile([Mapping("EXPRESSION", text, "out")], None)
    mapped = mappings.apply(pa.RecordBatch.from_pydict({"a": ["x"]}), NOW)
    assert mapped.data.column(0).to_pylist() == ["x" * (MAX_NODES - 1)]
