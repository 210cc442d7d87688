"""The functions expressions may call, by name (aliases included).

A function receives the :class:`~lakefeed.mappings.evaluation.Context` and its arguments:
arrays as long as the batch, except at the positions listed in ``constants``, which must be
literals in the expression and arrive as Python values (a date format, a regex, a separator),
checked once when the expression is parsed. A ``lazy`` function receives its arguments
unevaluated (it decides which failures count, like ``iif``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakefeed.errors import MappingError

#: Checks the constant arguments (position -> value) once; returns a problem or None.
ConstantCheck = Callable[[dict[int, Any]], str | None]


@dataclass(frozen=True)
class Function:
    name: str
    run: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    constants: tuple[int, ...] = ()  # positions that must be literals (negative: from the end)
    check: ConstantCheck | None = None
    lazy: bool = False
    aliases: tuple[str, ...] = ()

    def arity(self) -> str:
        if self.max_args == self.min_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"

    def constant_positions(self, count: int) -> set[int]:
        return {p if p >= 0 else count + p for p in self.constants if -count <= p < count}


#: Every function by each of its names.
FUNCTIONS: dict[str, Function] = {}

#: Names people reach for that are spelt otherwise here, with what to write instead.
_INSTEAD = {
    "is_null": "x == null",
    "isnull": "x == null",
    "is_not_null": "x != null",
    "isnotnull": "x != null",
    "nvl": "coalesce(x, y)",
    "ifnull": "coalesce(x, y)",
    "if": "iif(condition, a, b)",
    "substring": "substr(x, start, length)",
    "len": "length(x)",
    "size": "size_of(x)",
    "empty": "is_empty(x)",
    "tolower": "lower(x)",
    "toupper": "upper(x)",
    "to_string": "concat(x)",
    "to_date": "date(x, format)",
    "to_timestamp": "date(x, format)",
}


def boolean_constant(position: int) -> ConstantCheck:
    """A check that the argument at ``position`` (when given) is ``true`` or ``false``."""

    def check(constants: dict[int, Any]) -> str | None:
        if position in constants and not isinstance(constants[position], bool):
            return f"argument {position + 1} must be true or false"
        return None

    return check


def function(
    *names: str,
    args: int | tuple[int, int | None],
    constants: tuple[int, ...] = (),
    check: ConstantCheck | None = None,
    lazy: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function under ``names`` (the first is its name)."""
    low, high = (args, args) if isinstance(args, int) else args

    def register(run: Callable[..., Any]) -> Callable[..., Any]:
        entry = Function(names[0], run, low, high, constants, check, lazy, names[1:])
        for name in names:
            if name in FUNCTIONS:
                raise ValueError(f"mapping function {name!r} is registered twice")
            FUNCTIONS[name] = entry
        return run

    return register


def lookup(name: str, position: int) -> Function:
    """The function called ``name``; :class:`MappingError` naming the known ones otherwise."""
    found = FUNCTIONS.get(name)
    if found is not None:
        return found
    hint = _INSTEAD.get(name.lower())
    close = difflib.get_close_matches(name, FUNCTIONS, n=3)
    if hint is None and name.lower() in FUNCTIONS:
        close = [name.lower()]
    advice = (
        f" Write {hint} instead."
        if hint
        else (f" Did you mean {', '.join(close)}?" if close else "")
    )
    raise MappingError(
        f"Unknown function '{name}' at position {position}.{advice} "
        f"Known functions: {', '.join(sorted(FUNCTIONS))}.",
        fix="Use one of the functions listed in docs/reference/mapping-functions.md.",
    )
