"""docs/reference/mapping-functions.md documents every registered function, and each example
in its tables evaluates to the result it shows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.mappings import FUNCTIONS, parse
from lakefeed.mappings.evaluation import Context, iso_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "reference" / "mapping-functions.md"
NOW = datetime(2021, 10, 26, 10, 10, 24, tzinfo=UTC)
ROW = re.compile(
    r"^\| (?P<names>`[^|]+`) \| `(?P<example>.+?)` \|(?P<input>[^|]*)\| (?P<result>.+) \|$"
)


def examples() -> list[dict[str, str]]:
    return [m.groupdict() for line in DOC.read_text("utf-8").splitlines() if (m := ROW.match(line))]


def documented_names() -> set[str]:
    return {name for row in examples() for name in re.findall(r"`([^`]+)`", row["names"])}


def test_every_registered_function_is_documented_with_an_example() -> None:
    assert documented_names() == set(FUNCTIONS)


def test_every_example_calls_the_function_of_its_row() -> None:
    for row in examples():
        names = re.findall(r"`([^`]+)`", row["names"])
        assert any(re.search(rf"\b{re.escape(n)}\(", row["example"]) for n in names), row


def shown(values: pa.Array) -> Any:
    """The value of a one-row result as the tables write it (JSON; date-times in ISO 8601)."""
    if pa.types.is_timestamp(values.type):
        return iso_text(values)[0].as_py()
    if pa.types.is_date(values.type):
        return values.cast(pa.string())[0].as_py()
    return values[0].as_py()


@pytest.mark.parametrize("row", examples(), ids=lambda row: row["example"])
def test_example_gives_its_result(row: dict[str, str]) -> None:
    source = json.loads(row["input"].strip().strip("`")) if row["input"].strip() else {}
    batch = pa.RecordBatch.from_pylist([source]) if source else pa.record_batch({"_": [None]})
    ctx = Context(batch, NOW)
    result = parse(row["example"]).evaluate(ctx)
    expected = row["result"].strip()
    if expected.startswith("matches "):
        assert re.fullmatch(expected.split("`")[1], shown(result))
        assert ctx.failures == []
    elif expected.endswith("(row failure)"):
        assert shown(result) is None
        assert len(ctx.failures) == 1, ctx.failures
    else:
        assert shown(result) == json.loads(expected.strip("`"))
        assert ctx.failures == []


def test_the_python_example_runs_as_its_comments_say() -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), scope)  # the page's own code
    mapped = scope["mapped"]
    assert mapped.data.to_pylist() == [
        {"_id": "1", "person": {"fullName": "LOVELACE, Ada"}, "_acme": None}
    ]
    assert mapped.failures == [(0, "_acme.loyalty.points", "to_integer(): 'x' is not a number")]
