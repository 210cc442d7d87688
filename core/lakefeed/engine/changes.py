"""Changing and deleting connections, flows, datasets and schemas: each change checks its
``if_match`` etag in the write itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.connections import Connection

if TYPE_CHECKING:
    from lakefeed.catalog.datasets import Dataset
    from lakefeed.catalog.flows import Flow, SourceConnection, TargetConnection
from lakefeed.engine.installation import Installation


class ResourceChanges(Installation):
    """Creating, updating and deleting the Flow Service, Catalog and Schema Registry
    resources."""

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
        target_file_size: int | str | None = None,
    ) -> Dataset:
        """Change a dataset's name, description, tags, scheduled ``maintenance`` settings
        (``{}`` turns it off) or ``target_file_size`` (bytes, or ``"64MiB"``: the size its runs'
        data files aim at, small source files gathered into files of that size; the Iceberg
        table property ``write.target-file-size-bytes``). Its schema never changes;
        ``if_match``: only while its etag is still that one, checked as it is stored."""
        from lakefeed.etags import etag_to_update

        dataset = self.datasets.get(id_or_name)
        etag = etag_to_update(
            if_match,
            dataset.etag,
            f"Dataset {dataset.name!r}",
            f"lakefeed datasets show {dataset.id} --json",
        )
        size = None
        if target_file_size is not None:
            from lakefeed.datasets.maintenance import parse_size

            size = parse_size(target_file_size, "target_file_size")
        return self.datasets.update(dataset.id, name=name, description=description, tags=tags,
                                    etag=etag, maintenance=maintenance,
                                    target_file_bytes=size)  # fmt: skip

    def delete_dataset(self, id_or_name: str, *, if_match: str | None = None) -> None:
        """Delete a dataset and its Iceberg table; refused while a flow writes to it, and
        with ``if_match`` unless its etag is still that one, checked as it is deleted."""
        from lakefeed.etags import etag_to_update

        dataset = self.datasets.get(id_or_name)
        show = f"lakefeed datasets show {dataset.id} --json"
        etag = etag_to_update(if_match, dataset.etag, f"Dataset {dataset.name!r}", show)
        self.flows.check_dataset_unused(dataset.id)
        self.datasets.delete(dataset.id, etag=etag)

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
