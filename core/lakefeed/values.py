"""Row values as JSON values, for previews, rejected rows and CLI output."""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """Dates and times as ISO text, bytes as hex, dict keys as text; the rest as is."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
