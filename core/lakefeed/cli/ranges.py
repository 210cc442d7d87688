"""Number options with bounds a command can act on: counts a database can hold, and seconds
that are finite. Click's own ranges let ``nan``, ``inf`` and 20-digit integers through, which
hang a wait loop (``nan``), crash a sleep (``inf``) or overflow a SQL ``LIMIT``."""

from __future__ import annotations

import math
from typing import Any

import click

#: The largest count, offset or version an option takes (a 32-bit signed integer, as the REST
#: API's ``version`` and every database column of lakefeed hold).
MAX_COUNT = 2**31 - 1
#: The longest time an option takes, in seconds: a week.
MAX_OPTION_SECONDS = 7 * 86400.0


def count(minimum: int = 0, maximum: int = MAX_COUNT) -> click.IntRange:
    """A whole number from ``minimum`` to ``maximum`` (a limit, offset, version or count)."""
    return click.IntRange(minimum, maximum)


class Seconds(click.FloatRange):
    """A finite number of seconds in a range; ``nan`` and ``inf`` are refused by name."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(
                f"{value} is not a number of seconds in the range {self._describe_range()}.",
                param,
                ctx,
            )
        return super().convert(number, param, ctx)


def seconds(
    minimum: float = 0.0, maximum: float = MAX_OPTION_SECONDS, *, min_open: bool = False
) -> Seconds:
    """Seconds from ``minimum`` (excluded when ``min_open``) to ``maximum``."""
    return Seconds(minimum, maximum, min_open=min_open)
