"""Source connections, target connections and flows, stored in their Flow Service shapes.

Each ``create_*`` checks that the parts fit together (base connection and spec, dataset and
schema, flow spec and connections) and raises an error naming the part that does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.flow_shapes import (
    Flow,
    FormatSettings,
    SourceConnection,
    TargetConnection,
    _as_bool,
    check_file_extension,
    flow_mapping_params,
    flow_options,
    schedule_extras,
)
from lakefeed.catalog.labels import check_labels
from lakefeed.catalog.records import ResourceTable, Scope, new_etag, now_ms
from lakefeed.errors import (
    InvalidFlow,
    InvalidRequest,
    PreconditionFailed,
    ResourceInUse,
    ResourceNotFound,
)
from lakefeed.schedules.rules import validate_schedule
from lakefeed.specs import (
    CLOUD_STORAGE_FLOW_SPEC_ID,
    CLOUD_STORAGE_FLOW_SPEC_NAME,
    DATASET_TARGET_SPEC_ID,
)

__all__ = [
    "Flow",
    "FlowResources",
    "SourceConnection",
    "TargetConnection",
    "flow_options",
]


class FlowResources:
    """Source connections, target connections and flows of one org and sandbox.

    ``connection_spec_of(base_connection_id)`` answers a base connection's spec id (raising when
    it does not exist); ``dataset_schema_of(dataset_id)`` answers a dataset's schema id;
    ``data_formats()`` the ``data.format`` values of the installed formats (default: the
    bundled Parquet format's); ``format_settings(data_format, properties)`` checks a source
    connection's ``data.properties`` against its format and answers them as the format reads
    them (raising :class:`~lakefeed.errors.InvalidFormatOption` naming a bad one);
    ``mapping_schema_of(id, version)`` answers the output schema of a mapping set version
    (raising when there is none), which a flow's ``transformations`` must name.
    """

    def __init__(
        self,
        engine: sa.Engine,
        scope: Scope,
        *,
        connection_spec_of: Callable[[str], str],
        dataset_schema_of: Callable[[str], str],
        data_formats: Callable[[], Collection[str]] | None = None,
        format_settings: FormatSettings | None = None,
        mapping_schema_of: Callable[[str, int | None], str] | None = None,
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.sources = ResourceTable(
            engine, tables.source_connections, scope, ResourceNotFound,
            "source connection", "lakefeed flows list",
        )  # fmt: skip
        self.targets = ResourceTable(
            engine, tables.target_connections, scope, ResourceNotFound,
            "target connection", "lakefeed flows list",
        )  # fmt: skip
        self.flows = ResourceTable(
            engine, tables.flows, scope, ResourceNotFound, "flow", "lakefeed flows list"
        )
        self._connection_spec_of = connection_spec_of
        self._dataset_schema_of = dataset_schema_of
        self._data_formats = data_formats or _bundled_data_formats
        self._format_settings = format_settings or _bundled_format_settings
        self._mapping_schema_of = mapping_schema_of

    # -- source connections --------------------------------------------------------------------

    def create_source_connection(
        self,
        *,
        name: str,
        base_connection_id: str,
        path: str,
        recursive: bool | str = False,
        data_format: str = "parquet",
        schema_id: str | None = None,
        connection_spec_id: str | None = None,
        description: str = "",
        properties: Mapping[str, Any] | None = None,
        file_extension: str | None = None,
    ) -> SourceConnection:
        """``properties``: ``data.properties``, how the format reads the files (delimiter,
        encoding, compression…), checked against the format; ``file_extension``:
        ``params.fileExtension``, only files whose names end with it are read."""
        base_spec = self._connection_spec_of(base_connection_id)
        if connection_spec_id is not None and connection_spec_id != base_spec:
            raise InvalidFlow(
                f"connectionSpec.id {connection_spec_id!r} is not the spec of base connection "
                f"{base_connection_id!r} ({base_spec}).",
                fix="Use the base connection's connectionSpec.id, or leave it out.",
            )
        supported = self._data_formats()
        if data_format not in supported:
            raise InvalidFlow(
                f"data.format {data_format!r} is not supported (supported: "
                f"{', '.join(supported)}).",
                fix="Use one of those; a format plugin adds others (`lakefeed plugins` lists "
                "the installed formats).",
            )
        if not str(path).strip():
            raise InvalidRequest("params.path is required.", fix="Give a file, folder or glob.")
        _check_path(str(path))
        data: dict[str, Any] = {"format": data_format}
        settings = self._format_settings(data_format, dict(properties or {}))
        if settings:
            data["properties"] = settings
        params: dict[str, Any] = {
            "path": str(path),
            "recursive": _as_bool(recursive, "params.recursive"),
        }
        if file_extension is not None:
            params["fileExtension"] = check_file_extension(file_extension)
        if schema_id:
            data["schema"] = {
                "id": schema_id,
                "version": "application/vnd.adobe.xed-full+json;version=1",
            }
        row = self.scope.new_row(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            base_connection_id=base_connection_id,
            connection_spec_id=base_spec,
            connection_spec_version="1.0",
            data=data,
            params=params,
            state="enabled",
        )
        self.sources.insert(row)
        return SourceConnection.from_row(row)

    def source_connection(self, id: str) -> SourceConnection:
        return SourceConnection.from_row(self.sources.get(id))

    def source_connections(self, ids: Collection[str] | None = None) -> list[SourceConnection]:
        """The source connections (of ``ids``, those that exist), oldest first."""
        where = [] if ids is None else [tables.source_connections.c.id.in_(sorted(set(ids)))]
        return [SourceConnection.from_row(r) for r in self.sources.select(*where)]

    # -- target connections --------------------------------------------------------------------

    def create_target_connection(
        self,
        *,
        name: str,
        dataset_id: str,
        schema_id: str | None = None,
        connection_spec_id: str = DATASET_TARGET_SPEC_ID,
        base_connection_id: str | None = None,
        data_format: str = "parquet_xdm",
        description: str = "",
    ) -> TargetConnection:
        if connection_spec_id != DATASET_TARGET_SPEC_ID:
            raise InvalidFlow(
                f"A target connection must use the dataset spec {DATASET_TARGET_SPEC_ID}, "
                f"not {connection_spec_id!r}.",
                fix=f"Send connectionSpec.id {DATASET_TARGET_SPEC_ID}.",
            )
        if not dataset_id:
            raise InvalidFlow("params.dataSetId is required.", fix="Name the target dataset.")
        dataset_schema = self._dataset_schema_of(dataset_id)
        if schema_id is not None and schema_id != dataset_schema:
            raise InvalidFlow(
                f"The target schema {schema_id!r} is not the schema of dataset {dataset_id!r} "
                f"({dataset_schema}).",
                fix="Use the dataset's schemaRef.id in data.schema.id, or leave it out.",
            )
        row = self.scope.new_row(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            base_connection_id=base_connection_id,
            connection_spec_id=connection_spec_id,
            connection_spec_version="1.0",
            data={
                "format": data_format,
                "schema": {
                    "id": dataset_schema,
                    "version": "application/vnd.adobe.xed-full+json;version=1",
                },
            },
            params={"dataSetId": dataset_id},
            state="enabled",
        )
        self.targets.insert(row)
        return TargetConnection.from_row(row)

    def target_connection(self, id: str) -> TargetConnection:
        return TargetConnection.from_row(self.targets.get(id))

    def target_connections(self, ids: Collection[str] | None = None) -> list[TargetConnection]:
        """The target connections (of ``ids``, those that exist), oldest first."""
        where = [] if ids is None else [tables.target_connections.c.id.in_(sorted(set(ids)))]
        return [TargetConnection.from_row(r) for r in self.targets.select(*where)]

    # -- flows ---------------------------------------------------------------------------------

    def create_flow(
        self,
        *,
        name: str,
        source_connection_ids: Sequence[str],
        target_connection_ids: Sequence[str],
        flow_spec_id: str = CLOUD_STORAGE_FLOW_SPEC_ID,
        schedule: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        transformations: Sequence[Mapping[str, Any]] = (),
        description: str = "",
    ) -> Flow:
        """``schedule``: ``scheduleParams``, checked by :func:`validate_schedule`; its fields
        lakefeed does not use are kept as sent (:func:`schedule_extras`)."""
        if flow_spec_id == CLOUD_STORAGE_FLOW_SPEC_NAME:
            flow_spec_id = CLOUD_STORAGE_FLOW_SPEC_ID  # the name is an alias of the id
        if flow_spec_id != CLOUD_STORAGE_FLOW_SPEC_ID:
            raise InvalidFlow(
                f"Unknown flow spec {flow_spec_id!r}.",
                fix=f"Use the {CLOUD_STORAGE_FLOW_SPEC_NAME} flow spec "
                f"{CLOUD_STORAGE_FLOW_SPEC_ID} (or its name).",
            )
        if len(source_connection_ids) != 1 or len(target_connection_ids) != 1:
            raise InvalidFlow(
                "A flow takes exactly one source connection and one target connection "
                f"(got {len(source_connection_ids)} and {len(target_connection_ids)}).",
                fix="Create one flow per source and target pair.",
            )
        source = self.source_connection(source_connection_ids[0])
        target = self.target_connection(target_connection_ids[0])
        target_schema = self._dataset_schema_of(target.dataset_id)
        if source.schema_id is not None and source.schema_id != target_schema:
            raise InvalidFlow(
                f"The source connection's schema {source.schema_id!r} is not the schema of the "
                f"target dataset ({target_schema}).",
                fix="Point both at the same schema, or drop data.schema from the source.",
            )
        row = self.scope.new_row(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            flow_spec_id=flow_spec_id,
            flow_spec_version="1.0",
            source_connection_ids=[source.id],
            target_connection_ids=[target.id],
            schedule_params={
                **validate_schedule(schedule).to_stored(),
                **schedule_extras(schedule),
            },
            options=flow_options(options),
            transformations=self._check_transformations(transformations, target_schema),
            state="enabled",
        )
        self.flows.insert(row)
        return Flow.from_row(row)

    flow_options = staticmethod(flow_options)

    def _check_transformations(
        self, transformations: Any, target_schema: str
    ) -> list[dict[str, Any]]:
        """``transformations`` as stored: at most one ``Mapping`` naming a mapping set version
        that exists and maps into the target dataset's schema (Flow Service 1412, 1425)."""
        if not isinstance(transformations, Sequence) or not all(
            isinstance(t, Mapping) for t in transformations
        ):
            raise InvalidRequest(
                "transformations must be a list of objects.",
                fix='Send [{"name": "Mapping", "params": {"mappingId": …, "mappingVersion": …}}]'
                ", or [].",
            )
        checked = [dict(t) for t in transformations]
        for transformation in checked:
            if transformation.get("name") != "Mapping":
                raise InvalidFlow(
                    f"Unknown transformation {transformation.get('name')!r}.",
                    fix='The only transformation is "Mapping" (a Data Prep mapping set).',
                )
        if len(checked) > 1:
            raise InvalidFlow(
                "A flow applies at most one Mapping transformation.",
                fix="Put every mapping in one mapping set.",
            )
        for transformation in checked:
            mapping_id, version = flow_mapping_params(transformation.get("params"))
            if self._mapping_schema_of is None:
                raise InvalidFlow(
                    "This store cannot check mapping sets.", fix="Create the flow through lakefeed."
                )
            try:
                schema = self._mapping_schema_of(mapping_id, version)
            except ResourceNotFound as exc:
                raise InvalidFlow(
                    f"transformations: {exc.message}",
                    fix="Create the mapping set first (POST /data/foundation/conversion/"
                    "mappingSets, `lakefeed mappings create`), and name its id and version.",
                ) from None
            if schema != target_schema:
                raise InvalidFlow(
                    f"Mapping set {mapping_id!r} maps into schema {schema!r}, not into the "
                    f"target dataset's schema {target_schema!r}.",
                    fix="Use a mapping set whose outputSchema is the dataset's schema.",
                )
        return checked

    def set_options(self, flow_id: str, options: Mapping[str, Any]) -> Flow:
        """Replace a flow's options (``None`` values remove an option)."""
        clean = {k: v for k, v in options.items() if v is not None}
        self.flows.update(flow_id, options=flow_options(clean))
        return self.flow(flow_id)

    def flow(self, id_or_name: str) -> Flow:
        return Flow.from_row(self.flows.get(id_or_name))

    def list_flows(self) -> list[Flow]:
        return [Flow.from_row(r) for r in self.flows.select()]

    def all_scopes_enabled_flows(self) -> list[Flow]:
        """The enabled flows of every org and sandbox, oldest first: the scheduler daemon
        serves them all (each flow carries its own ``ims_org_id`` and ``sandbox_name``)."""
        f = tables.flows
        query = sa.select(f).where(f.c.state == "enabled").order_by(f.c.created_at, f.c.id)
        with self.engine.connect() as db:
            return [Flow.from_row(r) for r in db.execute(query).mappings()]

    def flows_writing(self, dataset_id: str) -> list[Flow]:
        """The flows whose target connection names the dataset ``dataset_id``."""
        targets = {t.id for t in self.target_connections() if t.dataset_id == dataset_id}
        return [f for f in self.list_flows() if set(f.target_connection_ids) & targets]

    def check_dataset_unused(self, dataset_id: str) -> None:
        users = self.flows_writing(dataset_id)
        if users:
            raise ResourceInUse(
                f"Dataset {dataset_id!r} is the target of flows "
                f"{', '.join(repr(f.name) for f in users)}.",
                fix="Delete those flows first.",
            )

    # -- changes: updates, state actions, deletes ----------------------------------------------

    def update_source_connection(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        path: str | None = None,
        recursive: bool | str | None = None,
        etag: str | None = None,
    ) -> SourceConnection:
        """Rename, describe or re-point a source connection. With ``etag``, only while it still
        has that etag (:class:`PreconditionFailed` otherwise); so for every ``update_*``. The
        flows that read through it get a new etag in the same transaction, as
        :meth:`change_flow` gives one: a client holding a flow's etag sees its source moved."""
        source = self.source_connection(id)
        values = _named(name, description)
        if path is not None or recursive is not None:
            values["params"] = _source_params(source, path, recursive)
        self._update_connection(self.sources, source.id, etag, values, "source_connection_ids")
        return self.source_connection(source.id)

    def update_target_connection(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        etag: str | None = None,
    ) -> TargetConnection:
        """As :meth:`update_source_connection`: the flows that write through it get a new
        etag in the same transaction."""
        target = self.target_connection(id)
        values = _named(name, description)
        self._update_connection(self.targets, target.id, etag, values, "target_connection_ids")
        return self.target_connection(target.id)

    def _update_connection(
        self,
        rows: ResourceTable,
        id: str,
        etag: str | None,
        values: dict[str, Any],
        flow_column: str,
    ) -> None:
        """Change source or target connection ``id`` (with ``etag``: only while it still has
        it) and give every flow whose ``flow_column`` names it a new etag, in one
        transaction."""
        check_labels(values, rows.noun)
        table, f = rows.table, tables.flows
        stamp = {"etag": new_etag(), "updated_at": now_ms()}
        where = self.scope.where(table) & (table.c.id == id)
        if etag is not None:
            where = where & (table.c.etag == etag)
        with self.engine.begin() as db:
            if not db.execute(sa.update(table).where(where).values(**stamp, **values)).rowcount:
                raise PreconditionFailed(
                    f"The {rows.noun} {id!r} was changed by someone else.",
                    fix="GET it again, re-apply the change and send its new etag.",
                )
            # Read inside the transaction, after the write: a flow created meanwhile is seen.
            flows = db.execute(sa.select(f.c.id, f.c[flow_column]).where(self.scope.where(f)))
            for flow_id in [r.id for r in flows if id in (r[1] or ())]:
                db.execute(
                    sa.update(f)
                    .where(self.scope.where(f) & (f.c.id == flow_id))
                    .values(etag=new_etag(), updated_at=stamp["updated_at"])
                )

    def update_flow(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        schedule: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        transformations: Sequence[Mapping[str, Any]] | None = None,
        etag: str | None = None,
    ) -> Flow:
        """Change a flow; ``schedule`` and ``options`` are validated as on create and replace
        the old ones whole (so do the ``scheduleParams`` fields lakefeed does not use)."""
        flow = self.flow(id)
        values = _flow_values(flow, name, description, schedule, options)
        if transformations is not None:
            target = self.target_connection(flow.target_connection_id)
            values["transformations"] = self._check_transformations(
                transformations, self._dataset_schema_of(target.dataset_id)
            )
        _update(self.flows, flow.id, etag, values)
        return self.flow(flow.id)

    def change_flow(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        schedule: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        state: str | None = None,
        path: str | None = None,
        recursive: bool | str | None = None,
        etag: str | None = None,
    ) -> Flow:
        """Change a flow and re-point its own source connection (``path``, ``recursive``) in
        one transaction: all of it or nothing. Everything is checked as by :meth:`update_flow`,
        :meth:`set_flow_state` and :meth:`update_source_connection` before anything is
        written; with ``etag``, only while the flow still has it (checked in the
        transaction). The flow gets a new etag for any change, its source's included. A
        source connection other flows read too is not re-pointed (:class:`InvalidRequest`)."""
        flow = self.flow(id)
        values = _flow_values(flow, name, description, schedule, options)
        if state is not None:
            if state not in ("enabled", "disabled"):
                raise InvalidRequest(
                    f"A flow's state is enabled or disabled, not {state!r}.",
                    fix="Use one of those.",
                )
            values["state"] = state
        source_params = None
        if path is not None or recursive is not None:
            source_params = self._repointed(flow, path, recursive)
        check_labels(values, "flow")
        f, sc = tables.flows, tables.source_connections
        stamp = {"etag": new_etag(), "updated_at": now_ms()}
        where = self.scope.where(f) & (f.c.id == flow.id)
        if etag is not None:
            where = where & (f.c.etag == etag)
        with self.engine.begin() as db:
            if not db.execute(sa.update(f).where(where).values(**stamp, **values)).rowcount:
                raise PreconditionFailed(
                    f"Flow {flow.name!r} was changed by someone else.",
                    fix="Read it again, re-apply the change and send its new etag.",
                )
            if source_params is not None:
                mine = self.scope.where(sc) & (sc.c.id == flow.source_connection_id)
                db.execute(
                    sa.update(sc)
                    .where(mine)
                    .values(etag=new_etag(), updated_at=stamp["updated_at"], params=source_params)
                )
        return self.flow(flow.id)

    def _repointed(
        self, flow: Flow, path: str | None, recursive: bool | str | None
    ) -> dict[str, Any]:
        """The params of ``flow``'s source connection with a new ``path`` or ``recursive``;
        refused when other flows read through that connection too."""
        source = self.source_connection(flow.source_connection_id)
        others = [
            f.name
            for f in self.list_flows()
            if source.id in f.source_connection_ids and f.id != flow.id
        ]
        if others:
            raise InvalidRequest(
                f"Flow {flow.name!r} shares its source connection {source.id} with the flows "
                f"{', '.join(map(repr, others))}: changing its path would re-point those too.",
                fix="PATCH /sourceConnections/{id} changes it for all of them; or create a new "
                "flow for the other path.",
            )
        return _source_params(source, path, recursive)

    def remove_flow(
        self, id: str, *, etag: str | None = None, with_connections: bool = False
    ) -> list[SourceConnection | TargetConnection]:
        """Delete a flow (with ``etag``: only while it still has it) and, ``with_connections``,
        its source and target connections that no other flow uses, in one transaction;
        returns the connections deleted."""
        flow = self.flow(id)
        removed: list[SourceConnection | TargetConnection] = []
        if with_connections:
            others = [f for f in self.list_flows() if f.id != flow.id]
            removed += [
                s
                for s in self.source_connections(flow.source_connection_ids)
                if not any(s.id in f.source_connection_ids for f in others)
            ]
            removed += [
                t
                for t in self.target_connections(flow.target_connection_ids)
                if not any(t.id in f.target_connection_ids for f in others)
            ]
        f = tables.flows
        where = self.scope.where(f) & (f.c.id == flow.id)
        if etag is not None:
            where = where & (f.c.etag == etag)
        with self.engine.begin() as db:
            if not db.execute(sa.delete(f).where(where)).rowcount:
                raise PreconditionFailed(
                    f"Flow {flow.name!r} was changed by someone else.",
                    fix="Read it again and delete it with its new etag.",
                )
            for connection in removed:
                table = (
                    tables.source_connections
                    if isinstance(connection, SourceConnection)
                    else tables.target_connections
                )
                db.execute(
                    sa.delete(table).where(self.scope.where(table) & (table.c.id == connection.id))
                )
        return removed

    def set_flow_state(self, id: str, state: str, *, etag: str | None = None) -> Flow:
        """Enable or disable a flow (``state`` ``enabled`` or ``disabled``); a disabled flow
        is not scheduled and takes no on-demand run."""
        if state not in ("enabled", "disabled"):
            raise InvalidRequest(
                f"A flow's state is enabled or disabled, not {state!r}.", fix="Use one of those."
            )
        flow = self.flow(id)
        if flow.state == state:
            raise InvalidFlow(
                f"Flow {flow.name!r} is already {state}.",
                fix="Only an enabled flow can be disabled, and the other way round.",
            )
        _update(self.flows, flow.id, etag, {"state": state})
        return self.flow(flow.id)

    def flows_using_connection(self, connection_id: str) -> list[Flow]:
        """Flows that read through base connection ``connection_id`` or write through it (a
        dataset base connection of their target connection)."""
        sources = {s.id for s in self.source_connections() if s.base_connection_id == connection_id}
        targets = {t.id for t in self.target_connections() if t.base_connection_id == connection_id}
        return [
            f
            for f in self.list_flows()
            if set(f.source_connection_ids) & sources or set(f.target_connection_ids) & targets
        ]

    def check_connection_unused(self, connection_id: str) -> None:
        users = self.flows_using_connection(connection_id)
        if users:
            raise ResourceInUse(
                f"Base connection {connection_id!r} is used by flows "
                f"{', '.join(repr(f.name) for f in users)}.",
                fix="Delete those flows first.",
            )

    def delete_source_connection(self, id: str) -> None:
        """Delete a source connection; refused while a flow reads from it."""
        source = self.source_connection(id)
        _check_unused("Source connection", source.id, self.list_flows(), _sources_of)
        self.sources.delete(source.id)

    def delete_target_connection(self, id: str) -> None:
        """Delete a target connection; refused while a flow writes through it."""
        target = self.target_connection(id)
        _check_unused("Target connection", target.id, self.list_flows(), _targets_of)
        self.targets.delete(target.id)


def _source_params(
    source: SourceConnection, path: str | None, recursive: bool | str | None
) -> dict[str, Any]:
    params = dict(source.params)
    if path is not None:
        if not isinstance(path, str) or not path.strip():
            raise InvalidRequest(
                f"params.path must be a non-empty string, not {path!r}.",
                fix="Give a file, folder or glob.",
            )
        _check_path(path)
        params["path"] = path
    if recursive is not None:
        params["recursive"] = _as_bool(recursive, "params.recursive")
    return params


def _check_path(path: str) -> None:
    """Refuse, when stored rather than at the first run, a path no listing can take."""
    from lakefeed.storage.listing import split_glob

    # No storage names a file with a NUL byte.
    if "\x00" in path:
        raise InvalidRequest(
            f"params.path {path!r} contains a NUL byte.", fix="Remove the NUL byte (\\x00)."
        )
    try:
        split_glob(path)  # the rule listing applies (StorageSession.ls)
    except ValueError as exc:
        raise InvalidRequest(
            f"params.path: {exc}.", fix="Put '*' only in the file-name part."
        ) from None


def _flow_values(
    flow: Flow,
    name: str | None,
    description: str | None,
    schedule: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The columns a change of these fields writes, each validated as on create; the
    schedule and options replace the old ones whole (with the ``scheduleParams`` fields
    lakefeed does not use)."""
    values = _named(name, description)
    if schedule is not None:
        values["schedule_params"] = {
            **validate_schedule(schedule, current=flow.schedule).to_stored(),
            **schedule_extras(schedule),
        }
    if options is not None:
        values["options"] = flow_options({k: v for k, v in options.items() if v is not None})
    return values


def _named(name: str | None, description: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest(f"name must be a non-empty string, not {name!r}.", fix="Name it.")
        values["name"] = name
    if description is not None:
        if not isinstance(description, str):
            raise InvalidRequest(
                f"description must be a string, not {description!r}.", fix="Send text."
            )
        values["description"] = description
    return values


def _update(rows: ResourceTable, id: str, etag: str | None, values: Mapping[str, Any]) -> None:
    if not rows.update_if(id, etag, **values):
        raise PreconditionFailed(
            f"The {rows.noun} {id!r} was changed by someone else.",
            fix="GET it again, re-apply the change and send its new etag.",
        )


def _sources_of(flow: Flow) -> tuple[str, ...]:
    return flow.source_connection_ids


def _targets_of(flow: Flow) -> tuple[str, ...]:
    return flow.target_connection_ids


def _check_unused(
    noun: str, id: str, flows: Sequence[Flow], connections: Callable[[Flow], Sequence[str]]
) -> None:
    users = [f for f in flows if id in connections(f)]
    if users:
        raise ResourceInUse(
            f"{noun} {id!r} is used by flows {', '.join(repr(f.name) for f in users)}.",
            fix="Delete those flows first.",
        )


def _bundled_data_formats() -> tuple[str, ...]:
    from lakefeed.formats import FormatRegistry

    return FormatRegistry.bundled().data_formats()


def _bundled_format_settings(data_format: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    from lakefeed.formats import FormatRegistry, given_settings

    return given_settings(FormatRegistry.bundled().get(data_format), properties)
