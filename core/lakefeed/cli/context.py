"""The engine behind CLI commands, created on first use so ``--help`` stays cheap; or, with
``--server``, the client of a lakefeed server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from lakefeed.errors import InvalidRequest

if TYPE_CHECKING:
    from lakefeed.client import Client
    from lakefeed.engine import Lakefeed


@dataclass(frozen=True)
class Remote:
    """``--server`` and the credentials that go with it."""

    url: str
    api_key: str | None
    client_secret: str | None
    org: str | None
    sandbox: str

    def client(self) -> Client:
        from lakefeed.client import Client

        missing = [
            flag
            for flag, value in (
                ("--api-key/LAKEFEED_API_KEY", self.api_key),
                ("--client-secret/LAKEFEED_CLIENT_SECRET", self.client_secret),
                ("--org/LAKEFEED_ORG", self.org),
            )
            if not value
        ]
        if missing:
            raise InvalidRequest(
                f"--server {self.url} needs {', '.join(missing)}.",
                fix="`lakefeed auth create-client --org ORG` (on the server) prints a key and "
                "secret; export LAKEFEED_API_KEY, LAKEFEED_CLIENT_SECRET and LAKEFEED_ORG.",
            )
        assert self.api_key and self.org
        return Client(
            self.url,
            api_key=self.api_key,
            client_secret=self.client_secret,
            ims_org_id=self.org,
            sandbox_name=self.sandbox,
        )


class LazyEngine:
    """``org`` and ``sandbox``: the scope commands on the local home work in (``--org``,
    ``--sandbox``): the CLI's own org by default, or an org the REST service serves, so an
    operator can reach datasets and flows its API clients made."""

    def __init__(
        self,
        home: str | None,
        remote: Remote | None = None,
        *,
        org: str = "local",
        sandbox: str = "prod",
        executor: str | None = None,
    ) -> None:
        self.home = home
        self.remote = remote
        self.org = org
        self.sandbox = sandbox
        self.executor = executor  # --executor / LAKEFEED_EXECUTOR, made when the engine is
        self._engine: Lakefeed | None = None
        self._client: Client | None = None

    def get(self) -> Lakefeed:
        if self.remote is not None:
            # Guards the commands that have no remote form (the group refuses them first).
            raise InvalidRequest(
                "This command reads the local lakefeed home, not --server.",
                fix="Run it without --server (and LAKEFEED_SERVER).",
            )
        if self._engine is None:
            from lakefeed.catalog.records import Scope
            from lakefeed.engine import Lakefeed

            self._engine = Lakefeed(
                home=self.home, scope=Scope(self.org, self.sandbox), executor=self.executor
            )
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
