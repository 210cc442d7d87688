"""Attribute and destination paths: ``address.city``, ``_tenant.loyalty.points``.

A path is dot-separated segments. A segment whose name holds a dot is written in backticks
(``order.`unit.price```) or with the dot escaped (``order.unit\\.price``); Adobe's wrapper
``${…}`` is accepted around a whole path (``${First Name}``, ``${order.unit\\.price}``).
:func:`format_path` writes the canonical form that :func:`parse_path` reads back.
"""

from __future__ import annotations

from lakefeed.errors import MappingError

Path = tuple[str, ...]


def parse_path(text: str) -> Path:
    """The segments of a path; :class:`MappingError` for an empty segment or an unclosed
    backtick."""
    body = text
    if text.startswith("${") and text.endswith("}"):
        body = text[2:-1]
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(body):
        char = body[i]
        if quoted:
            if char == "`" and body[i + 1 : i + 2] == "`":
                current.append("`")
                i += 1
            elif char == "`":
                quoted = False
            else:
                current.append(char)
        elif char == "`" and not current:
            quoted = True
        elif char == "\\" and i + 1 < len(body) and body[i + 1] in ".\\`":
            current.append(body[i + 1])
            i += 1
        elif char == ".":
            _end_segment(text, segments, current)
            current = []
        else:
            current.append(char)
        i += 1
    if quoted:
        raise MappingError(
            f"The path {text!r} has an unclosed backtick.",
            fix="Close the backtick around the name: `name.with.dots`.",
        )
    _end_segment(text, segments, current)
    return tuple(segments)


def _end_segment(text: str, segments: list[str], current: list[str]) -> None:
    if not current:
        raise MappingError(
            f"The path {text!r} has an empty name"
            + (" (it is empty)." if not text else " (a leading, trailing or doubled dot)."),
            fix="Separate names with single dots; write a name that holds a dot in backticks.",
        )
    segments.append("".join(current))


def format_path(path: Path) -> str:
    """The canonical text of a path: plain names joined by dots, backticks where needed."""
    return ".".join(_format_segment(segment) for segment in path)


def _format_segment(segment: str) -> str:
    if any(c in segment for c in ".`\\") or segment.startswith("${"):
        return "`" + segment.replace("`", "``") + "`"
    return segment
