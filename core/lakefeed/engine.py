"""``Lakefeed``: the Python API. The CLI and the REST service are thin layers over it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.connections import Connection, ConnectionStore
from lakefeed.catalog.records import Scope
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.catalog.store import open_engine
from lakefeed.config import Settings
from lakefeed.errors import InvalidRequest
from lakefeed.plugins import Plugins, get_plugins
from lakefeed.specs import ConnectionSpec
from lakefeed.storage.session import StorageSession
from lakefeed.storage.timeouts import StorageTimeouts

if TYPE_CHECKING:
    import sqlalchemy as sa

    from lakefeed.catalog.auth import AuthStore
    from lakefeed.catalog.backlog import BacklogStore
    from lakefeed.catalog.flows import Flow, FlowResources
    from lakefeed.catalog.runs import Run, RunRecords
    from lakefeed.datasets.store import DatasetStore
    from lakefeed.flows.runner import RunProgress
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.schema.registry import SchemaRegistry
    from lakefeed.storage.endpoints import EndpointPolicy


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
        scope: Scope | None = None,
        endpoints: EndpointPolicy | None = None,
    ) -> None:
        """``endpoints``: the endpoints storage sessions may reach (``lakefeed serve``'s
        policy, see :meth:`confined`); None, the default, reaches any endpoint."""
        self.settings = settings or Settings.load(home)
        self._plugins = plugins
        self.scope = scope or Scope()
        self.endpoints = endpoints
        self._shared: dict[str, Any] = {}  # the Iceberg catalog, shared with scoped copies

    def scoped(self, scope: Scope) -> Lakefeed:
        """The same installation seen from another org and sandbox; shares the database
        engine and the Iceberg catalog, so a server can make one per request cheaply."""
        return self._copy(scope, self.endpoints)

    def confined(self, endpoints: EndpointPolicy) -> Lakefeed:
        """The same installation as ``lakefeed serve`` uses it for API clients: every storage
        session refuses endpoints ``endpoints`` does not allow, when a connection is tested,
        explored or read and when a run reads it, and its errors never quote what an endpoint
        sent. This engine itself stays unrestricted."""
        return self._copy(self.scope, endpoints)

    def _copy(self, scope: Scope, endpoints: EndpointPolicy | None) -> Lakefeed:
        other = Lakefeed(
            settings=self.settings, plugins=self._plugins, scope=scope, endpoints=endpoints
        )
        other.__dict__["db"] = self.db
        other._shared = self._shared
        return other

    def storage_timeouts(self) -> StorageTimeouts:
        """How long storage sessions may take to test, connect and read (settings)."""
        return StorageTimeouts(test=self.settings.connect_timeout, read=self.settings.read_timeout)

    def iceberg_catalog(self) -> Any:
        """The pyiceberg catalog datasets live in (opened once)."""
        if "catalog" not in self._shared:
            from lakefeed.datasets.iceberg import open_catalog

            self._shared["catalog"] = open_catalog(self.settings)
        return self._shared["catalog"]

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def plugins(self) -> Plugins:
        return self._plugins or get_plugins()

    @cached_property
    def db(self) -> sa.Engine:
        """The control-plane database."""
        return open_engine(self.settings.database_url)

    @cached_property
    def connections(self) -> ConnectionStore:
        # One key (file read, cipher built) per installation, shared with scoped copies.
        box = self._shared.get("secret_box")
        if box is None:
            box = self._shared["secret_box"] = SecretBox(self.settings.secret_key_file)
        return ConnectionStore(
            self.db,
            box,
            ims_org_id=self.scope.ims_org_id,
            sandbox_name=self.scope.sandbox_name,
        )

    @cached_property
    def auth(self) -> AuthStore:
        """API clients, tokens and sandboxes of the REST service (not scoped)."""
        from lakefeed.catalog.auth import AuthStore

        return AuthStore(self.db)

    @cached_property
    def schemas(self) -> SchemaRegistry:
        """The Schema Registry: XDM classes, field groups, data types and tenant schemas."""
        from lakefeed.schema.registry import SchemaRegistry

        return SchemaRegistry(
            self.db, ims_org_id=self.scope.ims_org_id, sandbox_name=self.scope.sandbox_name
        )

    @cached_property
    def datasets(self) -> DatasetStore:
        """Datasets: Iceberg tables with a target schema."""
        from lakefeed.datasets.store import DatasetStore

        return DatasetStore(
            self.db,
            self.iceberg_catalog,
            lambda schema_id: self.target_schema(schema_id).arrow,
            self.scope,
            lambda schema_id: str(self.schemas.get(schema_id)["$id"]),
        )

    @cached_property
    def flows(self) -> FlowResources:
        """Source connections, target connections and flows."""
        from lakefeed.catalog.flows import FlowResources

        return FlowResources(
            self.db,
            self.scope,
            connection_spec_of=lambda id: self.connection(id).connection_spec_id,
            dataset_schema_of=lambda id: self.datasets.get(id).schema_id,
        )

    @cached_property
    def runs(self) -> RunRecords:
        """Runs, batches, the file ledger and rejected rows."""
        from lakefeed.catalog.runs import RunRecords

        return RunRecords(self.db, self.scope)

    @cached_property
    def backlog(self) -> BacklogStore:
        """Per flow, the files discovered but not ingested yet."""
        from lakefeed.catalog.backlog import BacklogStore

        return BacklogStore(self.db, self.scope)

    def target_schema(self, schema_id: str) -> TargetSchema:
        """The schema rows are conformed to: the registry schema, resolved, as Arrow + rules."""
        from lakefeed.schema.conform import TargetSchema

        return TargetSchema.from_xdm(self.schemas.resolve(schema_id))

    # -- runs ----------------------------------------------------------------------------------

    def run_flow(
        self,
        flow: Flow | str,
        *,
        progress: Callable[[RunProgress], None] | None = None,
        retry_failed: bool = False,
    ) -> Run:
        """Run ``flow`` (or its id or name) now and return the finished run. Files already
        ingested are skipped; ``retry_failed`` also retries file versions that failed for good
        (corrupt, schema mismatch) before."""
        from lakefeed.flows import ondemand

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        runner, run = ondemand.start(self, flow, retry_failed=retry_failed)
        runner.progress = progress
        return runner.execute(run)

    def retrigger_run(
        self, run_id: str, *, progress: Callable[[RunProgress], None] | None = None
    ) -> Run:
        """Run a failed run's flow again over the same window (files that failed for good in
        it are retried too); returns the new run, finished."""
        from lakefeed.flows import ondemand

        runner, run = ondemand.retrigger(self, run_id)
        runner.progress = progress
        return runner.execute(run)

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

    def delete_connection(self, id_or_name: str) -> None:
        """Delete a base connection; refused while a flow reads through it or (a dataset base
        connection) writes through it."""
        connection = self.connection(id_or_name)
        self.flows.check_connection_unused(connection.id)
        self.connections.delete(connection.id)

    def delete_flow(self, id_or_name: str) -> None:
        """Delete a flow and its file ledger; refused while one of its runs is in progress.
        Its runs and batches stay, as the history of what was ingested."""
        from lakefeed.errors import RunInProgress
        from lakefeed.scheduling.leases import forget_windows

        flow = self.flows.flow(id_or_name)
        if self.runs.active_runs(flow.id):
            raise RunInProgress(
                f"Flow {flow.name!r} has a run in progress.", fix="Delete it once the run ends."
            )
        self.runs.forget_ledger(flow.id)
        self.backlog.forget(flow.id)
        forget_windows(self.db, flow.id)
        self.flows.flows.delete(flow.id)

    def delete_dataset(self, id_or_name: str) -> None:
        """Delete a dataset and its Iceberg table; refused while a flow writes to it."""
        dataset = self.datasets.get(id_or_name)
        self.flows.check_dataset_unused(dataset.id)
        self.datasets.delete(dataset.id)

    def session(self, connection: Connection | str) -> StorageSession:
        """A :class:`StorageSession` for a stored connection (or its id or name); a dataset
        base connection has no storage (:class:`InvalidRequest`)."""
        if isinstance(connection, str):
            connection = self.connection(connection)
        if connection.is_dataset_base:
            raise InvalidRequest(
                f"Connection {connection.name!r} is a dataset (Data Lake) base connection: it "
                "stands for lakefeed's datasets, not for storage, so it cannot be tested, "
                "listed or read.",
                fix="Use a storage connection (`lakefeed connections list` shows each one's "
                "spec); `lakefeed datasets list` shows the datasets.",
            )
        source_type = self.plugins.source_type(connection.connection_spec_id)
        return StorageSession(
            source_type,
            connection.auth,
            label=connection.name,
            endpoints=self.endpoints,
            timeouts=self.storage_timeouts(),
        )

    def session_for(
        self, spec: str, params: Mapping[str, Any], auth_spec_name: str | None = None
    ) -> StorageSession:
        """A session from auth params that are not stored (validated the same way)."""
        source_type = self.plugins.source_type(spec)
        return StorageSession(
            source_type,
            source_type.auth_params(params, auth_spec_name),
            endpoints=self.endpoints,
            timeouts=self.storage_timeouts(),
        )

    # -- one-shot ingestion --------------------------------------------------------------------

    def ingest(
        self,
        source: str,
        path: str,
        *,
        dataset: str,
        schema: str | None = None,
        infer: bool = False,
        recursive: bool = False,
        partial_ingestion_percent: float | None = None,
        error_diagnostics: bool = False,
        progress: Callable[[RunProgress], None] | None = None,
    ) -> Run:
        """The whole chain in one call: connection → dataset → source and target connections →
        flow → run. ``source`` is a stored connection (id or name) or a local folder/``file://``
        URL. The dataset is created when missing, from ``schema`` (a registry id) or, with
        ``infer``, from the files' footers. Calling it again ingests only new file versions:
        the flow is found again by its name."""
        from lakefeed.ingest import IngestChain

        return IngestChain(self).run(
            source,
            path,
            dataset=dataset,
            schema=schema,
            infer=infer,
            recursive=recursive,
            partial_ingestion_percent=partial_ingestion_percent,
            error_diagnostics=error_diagnostics,
            progress=progress,
        )
