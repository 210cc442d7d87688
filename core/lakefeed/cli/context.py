"""The engine behind CLI commands, created on first use so ``--help`` stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed


class LazyEngine:
    def __init__(self, home: str | None) -> None:
        self.home = home
        self._engine: Lakefeed | None = None

    def get(self) -> Lakefeed:
        if self._engine is None:
            from lakefeed.engine import Lakefeed

            self._engine = Lakefeed(home=self.home)
        return self._engine


def engine() -> Lakefeed:
    """The :class:`Lakefeed` of the running command."""
    lazy = click.get_current_context().find_object(LazyEngine)
    if lazy is None:  # a command invoked outside the `lakefeed` group (tests, plugins)
        lazy = LazyEngine(None)
    return lazy.get()
