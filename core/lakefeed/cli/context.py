"""The engine behind CLI commands, created on first use so ``--help`` stays cheap; or, with
``--server``, the client of a lakefeed server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lakefeed.cli.resources import Remote
    from lakefeed.client import Client
    from lakefeed.engine import Lakefeed


class LazyEngine:
    def __init__(self, home: str | None, remote: Remote | None = None) -> None:
        self.home = home
        self.remote = remote
        self._engine: Lakefeed | None = None
        self._client: Client | None = None

    def get(self) -> Lakefeed:
        if self.remote is not None:
            # Guards the commands that have no remote form (the group refuses them first).
            from lakefeed.errors import InvalidRequest

            raise InvalidRequest(
                "This command reads the local lakefeed home, not --server.",
                fix="Run it without --server (and LAKEFEED_SERVER).",
            )
        if self._engine is None:
            from lakefeed.engine import Lakefeed

            self._engine = Lakefeed(home=self.home)
        return self._engine

    def client(self) -> Client:
        """The client of ``--server``, closed when the command ends."""
        assert self.remote is not None
        if self._client is None:
            self._client = self.remote.client()
            click.get_current_context().call_on_close(self._client.close)
        return self._client


def engine() -> Lakefeed:
    """The :class:`Lakefeed` of the running command."""
    lazy = click.get_current_context().find_object(LazyEngine)
    if lazy is None:  # a command invoked outside the `lakefeed` group (tests, plugins)
        lazy = LazyEngine(None)
    return lazy.get()
