"""Evaluating one expression over a few rows, for the mapping tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.mappings import parse
from lakefeed.mappings.evaluation import Context

NOW = datetime(2021, 10, 26, 10, 10, 24, tzinfo=UTC)

#: evaluate(expression, rows=1, **columns) -> (values, failures as (row, message))
Evaluate = Callable[..., tuple[list[Any], list[tuple[int, str]]]]


def evaluate_expression(
    expression: str, rows: int = 1, **columns: Any
) -> tuple[list[Any], list[tuple[int, str]]]:
    arrays = {k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in columns.items()}
    batch = pa.record_batch(arrays) if arrays else pa.record_batch({"_": pa.nulls(rows)})
    ctx = Context(batch, NOW)
    result = parse(expression).evaluate(ctx)
    assert len(result) == batch.num_rows
    return result.to_pylist(), ctx.failures


@pytest.fixture
def evaluate() -> Evaluate:
    return evaluate_expression
