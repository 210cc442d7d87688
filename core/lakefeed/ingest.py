"""``IngestChain``: what ``lakefeed ingest`` does — build (or find) every resource of a flow and
run it. Names are derived from the inputs, so running the same command again finds the same
flow, and its ledger makes the second run ingest only what is new."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lakefeed.catalog.labels import NAME_MAX_LENGTH
from lakefeed.errors import (
    ConnectionNameTaken,
    ConnectionNotFound,
    InvalidRequest,
    InvalidSchema,
    ResourceNotFound,
)
from lakefeed.formats import DEFAULT_DATA_FORMAT, given_settings

if TYPE_CHECKING:
    from lakefeed.catalog.connections import Connection
    from lakefeed.catalog.flows import Flow, FlowResources
    from lakefeed.catalog.mapping_sets import MappingSet
    from lakefeed.catalog.runs import Run
    from lakefeed.datasets.store import Dataset, DatasetStore
    from lakefeed.flows.runner import RunProgress
    from lakefeed.formats import FileFormat
    from lakefeed.schema.registry import SchemaRegistry
    from lakefeed.storage.session import StorageSession

LOCAL_SPEC = "local-files"


class IngestEngine(Protocol):
    """What the chain uses of :class:`lakefeed.Lakefeed`: its public API, nothing else."""

    @property
    def flows(self) -> FlowResources: ...
    @property
    def datasets(self) -> DatasetStore: ...
    @property
    def schemas(self) -> SchemaRegistry: ...
    def connection(self, id_or_name: str) -> Connection: ...
    def create_connection(
        self,
        name: str,
        spec: str,
        auth_spec_name: str | None,
        params: Mapping[str, Any],
        *,
        description: str = "",
    ) -> Connection: ...
    def session(self, connection: Connection | str) -> StorageSession: ...
    def file_format_for(
        self, file_name: str, name: str | None = None, properties: Mapping[str, Any] | None = None
    ) -> FileFormat: ...
    def mapping_sets(
        self, *, name: str | None = None, order_by: str | None = None
    ) -> list[MappingSet]: ...
    def create_mapping_set(
        self, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet: ...
    def update_mapping_set(
        self, id: str, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet: ...
    def run_flow(
        self,
        flow: Flow | str,
        *,
        progress: Callable[[RunProgress], None] | None = None,
        retry_failed: bool = False,
    ) -> Run: ...


class IngestChain:
    def __init__(self, lf: IngestEngine) -> None:
        self.lf = lf

    def run(
        self,
        source: str,
        path: str,
        *,
        dataset: str,
        schema: str | None,
        infer: bool,
        recursive: bool,
        partial_ingestion_percent: float | None,
        progress: Callable[[RunProgress], None] | None,
        error_diagnostics: bool = False,
        data_format: str | None = None,
        format_properties: Mapping[str, Any] | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> Run:
        if mapping is not None and infer:
            raise InvalidRequest(
                "A mapping maps into an existing schema; --infer makes the schema from the "
                "files' own columns.",
                fix="Pass the dataset's schema (--schema), or ingest into an existing dataset.",
            )
        connection, path = self.connection(source, path)
        # A glob that matches no file at all is a typo (NoFilesMatch), checked before anything
        # is made; files that match but were all ingested already are just nothing new.
        next(self.lf.session(connection).ls(path, recursive=recursive, require_match=True), None)
        # Checked before anything is made: a bad property creates nothing.
        file_format = self.lf.file_format_for(path, data_format, format_properties)
        # As stored (keys as the format spells them, values normalised): "GZIP" and "gzip",
        # or a tab and "\t", are the same flow.
        properties = given_settings(file_format, format_properties or {})
        target = self.dataset(
            dataset, schema, infer, connection, path, recursive, file_format, progress=progress
        )
        # Keyed on the resolved path: ".", "" and the absolute folder are the same flow; the
        # same files read another way are another flow.
        resolved = self.lf.session(connection).resolve(path)
        reading = (
            ""
            if file_format.name == DEFAULT_DATA_FORMAT and not properties
            else (f"|{file_format.name}|{json.dumps(properties, sort_keys=True)}")
        )
        key = hashlib.sha256(
            f"{connection.id}|{resolved}|{recursive}|{target.id}{reading}".encode()
        )
        # The dataset's name cut so that the flow's, with "-source", stays a valid name.
        flow_name = f"ingest-{target.name[:200]}-{key.hexdigest()[:12]}"
        flows = self.lf.flows
        options: dict[str, Any] = {}
        if partial_ingestion_percent is not None:
            options["partialIngestionPercent"] = partial_ingestion_percent
        if error_diagnostics:
            options["errorDiagnosticsEnabled"] = True
        transformations = (
            [] if mapping is None else self.mapping(f"{flow_name}-mapping", mapping, target)
        )
        try:
            flow = flows.flow(flow_name)
        except ResourceNotFound:
            source_connection = flows.create_source_connection(
                name=f"{flow_name}-source",
                base_connection_id=connection.id,
                path=path,
                recursive=recursive,
                data_format=file_format.data_formats[0],
                properties=properties or None,
            )
            target_connection = flows.create_target_connection(
                name=f"{flow_name}-target", dataset_id=target.id
            )
            flow = flows.create_flow(
                name=flow_name,
                description=f"lakefeed ingest {source} {path} --dataset {dataset}",
                source_connection_ids=[source_connection.id],
                target_connection_ids=[target_connection.id],
                options=options,
                transformations=transformations,
            )
        else:
            if flow.options != flows.flow_options(options):
                flow = flows.set_options(flow.id, options)
            if flow.transformations != transformations:  # later runs apply the new mapping
                flow = flows.update_flow(flow.id, transformations=transformations)
        return self.lf.run_flow(flow, progress=progress)

    def mapping(
        self, name: str, document: Mapping[str, Any], target: Dataset
    ) -> list[dict[str, Any]]:
        """The flow's ``transformations`` for a mapping set document (its ``outputSchema``
        defaults to the dataset's schema): the mapping set ``name``, created, or given a new
        version when the document changed, so runs after this one apply it."""
        body = dict(document)
        body.setdefault("outputSchema", {"schemaRef": {"id": target.schema_id}})
        body["name"] = name
        from lakefeed.mappings.documents import parse_mapping_set

        wanted = parse_mapping_set(body).document  # as it is stored: either shape compares
        existing = self.lf.mapping_sets(name=name)
        if not existing:
            stored = self.lf.create_mapping_set(body)
        elif _same_mapping(existing[0].document, wanted):
            stored = existing[0]
        else:
            stored = self.lf.update_mapping_set(existing[0].id, body)
        params = {"mappingId": stored.id, "mappingVersion": stored.version}
        return [{"name": "Mapping", "params": params}]

    def connection(self, source: str, path: str) -> tuple[Connection, str]:
        """A stored connection, or the local one for a local folder or ``file://`` URL."""
        try:
            return self.lf.connection(source), path
        except ConnectionNotFound:
            local = source.removeprefix("file://")
            if "://" in local or not Path(local).is_absolute():
                raise ConnectionNotFound(
                    f"{source!r} is neither a stored connection nor a local folder.",
                    fix="Create a connection first (`lakefeed connections create`), or give "
                    "an absolute local folder or file:// URL.",
                ) from None
        root = Path(local)
        if not root.is_dir():
            raise InvalidRequest(
                f"{str(root)!r} is not a folder.", fix="Give the folder that holds the files."
            )
        name = f"local:{root}"
        if len(name) > NAME_MAX_LENGTH:  # the end of the path, and a digest to tell them apart
            digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
            name = f"local:…{str(root)[-(NAME_MAX_LENGTH - 20) :]}-{digest}"
        try:
            connection = self.lf.connection(name)
        except ConnectionNotFound:
            try:
                connection = self.lf.create_connection(
                    name, LOCAL_SPEC, None, {"rootPath": str(root)}
                )
            except ConnectionNameTaken:  # another process made it since: the same folder
                connection = self.lf.connection(name)
        return connection, path

    def dataset(
        self,
        name: str,
        schema: str | None,
        infer: bool,
        connection: Connection,
        path: str,
        recursive: bool,
        file_format: FileFormat,
        *,
        progress: Callable[[RunProgress], None] | None = None,
    ) -> Dataset:
        datasets = self.lf.datasets
        try:
            existing = datasets.get(name)
        except ResourceNotFound:
            existing = None
        if existing is not None:
            if schema is not None and self.lf.schemas.get(schema)["$id"] != existing.schema_id:
                raise InvalidSchema(
                    f"Dataset {name!r} exists with schema {existing.schema_id}, not {schema}.",
                    fix="Leave out the schema, or ingest into a new dataset.",
                )
            return existing
        if schema is None and not infer:
            raise InvalidRequest(
                f"Dataset {name!r} does not exist, and no schema was given to create it.",
                fix="Pass a schema (--schema FILE_OR_ID) or --infer to infer it from the files.",
            )
        if schema is not None:
            return datasets.create(name, self.lf.schemas.get(schema)["$id"])
        inferred = self.infer(name, connection, path, recursive, file_format, progress=progress)
        try:
            return datasets.create(name, inferred)
        except BaseException:
            # All or nothing: the schema (and its class) were made for this dataset only.
            self.lf.schemas.delete_inferred_schema(inferred)
            raise

    def infer(
        self,
        name: str,
        connection: Connection,
        path: str,
        recursive: bool,
        file_format: FileFormat,
        *,
        progress: Callable[[RunProgress], None] | None = None,
    ) -> str:
        """A registry schema for the files at ``path``, from what inspecting them says
        (reported to ``progress`` as phase ``inferring schema``, file by file)."""
        from lakefeed.flows.options import RunProgress
        from lakefeed.schema.infer import infer_fields

        session = self.lf.session(connection)
        inspected = session.inspect(path, recursive=recursive, file_format=file_format)
        if progress is not None:
            report = progress
            state = RunProgress(files_total=0, bytes_total=0, phase="inferring schema")
            report(state)

            def counted(items: Iterator[Any]) -> Iterator[Any]:
                for item in items:
                    state.files_inspected += 1
                    report(state)
                    yield item

            inspected = counted(inspected)
        fields = infer_fields(
            inspected,
            file_kind=file_format.label,
            where=f"{path!r}",
            fix="Check the path with `lakefeed inspect`, or pass --schema.",
        )
        created = self.lf.schemas.create_inferred_schema(
            name, fields.properties, required=fields.required, description=f"Inferred from {path}"
        )
        return str(created["$id"])


def _same_mapping(stored: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a stored mapping set maps as ``body`` says (the fields the server adds, such as
    mapping ids, aside)."""

    def rules(document: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (m.get("sourceType"), m.get("source"), m.get("destination"))
            for m in document.get("mappings") or ()
            if isinstance(m, Mapping)
        ]

    schema = (stored.get("outputSchema") or {}).get("schemaRef", {}).get("id")
    wanted = (body.get("outputSchema") or {}).get("schemaRef", {}).get("id")
    return schema == wanted and rules(stored) == rules(body)
