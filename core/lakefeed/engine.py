"""``Lakefeed``: the Python API. The CLI and the REST service are thin layers over it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from lakefeed.catalog.connections import Connection, ConnectionStore
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.catalog.store import open_engine
from lakefeed.config import Settings
from lakefeed.plugins import Plugins, get_plugins
from lakefeed.specs import ConnectionSpec
from lakefeed.storage.session import StorageSession


class Lakefeed:
    """One lakefeed installation: its home folder, control-plane store and plugins.

    >>> lf = Lakefeed(home="/tmp/lf")                                      # doctest: +SKIP
    >>> conn = lf.create_connection("raw", "local-files", "Local Path", {"rootPath": "/data"})
    >>> [entry.path for entry in lf.session(conn).ls("/data", recursive=True)]
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        plugins: Plugins | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings.load(home)
        self._plugins = plugins

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def plugins(self) -> Plugins:
        return self._plugins or get_plugins()

    @cached_property
    def connections(self) -> ConnectionStore:
        engine = open_engine(self.settings.database_url)
        return ConnectionStore(engine, SecretBox(self.settings.secret_key_file))

    # -- specs ---------------------------------------------------------------------------------

    def connection_specs(self) -> list[ConnectionSpec]:
        return [source_type.spec for source_type in self.plugins.source_types()]

    def connection_spec(self, id_or_name: str) -> ConnectionSpec:
        return self.plugins.source_type(id_or_name).spec

    # -- connections ---------------------------------------------------------------------------

    def create_connection(
        self,
        name: str,
        spec: str,
        auth_spec_name: str | None,
        params: Mapping[str, Any],
        *,
        description: str = "",
    ) -> Connection:
        """Store a base connection; ``spec`` is a connection spec id or name. When
        ``auth_spec_name`` is None and the spec has exactly one auth spec, that one is used."""
        source_type = self.plugins.source_type(spec)
        auth = source_type.auth_params(params, auth_spec_name)
        return self.connections.create(
            name=name, spec=source_type.spec, auth=auth, description=description
        )

    def connection(self, id_or_name: str) -> Connection:
        return self.connections.get(id_or_name)

    def session(self, connection: Connection | str) -> StorageSession:
        """A :class:`StorageSession` for a stored connection (or its id or name)."""
        if isinstance(connection, str):
            connection = self.connection(connection)
        source_type = self.plugins.source_type(connection.connection_spec_id)
        return StorageSession(source_type, connection.auth, label=connection.name)

    def session_for(
        self, spec: str, params: Mapping[str, Any], auth_spec_name: str | None = None
    ) -> StorageSession:
        """A session from auth params that are not stored (validated the same way)."""
        source_type = self.plugins.source_type(spec)
        return StorageSession(source_type, source_type.auth_params(params, auth_spec_name))
