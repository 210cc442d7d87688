"""What the list routes share to read client filters safely: nested values by path, one sort
order over mixed types, ``*`` wildcards and regular expressions that cannot backtrack.

A filter comes from the client, so its cost must not depend on how it is written: wildcards
match in time linear in the pattern times the text (no backtracking), and regular expressions
run in RE2 (Arrow's engine), which is linear in the text. Python's ``re`` is never handed a
client's pattern: ``(a+)+$`` or ``*a*a*a…b`` would keep a worker thread busy for ever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lakefeed.errors import InvalidRequest


def values_at(obj: Any, path: str, *, arrays: bool = False) -> list[Any]:
    """Every value at the dotted ``path`` of ``obj``: ``[]`` when a part is absent, ``[None]``
    for a field that holds null. With ``arrays``, ``a[].b`` steps into each element of the
    list ``a``; without, ``a[]`` is a field's name like any other."""
    current = [obj]
    for part in path.split("."):
        many = arrays and part.endswith("[]")
        key = part[:-2] if many else part
        found: list[Any] = []
        for item in current:
            if isinstance(item, Mapping) and key in item:
                value = item[key]
                if many and isinstance(value, list):
                    found.extend(value)
                else:
                    found.append(value)
        current = found
    return current


def value_at(obj: Any, path: str) -> Any:
    """The value at the dotted ``path`` of ``obj`` (None when absent)."""
    found = values_at(obj, path)
    return found[0] if found else None


def sort_key(value: Any) -> tuple[int, Any]:
    """One order over every JSON value: numbers (by value), then text and everything else
    (case-insensitively, ``true``/``false`` for booleans), then null. Values of different
    types never meet in a comparison, so a field that holds ``1`` in one entity and ``"x"``
    in another sorts instead of failing."""
    if value is None:
        return (2, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, bool):
        return (1, "true" if value else "false")
    return (1, str(value).lower())


@dataclass(frozen=True)
class Wildcard:
    """A pattern where ``*`` matches any text and ``**`` one asterisk, matched against a whole
    text. ``pieces`` are the literal texts between the wildcards; matching finds each in turn,
    leftmost first, which is exact for ``*`` alone and never backtracks."""

    pieces: tuple[str, ...]

    @classmethod
    def parse(cls, pattern: str) -> Wildcard:
        pieces = [""]
        for n, part in enumerate(pattern.split("**")):
            if n:
                pieces[-1] += "*"
            first, *rest = part.split("*")
            pieces[-1] += first
            pieces.extend(rest)
        return cls(tuple(pieces))

    def matches(self, text: str) -> bool:
        if len(self.pieces) == 1:
            return text == self.pieces[0]
        head, *middle, tail = self.pieces
        end = len(text) - len(tail)
        if end < len(head) or not text.startswith(head) or not text.endswith(tail):
            return False
        position = len(head)
        for piece in middle:
            found = text.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


def re2_search(pattern: str, where: str) -> Callable[[str], bool]:
    """A search for ``pattern`` in RE2 syntax (a match anywhere in the text, as ``re.search``);
    a pattern RE2 does not take (look-around, back-references, a syntax error) is an
    :class:`InvalidRequest` naming ``where`` (the parameter it came in)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError) as exc:
        raise InvalidRequest(
            f"Invalid RE2 regular expression in {where}: {exc}.",
            fix="Use RE2 syntax (no look-around or back-references); escape special "
            "characters to match them as text.",
        ) from None

    def search(text: str) -> bool:
        # Arrow takes UTF-8 only: a lone surrogate (JSON allows "\ud800") is matched as "?".
        valid = text.encode("utf-8", "replace").decode("utf-8")
        return bool(pc.match_substring_regex(pa.array([valid]), pattern)[0].as_py())

    return search
