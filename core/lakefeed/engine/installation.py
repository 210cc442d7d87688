"""``Installation``: one lakefeed installation — settings, scope, plugins, the database and
every store over it, storage sessions and file formats — which the other parts of
:class:`~lakefeed.engine.Lakefeed` build on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from lakefeed.catalog.connections import Connection, ConnectionStore
from lakefeed.catalog.records import Scope
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.catalog.store import (
    Database,
    SchemaPolicy,
    open_engine,
)
from lakefeed.config import Settings
from lakefeed.errors import InvalidRequest
from lakefeed.plugins import Plugins, get_plugins
from lakefeed.specs import ConnectionSpec
from lakefeed.storage.access import SourceAccess
from lakefeed.storage.session import StorageSession
from lakefeed.storage.timeouts import StorageTimeouts

if TYPE_CHECKING:
    from lakefeed.catalog.auth import AuthStore
    from lakefeed.catalog.backlog import BacklogStore
    from lakefeed.catalog.batches import BatchStore
    from lakefeed.catalog.completion import BatchCompletion
    from lakefeed.catalog.flows import FlowResources
    from lakefeed.catalog.ledger import FileLedger
    from lakefeed.catalog.mapping_sets import MappingSet
    from lakefeed.catalog.monitoring import MonitoringViews
    from lakefeed.catalog.row_errors import RowErrorStore
    from lakefeed.catalog.runs import RunStore
    from lakefeed.catalog.windows import WindowStore
    from lakefeed.datasets.dataset_files import DatasetFiles
    from lakefeed.datasets.store import DatasetStore
    from lakefeed.flows.context import RunContext
    from lakefeed.flows.executors import Executor
    from lakefeed.formats import FileFormat
    from lakefeed.mappings import CompiledMappingSet
    from lakefeed.mappings.service import MappingSetService
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.schema.registry import SchemaRegistry
    from lakefeed.secrets import AuthParams
    from lakefeed.storage.endpoints import EndpointPolicy
    from lakefeed.storage.source import SourceType


class Installation:
    """One lakefeed installation: its home folder, control-plane store, plugins and the stores,
    sessions and formats the use cases get."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        plugins: Plugins | None = None,
        settings: Settings | None = None,
        scope: Scope | None = None,
        endpoints: EndpointPolicy | None = None,
        executor: Executor | str | None = None,
    ) -> None:
        """``endpoints``: the endpoints storage sessions may reach (``lakefeed serve``'s
        policy, see :meth:`confined`); None, the default, reaches any endpoint. ``executor``
        runs the conversion of a batch's files: an :class:`~lakefeed.flows.executors.Executor`,
        or its name (``"processes:4"``, ``"dask://host:8786"``); default: ``LAKEFEED_EXECUTOR``,
        else one file after another, in-process."""
        self.settings = settings or Settings.load(home)
        self._plugins = plugins
        self.scope = scope or Scope()
        self.endpoints = endpoints
        self._executor = executor
        self._shared: dict[str, Any] = {}  # the Iceberg catalog, shared with scoped copies

    def scoped(self, scope: Scope) -> Self:
        """The same installation seen from another org and sandbox; shares the database
        engine and the Iceberg catalog, so a server can make one per request cheaply."""
        return self._copy(scope, self.endpoints)

    def confined(self, endpoints: EndpointPolicy) -> Self:
        """The same installation as ``lakefeed serve`` uses it for API clients: every storage
        session refuses endpoints ``endpoints`` does not allow — and ambient auth specs unless
        it allows them (:meth:`EndpointPolicy.check_credentials`) —, when a connection is
        tested, explored or read and when a run reads it, and its errors never quote what an
        endpoint sent. This engine itself stays unrestricted."""
        return self._copy(self.scope, endpoints)

    def _copy(self, scope: Scope, endpoints: EndpointPolicy | None) -> Self:
        other = type(self)(
            settings=self.settings,
            plugins=self._plugins,
            scope=scope,
            endpoints=endpoints,
            executor=self._executor,
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
    def db(self) -> Database:
        """The control-plane database, its schema upgraded to this lakefeed's revision first
        (or, with ``LAKEFEED_DATABASE_AUTO_UPGRADE=0``, :class:`DatabaseBehind` if it is not
        there)."""
        policy: SchemaPolicy = "upgrade" if self.settings.database_auto_upgrade else "refuse"
        return open_engine(self.settings.database_url, schema=policy)

    @property
    def secret_box(self) -> SecretBox:
        """What seals connection secrets: one per installation (its keys read once, and again
        when the key file changes), shared with scoped copies."""
        box: SecretBox | None = self._shared.get("secret_box")
        if box is None:
            box = self._shared["secret_box"] = SecretBox(self.settings.secret_key_file)
        return box

    @cached_property
    def connections(self) -> ConnectionStore:
        return ConnectionStore(
            self.db,
            self.secret_box,
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
        from lakefeed.catalog.schema_documents import SchemaDocuments
        from lakefeed.schema.registry import SchemaRegistry

        return SchemaRegistry(SchemaDocuments(self.db, self.scope))

    @cached_property
    def datasets(self) -> DatasetStore:
        """Datasets: Iceberg tables with a target schema."""
        from lakefeed.catalog.datasets import DatasetRecords
        from lakefeed.datasets.store import DatasetStore

        return DatasetStore(
            DatasetRecords(self.db, self.scope),
            self.iceberg_catalog,
            lambda schema_id: self.target_schema(schema_id).arrow,
            lambda schema_id: str(self.schemas.get(schema_id)["$id"]),
        )

    @cached_property
    def flows(self) -> FlowResources:
        """Source connections, target connections and flows."""
        from lakefeed.catalog.flows import FlowResources
        from lakefeed.formats import given_settings

        return FlowResources(
            self.db,
            self.scope,
            connection_spec_of=lambda id: self.connection(id).connection_spec_id,
            dataset_schema_of=lambda id: self.datasets.get(id).schema_id,
            data_formats=lambda: self.plugins.formats().data_formats(),
            format_settings=lambda name, properties: given_settings(
                self.plugins.file_format(name), properties
            ),
            mapping_schema_of=lambda id, version: self.mapping_set(id, version).output_schema_id,
        )

    @cached_property
    def runs(self) -> RunStore:
        """Runs of flows: state, metrics, activities, owner and heartbeat."""
        from lakefeed.catalog.runs import RunStore

        return RunStore(self.db, self.scope)

    @cached_property
    def batches(self) -> BatchStore:
        """Batches (what runs wrote to datasets) and each batch's file plan."""
        from lakefeed.catalog.batches import BatchStore

        return BatchStore(self.db, self.scope)

    @cached_property
    def ledger(self) -> FileLedger:
        """Per flow, the file versions committed or failed for good."""
        from lakefeed.catalog.ledger import FileLedger

        return FileLedger(self.db, self.scope)

    @cached_property
    def row_errors(self) -> RowErrorStore:
        """The rows batches rejected (error diagnostics)."""
        from lakefeed.catalog.row_errors import RowErrorStore

        return RowErrorStore(self.db, self.scope)

    @cached_property
    def dataset_files(self) -> DatasetFiles:
        """The data files batches committed, as dataSetFiles (the Data Access API's)."""
        from lakefeed.datasets.dataset_files import DatasetFiles

        return DatasetFiles(self.batches, self.datasets)

    @cached_property
    def completion(self) -> BatchCompletion:
        """The end of a run: ledger, batch and run in one transaction."""
        from lakefeed.catalog.completion import BatchCompletion

        return BatchCompletion(self.db, self.scope)

    @cached_property
    def windows(self) -> WindowStore:
        """The schedule windows of the flows, and the schedulers' claims on them."""
        from lakefeed.catalog.windows import WindowStore

        return WindowStore(self.db, self.scope)

    @cached_property
    def monitoring(self) -> MonitoringViews:
        """Every flow's health, for ``/metrics`` (all orgs and sandboxes)."""
        from lakefeed.catalog.monitoring import MonitoringViews

        return MonitoringViews(self.db)

    @cached_property
    def backlog(self) -> BacklogStore:
        """Per flow, the files discovered but not ingested yet."""
        from lakefeed.catalog.backlog import BacklogStore

        return BacklogStore(self.db, self.scope)

    def target_schema(self, schema_id: str) -> TargetSchema:
        """The schema rows are conformed to: the registry schema, resolved, as Arrow + rules."""
        from lakefeed.schema.conform import TargetSchema

        return TargetSchema.from_xdm(self.schemas.resolve(schema_id))

    @property
    def executor(self) -> Executor:
        """What converts a batch's files: the one given, else the one the settings name
        (``LAKEFEED_EXECUTOR``; in-process by default), made once and shared with the scoped
        copies of this installation (a pool of processes, a cluster's client)."""
        if self._executor is not None and not isinstance(self._executor, str):
            return self._executor
        if "executor" not in self._shared:
            from lakefeed.flows.executor_choice import executor_from

            spec = self._executor if isinstance(self._executor, str) else self.settings.executor
            self._shared["executor"] = executor_from(spec)
        executor: Executor = self._shared["executor"]
        return executor

    @cached_property
    def run_context(self) -> RunContext:
        """What the run use cases (:mod:`lakefeed.flows`) get of this installation."""
        from lakefeed.flows.context import RunContext

        return RunContext(
            scope=self.scope,
            runs=self.runs,
            batches=self.batches,
            ledger=self.ledger,
            row_errors=self.row_errors,
            completion=self.completion,
            backlog=self.backlog,
            flows=self.flows,
            datasets=self.datasets,
            source_access=self.source_access,
            file_format=self.file_format,
            target_schema=self.target_schema,
            mapping_set=self.compiled_mapping_set,
            executor=self.executor,
            in_scope=lambda scope: self.scoped(scope).run_context,
        )

    def connection_specs(self) -> list[ConnectionSpec]:
        return [source_type.spec for source_type in self.plugins.source_types()]

    def connection_spec(self, id_or_name: str) -> ConnectionSpec:
        return self.plugins.source_type(id_or_name).spec

    def file_format(self, name: str, properties: Mapping[str, Any] | None = None) -> FileFormat:
        """The installed file format ``name`` (a source connection's ``data.format``), reading
        files as ``properties`` say (``data.properties``: delimiter, compression…; a bad one
        raises :class:`~lakefeed.errors.InvalidFormatOption`)."""
        found = self.plugins.file_format(name)
        return found.configure(properties) if properties else found

    def file_format_for(
        self, file_name: str, name: str | None = None, properties: Mapping[str, Any] | None = None
    ) -> FileFormat:
        """The format ``name``, or else the one that recognises ``file_name``'s ending (else
        the default, Parquet), reading files as ``properties`` say."""
        if name is None:
            formats = self.plugins.formats()
            name = (formats.for_file(file_name) or formats.default()).name
        return self.file_format(name, properties)

    def connection(self, id_or_name: str) -> Connection:
        return self.connections.get(id_or_name)

    def check_source_path(self, connection: Connection | str, path: str) -> None:
        """Raise as listing does when ``path`` cannot be read through ``connection``: a path
        that leaves the connection's root folder is :class:`InvalidRequest` (LF-1001), as on
        ``lakefeed ls`` and ``POST``/``PATCH /sourceConnections``."""
        self.session(connection).resolve(path)

    def session(self, connection: Connection | str) -> StorageSession:
        """A :class:`StorageSession` for a stored connection (or its id or name); a dataset
        base connection has no storage (:class:`InvalidRequest`)."""
        return self.source_access(connection).session()

    def source_access(self, connection: Connection | str) -> SourceAccess:
        """How to open a stored connection's storage (or its id or name), as a value a
        conversion task carries; a dataset base connection has none (:class:`InvalidRequest`)."""
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
        return self._access(source_type, connection.auth, connection.name)

    def _access(self, source_type: SourceType, auth: AuthParams, label: str | None) -> SourceAccess:
        return SourceAccess(
            source_type,
            auth,
            label=label,
            endpoints=self.endpoints,
            timeouts=self.storage_timeouts(),
            formats=self.plugins.formats(),
        )

    def session_for(
        self, spec: str, params: Mapping[str, Any], auth_spec_name: str | None = None
    ) -> StorageSession:
        """A session from auth params that are not stored (validated the same way)."""
        source_type = self.plugins.source_type(spec)
        name = self._auth_spec_name(spec, auth_spec_name, params)
        return self._access(source_type, source_type.auth_params(params, name), None).session()

    def _auth_spec_name(self, spec: str, given: str | None, params: Mapping[str, Any]) -> str:
        from lakefeed.auth_choice import choose_auth_spec

        return choose_auth_spec(self.connection_spec(spec), given, params).name

    @cached_property
    def mapping_set_service(self) -> MappingSetService:
        """Data Prep mapping sets: stored with every version, checked against schemas."""
        from lakefeed.catalog.mapping_sets import MappingSetStore
        from lakefeed.mappings.service import MappingSetService

        return MappingSetService(MappingSetStore(self.db, self.scope), self.schemas, self.flows)

    def mapping_set(self, id: str, version: int | None = None) -> MappingSet:
        """Version ``version`` of a mapping set (default: the latest)."""
        return self.mapping_set_service.get(id, version)

    def compiled_mapping_set(self, id: str, version: int | None = None) -> CompiledMappingSet:
        """A stored mapping set compiled against its output schema, to apply to batches."""
        return self.mapping_set_service.compiled(id, version)
