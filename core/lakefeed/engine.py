"""``Lakefeed``: the Python API. The CLI and the REST service are thin layers over it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.connections import Connection, ConnectionStore
from lakefeed.catalog.records import Scope
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.catalog.store import (
    Database,
    SchemaPolicy,
    open_engine,
    schema_status,
    upgrade_schema,
)
from lakefeed.config import Settings
from lakefeed.errors import InvalidRequest
from lakefeed.plugins import Plugins, get_plugins
from lakefeed.specs import ConnectionSpec
from lakefeed.storage.access import SourceAccess
from lakefeed.storage.session import StorageSession
from lakefeed.storage.timeouts import StorageTimeouts

if TYPE_CHECKING:
    import threading
    from datetime import timedelta

    from lakefeed.catalog.auth import AuthStore
    from lakefeed.catalog.backlog import BacklogStore
    from lakefeed.catalog.batches import BatchStore
    from lakefeed.catalog.completion import BatchCompletion
    from lakefeed.catalog.datasets import Dataset
    from lakefeed.catalog.flows import Flow, FlowResources, SourceConnection, TargetConnection
    from lakefeed.catalog.key_rotation import (
        KeyAddition,
        KeyRetirement,
        KeyRotation,
        KeyStatus,
    )
    from lakefeed.catalog.ledger import FileLedger
    from lakefeed.catalog.mapping_sets import MappingSet
    from lakefeed.catalog.migrate import SchemaStatus, SchemaUpgrade
    from lakefeed.catalog.monitoring import MonitoringViews
    from lakefeed.catalog.row_errors import RowErrorStore
    from lakefeed.catalog.runs import Run, RunStore
    from lakefeed.catalog.windows import WindowStore
    from lakefeed.datasets.compaction import CompactionResult
    from lakefeed.datasets.dataset_files import DatasetFiles
    from lakefeed.datasets.maintenance import ExpiryResult, OrphanResult
    from lakefeed.datasets.store import DatasetStore
    from lakefeed.flows.context import RunContext
    from lakefeed.flows.executors import Executor
    from lakefeed.flows.runner import RunHandle, RunProgress
    from lakefeed.formats import FileFormat
    from lakefeed.mappings import CompiledMappingSet
    from lakefeed.mappings.service import MappingPreview, MappingSetService, MappingValidation
    from lakefeed.schedules.windows import Window
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.schema.registry import SchemaRegistry
    from lakefeed.secrets import AuthParams
    from lakefeed.storage.endpoints import EndpointPolicy
    from lakefeed.storage.source import SourceType


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
        executor: Executor | None = None,
    ) -> None:
        """``endpoints``: the endpoints storage sessions may reach (``lakefeed serve``'s
        policy, see :meth:`confined`); None, the default, reaches any endpoint. ``executor``
        runs the conversion of a batch's files (default: one after another, in-process)."""
        self.settings = settings or Settings.load(home)
        self._plugins = plugins
        self.scope = scope or Scope()
        self.endpoints = endpoints
        self._executor = executor
        self._shared: dict[str, Any] = {}  # the Iceberg catalog, shared with scoped copies

    def scoped(self, scope: Scope) -> Lakefeed:
        """The same installation seen from another org and sandbox; shares the database
        engine and the Iceberg catalog, so a server can make one per request cheaply."""
        return self._copy(scope, self.endpoints)

    def confined(self, endpoints: EndpointPolicy) -> Lakefeed:
        """The same installation as ``lakefeed serve`` uses it for API clients: every storage
        session refuses endpoints ``endpoints`` does not allow — and ambient auth specs unless
        it allows them (:meth:`EndpointPolicy.check_credentials`) —, when a connection is
        tested, explored or read and when a run reads it, and its errors never quote what an
        endpoint sent. This engine itself stays unrestricted."""
        return self._copy(self.scope, endpoints)

    def _copy(self, scope: Scope, endpoints: EndpointPolicy | None) -> Lakefeed:
        other = Lakefeed(
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

    def database_schema(self) -> SchemaStatus:
        """Where the database schema stands against this lakefeed (``lakefeed db current``);
        nothing changed or created (a missing SQLite file is state ``missing``), whatever
        ``LAKEFEED_DATABASE_AUTO_UPGRADE`` says."""
        return schema_status(self.settings.database_url)

    def upgrade_database(self) -> SchemaUpgrade:
        """Upgrade the database schema to this lakefeed's revision (``lakefeed db upgrade``),
        whatever ``LAKEFEED_DATABASE_AUTO_UPGRADE`` says; nothing to do at it already."""
        return upgrade_schema(self.settings.database_url)

    @property
    def secret_box(self) -> SecretBox:
        """What seals connection secrets: one per installation (its keys read once, and again
        when the key file changes), shared with scoped copies."""
        box: SecretBox | None = self._shared.get("secret_box")
        if box is None:
            box = self._shared["secret_box"] = SecretBox(self.settings.secret_key_file)
        return box

    def add_secret_key(self) -> KeyAddition:
        """Stage a new key in the key file (``lakefeed keys add``): it opens from now on but
        seals nothing until :meth:`rotate_secret_key`; nothing is re-sealed. Copy the file to
        every machine that keeps its own copy before rotating."""
        from lakefeed.catalog.key_rotation import add_key

        return add_key(self.secret_box)

    def rotate_secret_key(self, *, new_key: bool = False) -> KeyRotation:
        """Move the staged key first in the key file (older keys stay, to open what they
        sealed) and re-seal every stored secret of every org and sandbox with it (``lakefeed
        keys rotate``). ``new_key``: with no key staged, make one and use it at once (one key
        file for every process). :class:`KeyRotationRefused` when the staged key says
        otherwise."""
        from lakefeed.catalog.key_rotation import rotate_key

        return rotate_key(self.db, self.secret_box, new_key=new_key)

    def retire_old_secret_keys(self, *, backup: bool = True) -> KeyRetirement:
        """Remove all but the current key (and a staged one) from the key file once every
        stored secret opens with it alone, re-sealing those that do not (``lakefeed keys
        retire``); ``backup`` keeps the keys it held beside it. :class:`SecretsUnreadable`
        while a secret opens with no key."""
        from lakefeed.catalog.key_rotation import retire_keys

        return retire_keys(self.db, self.secret_box, backup=backup)

    def secret_key_status(self) -> KeyStatus:
        """The key file's keys by fingerprint and the stored secrets each opens. Changes
        nothing: a database not opened yet is only read (never created nor migrated)."""
        from lakefeed.catalog.key_rotation import existing_database, key_status

        if "db" in self.__dict__:  # open already: its schema is this lakefeed's
            return key_status(self.db, self.secret_box)
        with existing_database(self.settings.database_url) as engine:
            return key_status(engine, self.secret_box)

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

    # -- runs ----------------------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        """What converts a batch's files (in-process unless another was given)."""
        if self._executor is None:
            from lakefeed.flows.executors import InProcessExecutor

            self._executor = InProcessExecutor()
        return self._executor

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

    def start_run(
        self,
        flow: Flow | str,
        *,
        window: Window | None = None,
        only_window_files: bool = False,
        retry_failed: bool = False,
        params: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        guard: Callable[[Flow], None] | None = None,
        scheduled: Run | None = None,
    ) -> RunHandle:
        """Start a run of ``flow`` (or its id or name) and return its handle; the run is
        recorded ``inProgress`` and :meth:`RunHandle.execute` executes it (here, or in a
        worker). ``scheduled``: adopt that ``scheduled`` run instead of recording a new one.
        The flow need not be enabled (the scheduler checks its own); see
        :class:`~lakefeed.flows.runner.RunOptions` for the rest."""
        from lakefeed.flows.runner import RunOptions, start_run

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        options = RunOptions(
            window=window,
            only_window_files=only_window_files,
            retry_failed=retry_failed,
            cancel=cancel,
            guard=guard,
        )
        return start_run(self.run_context, flow, options, params=params, scheduled=scheduled)

    def start_scheduled(
        self,
        run: Run,
        *,
        cancel: threading.Event | None = None,
        guard: Callable[[Flow], None] | None = None,
    ) -> RunHandle:
        """Start a run recorded ``scheduled`` (``POST /runs`` with a later ``startTime``) now
        that its time has come. Refused when its flow is gone or disabled, or its params no
        longer fit the flow (:class:`FlowDisabled`, …); :class:`RunInProgress` when another
        process started it."""
        from lakefeed.flows import ondemand
        from lakefeed.flows.runner import RunOptions

        return ondemand.start_scheduled(
            self.run_context, run, RunOptions(cancel=cancel, guard=guard)
        )

    def run_now(self, flow: Flow | str, *, retry_failed: bool = False) -> RunHandle:
        """Start a run of an enabled flow now, whatever its schedule (:class:`FlowDisabled`
        otherwise); returns its handle."""
        from lakefeed.flows import ondemand
        from lakefeed.flows.runner import RunOptions

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        return ondemand.start(self.run_context, flow, RunOptions(retry_failed=retry_failed))

    def request_run(
        self, flow: Flow | str, params: Mapping[str, Any], *, now: float | None = None
    ) -> RunHandle | Run:
        """``POST /runs``: an on-demand run of a ``once`` flow, with its ``params`` checked.
        Returns the started run's handle, or — when ``params.startTime`` is more than a
        minute ahead — the run recorded ``scheduled`` for a scheduler to start then."""
        from lakefeed.flows import ondemand

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        window, stored = ondemand.on_demand_window(flow, params)
        return ondemand.start_or_defer(self.run_context, flow, window, stored, now=now)

    def check_run_params(self, flow: Flow, params: Mapping[str, Any]) -> None:
        """The checks :meth:`request_run` makes of ``params`` before it starts anything
        (:class:`RunNotSupported` unless ``flow`` runs ``once``, :class:`InvalidRunParams`,
        :class:`InvalidRunWindow`)."""
        from lakefeed.flows import ondemand

        ondemand.on_demand_window(flow, params)

    def retrigger(self, run_id: str) -> RunHandle:
        """Start a failed run's flow again over the same window, retrying the files that
        failed for good in it too; returns the new run's handle."""
        from lakefeed.flows import ondemand

        return ondemand.retrigger(self.run_context, run_id)

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
        return self.run_now(flow, retry_failed=retry_failed).execute(progress)

    def retrigger_run(
        self, run_id: str, *, progress: Callable[[RunProgress], None] | None = None
    ) -> Run:
        """Run a failed run's flow again over the same window (files that failed for good in
        it are retried too); returns the new run, finished."""
        return self.retrigger(run_id).execute(progress)

    def recover_interrupted(self) -> list[Run]:
        """Close, in every org and sandbox, the runs whose process is gone (rolled forward or
        back from the table's snapshots); returns them. Servers and schedulers call it as they
        start."""
        from lakefeed.flows.recovery import recover_interrupted

        return recover_interrupted(self.run_context)

    def backlog_of(self, flow: Flow | str, *, refresh: bool = False) -> dict[str, Any]:
        """The files ``flow`` has discovered but not ingested, as of its last listing;
        ``refresh`` lists its source now."""
        from lakefeed.flows.backlog import backlog_of

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        return backlog_of(self.run_context, flow, refresh=refresh)

    def discover_backlog(self, flow: Flow | str) -> None:
        """List ``flow``'s source now and record what waits for its next run."""
        from lakefeed.flows.backlog import discover

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        discover(self.run_context, flow)

    # -- specs ---------------------------------------------------------------------------------

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
        """Store a base connection; ``spec`` is a connection spec id or name. ``auth_spec_name``
        is an auth spec's name or alias (:func:`~lakefeed.auth_choice.choose_auth_spec`); None
        picks the only auth spec the params fit. A spec whose SDK is not installed is refused
        (:class:`~lakefeed.errors.MissingDependency`): its connection could never be used."""
        source_type = self.plugins.source_type(spec)
        source_type.check_installed()
        auth = source_type.auth_params(params, self._auth_spec_name(spec, auth_spec_name, params))
        return self.connections.create(
            name=name, spec=source_type.spec, auth=auth, description=description
        )

    def connection(self, id_or_name: str) -> Connection:
        return self.connections.get(id_or_name)

    def update_connection(
        self,
        id_or_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
        test: bool = False,
    ) -> Connection:
        """Change a base connection's name, description or auth params. ``params`` are merged
        over the stored ones (secrets included; ``""`` drops an optional param) and validated
        as on create against the same auth spec; with ``test`` the new params are tested
        first and nothing is stored unless the test passes. ``if_match``: only while the
        connection's etag is still that one (:class:`PreconditionFailed` otherwise)."""
        from lakefeed.etags import etag_to_update

        connection = self.connection(id_or_name)
        etag = etag_to_update(
            if_match,
            connection.etag,
            f"Connection {connection.name!r}",
            f"lakefeed connections show {connection.name} --json",
        )
        auth = None
        if params:
            merged = {**connection.auth.public(), **connection.auth.secrets(), **params}
            merged = {k: v for k, v in merged.items() if v not in (None, "")}
            self.source_access(connection)  # a dataset base connection has no params
            source_type = self.plugins.source_type(connection.connection_spec_id)
            auth = source_type.auth_params(merged, connection.auth.spec_name)
            if test:
                self._access(source_type, auth, connection.name).session().test()
        elif test:
            self.session(connection).test()
        return self.connections.update(
            connection.id, name=name, description=description, auth=auth, etag=etag
        )

    def delete_connection(self, id_or_name: str, *, if_match: str | None = None) -> None:
        """Delete a base connection; refused while a flow reads through it or (a dataset base
        connection) writes through it, and with ``if_match`` unless its etag is still that."""
        from lakefeed.etags import etag_to_update

        connection = self.connection(id_or_name)
        show = f"lakefeed connections show {connection.name} --json"
        etag = etag_to_update(if_match, connection.etag, f"Connection {connection.name!r}", show)
        self.flows.check_connection_unused(connection.id)
        self.connections.delete(connection.id, etag=etag)  # the etag checked in the delete

    def update_flow(
        self,
        id_or_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        schedule: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        state: str | None = None,
        path: str | None = None,
        recursive: bool | None = None,
        if_match: str | None = None,
    ) -> Flow:
        """Change a flow's name, description, ``scheduleParams`` (whole), options (whole) and
        state, and re-point its own source connection (``path``, ``recursive``; the path is
        checked as listing checks it): one transaction, all or nothing
        (:meth:`FlowResources.change_flow`). ``if_match``: only while the flow's etag is still
        that one, checked in the transaction (:class:`PreconditionFailed` otherwise)."""
        from lakefeed.etags import etag_to_update

        flow = self.flows.flow(id_or_name)
        etag = etag_to_update(
            if_match, flow.etag, f"Flow {flow.name!r}", f"lakefeed flows show {flow.id} --json"
        )
        if path is not None:
            source = self.flows.source_connection(flow.source_connection_id)
            self.check_source_path(source.base_connection_id, path)
        return self.flows.change_flow(
            flow.id,
            name=name,
            description=description,
            schedule=schedule,
            options=options,
            state=state,
            path=path,
            recursive=recursive,
            etag=etag,
        )

    def delete_flow(
        self, id_or_name: str, *, if_match: str | None = None, with_connections: bool = False
    ) -> list[SourceConnection | TargetConnection]:
        """Delete a flow and its file ledger; refused while one of its runs is in progress.
        Its runs and batches stay, as the history of what was ingested. ``if_match``: only
        while its etag is still that one. ``with_connections``: also its source and target
        connections no other flow uses (those ``lakefeed flows create`` made); returns the
        connections deleted."""
        from lakefeed.errors import RunInProgress
        from lakefeed.etags import etag_to_update

        flow = self.flows.flow(id_or_name)
        etag = etag_to_update(
            if_match, flow.etag, f"Flow {flow.name!r}", f"lakefeed flows show {flow.id} --json"
        )
        if self.runs.active(flow.id):
            raise RunInProgress(
                f"Flow {flow.name!r} has a run in progress.", fix="Delete it once the run ends."
            )
        # The flow goes first (etag checked): a refused delete leaves its ledger whole.
        removed = self.flows.remove_flow(flow.id, etag=etag, with_connections=with_connections)
        self.ledger.forget(flow.id)
        self.backlog.forget(flow.id)
        self.windows.forget(flow.id)
        return removed

    def update_dataset(
        self,
        id_or_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, list[str]] | None = None,
        if_match: str | None = None,
        maintenance: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Change a dataset's name, description, tags or scheduled ``maintenance`` settings
        (``{}`` turns it off; its schema never changes); ``if_match``: only while its etag is
        still that one, checked as it is stored."""
        from lakefeed.etags import etag_to_update

        dataset = self.datasets.get(id_or_name)
        etag = etag_to_update(
            if_match,
            dataset.etag,
            f"Dataset {dataset.name!r}",
            f"lakefeed datasets show {dataset.id} --json",
        )
        return self.datasets.update(dataset.id, name=name, description=description, tags=tags,
                                    etag=etag, maintenance=maintenance)  # fmt: skip

    def delete_dataset(self, id_or_name: str, *, if_match: str | None = None) -> None:
        """Delete a dataset and its Iceberg table; refused while a flow writes to it, and
        with ``if_match`` unless its etag is still that one, checked as it is deleted."""
        from lakefeed.etags import etag_to_update

        dataset = self.datasets.get(id_or_name)
        show = f"lakefeed datasets show {dataset.id} --json"
        etag = etag_to_update(if_match, dataset.etag, f"Dataset {dataset.name!r}", show)
        self.flows.check_dataset_unused(dataset.id)
        self.datasets.delete(dataset.id, etag=etag)

    # -- table maintenance (lakefeed.datasets.compaction, .maintenance) --------------------------

    def compact_dataset(
        self, id_or_name: str, *, target_file_bytes: int = 128 << 20, min_input_files: int = 5,
        dry_run: bool = False,
    ) -> CompactionResult:  # fmt: skip
        """Rewrite a dataset's data files smaller than 3/4 of ``target_file_bytes`` into files
        of that size, in one ``replace`` snapshot (nothing when fewer than ``min_input_files``)."""
        from lakefeed.datasets.compaction import compact_table

        table = self.datasets.table(self.datasets.get(id_or_name))
        return compact_table(table, target_file_bytes=target_file_bytes,
                             min_input_files=min_input_files, dry_run=dry_run)  # fmt: skip

    def expire_snapshots(
        self, id_or_name: str, *, older_than: timedelta | str = "7d", retain_last: int = 1,
        dry_run: bool = False,
    ) -> ExpiryResult:  # fmt: skip
        """Expire a dataset's snapshots older than ``older_than`` (``7d``), keeping the
        ``retain_last`` newest and those of batches still loading; deletes what only they held."""
        from lakefeed.datasets.maintenance import expire_snapshots, parse_duration

        dataset = self.datasets.get(id_or_name)
        loading = self.batches.search(dataset_id=dataset.id, status="loading")
        return expire_snapshots(
            self.datasets.table(dataset), older_than=parse_duration(older_than),
            retain_last=retain_last, protected_batches={b.id for b in loading}, dry_run=dry_run,
        )  # fmt: skip

    def run_maintenance(self, id_or_name: str) -> dict[str, Any]:
        """Run a dataset's scheduled maintenance now (what ``lakefeed scheduler`` runs when it
        is due); returns each step's result, or its error, by step."""
        from lakefeed.datasets.maintenance_policy import MaintenancePolicy, run_policy

        dataset = self.datasets.get(id_or_name)
        policy = MaintenancePolicy.stored(dataset.name, dataset.maintenance)
        return run_policy(policy, compact=partial(self.compact_dataset, dataset.id),
                          expire=partial(self.expire_snapshots, dataset.id),
                          remove_orphans=partial(self.remove_orphan_files, dataset.id))  # fmt: skip

    def maintained_datasets(self) -> list[Dataset]:
        """The datasets of every org and sandbox with scheduled maintenance (the scheduler's)."""
        from lakefeed.catalog.datasets import DatasetRecords

        return DatasetRecords(self.db, self.scope).all_scopes_maintained()

    def remove_orphan_files(
        self, id_or_name: str, *, older_than: timedelta | str = "3d", dry_run: bool = False
    ) -> OrphanResult:
        """Delete the files under a dataset's table that nothing references and that are older
        than ``older_than`` (``3d``); the folders of batches still loading are skipped."""
        from lakefeed.datasets.maintenance import parse_duration, remove_orphan_files

        dataset = self.datasets.get(id_or_name)
        loading = self.batches.search(dataset_id=dataset.id, status="loading")
        return remove_orphan_files(
            self.datasets.table(dataset), older_than=parse_duration(older_than),
            protected_prefixes=[b.data_prefix for b in loading], dry_run=dry_run,
        )  # fmt: skip

    def update_schema(
        self, id: str, document: Mapping[str, Any], *, if_match: str | None = None
    ) -> dict[str, Any]:
        """Replace tenant resource ``id`` ($id or meta:altId) with ``document``, as PUT does;
        ``if_match``: only while its eTag is still that one, checked as it is stored."""
        current, etag = self._schema_at(id, if_match)
        return self.schemas.update(current["$id"], document, etag=etag)

    def delete_schema(self, id: str, *, if_match: str | None = None) -> dict[str, Any]:
        """Delete tenant resource ``id``; ``if_match``: only while its eTag is still that one,
        checked as it is deleted. Returns the document deleted."""
        current, etag = self._schema_at(id, if_match)
        self.schemas.delete(current["$id"], etag=etag)
        return current

    def _schema_at(self, id: str, if_match: str | None) -> tuple[dict[str, Any], str | None]:
        """Resource ``id`` and the eTag to change it under (:func:`etag_to_update`)."""
        from lakefeed.etags import etag_to_update

        current = dict(self.schemas.get(id))
        etag = str(current.get("meta:registryMetadata", {}).get("eTag", ""))
        show = f"lakefeed schemas show {current['$id']} --json"
        return current, etag_to_update(if_match, etag, f"{current.get('title', id)!r}", show)

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
        data_format: str | None = None,
        format_properties: Mapping[str, Any] | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> Run:
        """The whole chain in one call: connection → dataset → source and target connections →
        flow → run. ``source`` is a stored connection (id or name) or a local folder/``file://``
        URL. The files are read as ``data_format`` (default: the format that recognises
        ``path``'s name, else Parquet) with ``format_properties`` (``data.properties``). The
        dataset is created when missing, from ``schema`` (a registry id) or, with ``infer``,
        from what inspecting the files tells. ``mapping``, a Data Prep mapping set body (its
        ``outputSchema`` defaults to the dataset's schema), shapes the rows: it is stored as
        the flow's mapping set, with a new version when it changed. Calling it again ingests
        only new file versions: the flow is found again by its name."""
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
            data_format=data_format,
            format_properties=format_properties,
            mapping=mapping,
        )

    # -- mapping sets ----------------------------------------------------------------------------

    @cached_property
    def mapping_set_service(self) -> MappingSetService:
        """Data Prep mapping sets: stored with every version, checked against schemas."""
        from lakefeed.catalog.mapping_sets import MappingSetStore
        from lakefeed.mappings.service import MappingSetService

        return MappingSetService(MappingSetStore(self.db, self.scope), self.schemas, self.flows)

    def create_mapping_set(
        self, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet:
        """Store a mapping set (Data Prep's ``POST /mappingSets`` body) as version 0.
        :class:`MappingError` when a mapping has bad syntax or an unknown function or maps to
        a field the output schema lacks; :class:`InvalidRequest` for a body of the wrong
        shape. ``actor`` is recorded as ``createdBy`` (default ``lakefeed``)."""
        from lakefeed.mappings.service import LOCAL_ACTOR

        return self.mapping_set_service.create(mapping_set, actor=actor or LOCAL_ACTOR)

    def mapping_sets(
        self, *, name: str | None = None, order_by: str | None = None
    ) -> list[MappingSet]:
        """The latest version of every mapping set (named ``name``); ``order_by`` is
        ``createdDate`` or ``updatedDate``, ``-`` first for newest first (the default is
        ``-updatedDate``)."""
        return self.mapping_set_service.latest(name=name, order_by=order_by)

    def mapping_set(self, id: str, version: int | None = None) -> MappingSet:
        """Version ``version`` of a mapping set (default: the latest)."""
        return self.mapping_set_service.get(id, version)

    def update_mapping_set(
        self, id: str, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet:
        """Store ``mapping_set`` as the next version of mapping set ``id`` (checked as
        :meth:`create_mapping_set` checks it); the older versions stay for the flows that
        name them."""
        from lakefeed.mappings.service import LOCAL_ACTOR

        return self.mapping_set_service.update(id, mapping_set, actor=actor or LOCAL_ACTOR)

    def delete_mapping_set(self, id: str) -> None:
        """Delete every version of a mapping set; :class:`ResourceInUse` naming the flows
        whose ``transformations`` apply it."""
        self.mapping_set_service.delete(id)

    def validate_mapping_set(
        self, mapping_set: Mapping[str, Any], *, data: Any = None
    ) -> MappingValidation:
        """Every problem of a mapping set, per mapping, without storing it: what
        :meth:`create_mapping_set` refuses and, given a source schema (its ``inputSchema``,
        else the sample rows ``data``), source attributes the source lacks."""
        return self.mapping_set_service.validate(mapping_set, data)

    def preview_mapping_set(self, mapping_set: Mapping[str, Any], data: Any) -> MappingPreview:
        """Sample rows ``data`` (a list of dicts, or one) as the mapping set maps them, with
        the values that failed."""
        return self.mapping_set_service.preview(mapping_set, data)

    def compiled_mapping_set(self, id: str, version: int | None = None) -> CompiledMappingSet:
        """A stored mapping set compiled against its output schema, to apply to batches."""
        return self.mapping_set_service.compiled(id, version)
