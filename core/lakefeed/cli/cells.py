"""Table cells shared by the ingestion commands: times, durations, nested values."""

from __future__ import annotations

import json
from typing import Any

from lakefeed.values import jsonable, timestamp

__all__ = ["compact", "duration", "jsonable", "timestamp"]


def duration(start_ms: int | None, end_ms: int | None) -> str:
    if start_ms is None or end_ms is None:
        return ""
    seconds = max(0, end_ms - start_ms) / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def compact(value: Any) -> Any:
    """Nested values as one line of JSON, so a row stays one table row."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return value
