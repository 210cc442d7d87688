"""Row values as JSON values, for previews, rejected rows and CLI output; and times and sizes
as the CLI and the console show them."""

from __future__ import annotations

from datetime import UTC, datetime
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


def timestamp(ms: int | None) -> str:
    """Epoch milliseconds as UTC wall-clock time (``2026-12-05 16:30:00``); empty when unknown."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def human_size(n: float) -> str:
    """Bytes for people: ``812 B``, ``3.4 KiB``, ``1.2 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)
