"""``IngestChain``: what ``lakefeed ingest`` does — build (or find) every resource of a flow and
run it. Names are derived from the inputs, so running the same command again finds the same
flow, and its ledger makes the second run ingest only what is new."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
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

if TYPE_CHECKING:
    from lakefeed.catalog.connections import Connection
    from lakefeed.catalog.flows import Flow, FlowResources
    from lakefeed.catalog.runs import Run
    from lakefeed.datasets.store import Dataset, DatasetStore
    from lakefeed.flows.runner import RunProgress
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
    ) -> Run:
        connection, path = self.connection(source, path)
        target = self.dataset(dataset, schema, infer, connection, path, recursive)
        # Keyed on the resolved path: ".", "" and the absolute folder are the same flow.
        resolved = self.lf.session(connection).resolve(path)
        key = hashlib.sha256(f"{connection.id}|{resolved}|{recursive}|{target.id}".encode())
        # The dataset's name cut so that the flow's, with "-source", stays a valid name.
        flow_name = f"ingest-{target.name[:200]}-{key.hexdigest()[:12]}"
        flows = self.lf.flows
        options: dict[str, Any] = {}
        if partial_ingestion_percent is not None:
            options["partialIngestionPercent"] = partial_ingestion_percent
        if error_diagnostics:
            options["errorDiagnosticsEnabled"] = True
        try:
            flow = flows.flow(flow_name)
        except ResourceNotFound:
            source_connection = flows.create_source_connection(
                name=f"{flow_name}-source",
                base_connection_id=connection.id,
                path=path,
                recursive=recursive,
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
            )
        else:
            if flow.options != flows.flow_options(options):
                flow = flows.set_options(flow.id, options)
        return self.lf.run_flow(flow, progress=progress)

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
        inferred = self.infer(name, connection, path, recursive)
        try:
            return datasets.create(name, inferred)
        except BaseException:
            # All or nothing: the schema (and its class) were made for this dataset only.
            self.lf.schemas.delete_inferred_schema(inferred)
            raise

    def infer(self, name: str, connection: Connection, path: str, recursive: bool) -> str:
        """A registry schema for the files at ``path``, from what inspecting them says."""
        from lakefeed.schema.infer import infer_fields

        session = self.lf.session(connection)
        fields = infer_fields(
            session.inspect(path, recursive=recursive),
            file_kind=session.formats.default().label,
            where=f"{path!r}",
            fix="Check the path with `lakefeed inspect`, or pass --schema.",
        )
        created = self.lf.schemas.create_inferred_schema(
            name, fields.properties, required=fields.required, description=f"Inferred from {path}"
        )
        return str(created["$id"])
