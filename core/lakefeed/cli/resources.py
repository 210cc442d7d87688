"""Where the read commands get their resources: the local engine, or a lakefeed server given
with ``--server``. Both answer the Flow Service and Catalog entity dicts, so each command has
one body and prints the same JSON either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from lakefeed.errors import ConnectionNotFound, InvalidRequest, LakefeedError, ResourceNotFound

if TYPE_CHECKING:
    from lakefeed.client import Client
    from lakefeed.engine import Lakefeed

Entity = dict[str, Any]

#: The commands that work with ``--server``: they read, run a flow, or manage mapping sets.
REMOTE_COMMANDS = (
    "connections list",
    "connections show",
    "flows list",
    "flows show",
    "flows run",
    "flows enable",
    "flows disable",
    "flows backlog",
    "runs list",
    "runs show",
    "runs retrigger",
    "runs wait",
    "datasets list",
    "datasets show",
    "mappings create",
    "mappings list",
    "mappings show",
    "mappings update",
    "mappings validate",
    "mappings preview",
    "mappings delete",
)
#: How long ``flows run`` waits for a run on a server.
REMOTE_RUN_TIMEOUT = 24 * 3600.0


def check_remote_command(command: str) -> None:
    """Refuse a command that has no remote form, naming those that have one."""
    if command not in REMOTE_COMMANDS:
        raise InvalidRequest(
            f"`lakefeed {command}` does not work with --server; these do: "
            + ", ".join(REMOTE_COMMANDS)
            + ".",
            fix="Run it without --server (and LAKEFEED_SERVER) where the lakefeed home is, "
            "or call the REST API.",
        )


def _not_found(exc: LakefeedError) -> bool:
    """A resource that does not exist (a 404 of a route that does not exist is no answer)."""
    from lakefeed.client import ApiError

    if isinstance(exc, ApiError):
        return exc.status == 404 and exc.code != "LF-404"
    return isinstance(exc, ConnectionNotFound | ResourceNotFound)


class Resources:
    """What the read commands need. Subclasses answer entity dicts; the shared helpers here
    turn ids into names for tables."""

    def connection_specs(self) -> list[Entity]:
        raise NotImplementedError

    def connections(self) -> list[Entity]:
        raise NotImplementedError

    def connection(self, ref: str) -> Entity:
        """By id or name."""
        raise NotImplementedError

    def source_connection(self, id: str) -> Entity:
        raise NotImplementedError

    def target_connection(self, id: str) -> Entity:
        raise NotImplementedError

    def flows(self) -> list[Entity]:
        raise NotImplementedError

    def flow(self, ref: str) -> Entity:
        """By id or name."""
        raise NotImplementedError

    def run_flow(self, flow: Entity, *, as_json: bool, retry_failed: bool) -> Entity:
        """Run the flow now; the finished run."""
        raise NotImplementedError

    def set_flow_state(self, flow: Entity, state: str) -> Entity:
        """Enable or disable; the flow afterwards."""
        raise NotImplementedError

    def backlog(self, flow: Entity, *, refresh: bool) -> Entity:
        """What the flow has discovered but not ingested (listed now with ``refresh``)."""
        raise NotImplementedError

    def retrigger(self, run_id: str, *, as_json: bool) -> Entity:
        """Re-run a failed run's window; the new run, finished."""
        raise NotImplementedError

    def runs(self, flow_id: str | None = None) -> list[Entity]:
        raise NotImplementedError

    def run(self, id: str) -> Entity:
        raise NotImplementedError

    def datasets(self) -> list[Entity]:
        raise NotImplementedError

    def dataset(self, ref: str) -> Entity:
        """By id or name."""
        raise NotImplementedError

    def dataset_details(self, dataset: Entity) -> Entity:
        """``metadataLocation``, ``currentSnapshotId``, ``rowCount``, ``batchCount``."""
        raise NotImplementedError

    def batch(self, id: str) -> Entity:
        raise NotImplementedError

    def schema(self, id: str) -> Entity:
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------------

    def name_or(self, lookup: Callable[[str], Entity], id: str | None, missing: str) -> str:
        """``lookup(id)["name"]``, or ``missing`` when it was deleted."""
        if not id:
            return missing
        try:
            return str(lookup(id)["name"])
        except LakefeedError as exc:
            if _not_found(exc):
                return missing
            raise

    def schema_title(self, schema_id: str) -> str:
        try:
            return str(self.schema(schema_id)["title"])
        except LakefeedError as exc:
            if _not_found(exc):
                return "(schema deleted)"
            raise


class LocalResources(Resources):
    """The engine of ``--home``."""

    def __init__(self, lf: Lakefeed) -> None:
        self.lf = lf

    def connection_specs(self) -> list[Entity]:
        file_types = self.lf.plugins.formats().file_types()
        return [s.to_dict(file_types=file_types) for s in self.lf.connection_specs()]

    def connections(self) -> list[Entity]:
        return [c.to_dict() for c in self.lf.connections.list()]

    def connection(self, ref: str) -> Entity:
        return self.lf.connection(ref).to_dict()

    def source_connection(self, id: str) -> Entity:
        return self.lf.flows.source_connection(id).to_dict()

    def target_connection(self, id: str) -> Entity:
        return self.lf.flows.target_connection(id).to_dict()

    def flows(self) -> list[Entity]:
        return [f.to_dict() for f in self.lf.flows.list_flows()]

    def flow(self, ref: str) -> Entity:
        return self.lf.flows.flow(ref).to_dict()

    def run_flow(self, flow: Entity, *, as_json: bool, retry_failed: bool) -> Entity:
        from lakefeed.cli.progress import run_progress

        with run_progress(as_json) as report:
            run = self.lf.run_flow(flow["id"], progress=report.callback, retry_failed=retry_failed)
            report.ended(run.metrics)
        return run.to_dict()

    def set_flow_state(self, flow: Entity, state: str) -> Entity:
        return self.lf.flows.set_flow_state(flow["id"], state).to_dict()

    def backlog(self, flow: Entity, *, refresh: bool) -> Entity:
        return self.lf.backlog_of(flow["id"], refresh=refresh)

    def retrigger(self, run_id: str, *, as_json: bool) -> Entity:
        from lakefeed.cli.progress import run_progress

        with run_progress(as_json) as report:
            run = self.lf.retrigger_run(run_id, progress=report.callback)
            report.ended(run.metrics)
        return run.to_dict()

    def runs(self, flow_id: str | None = None) -> list[Entity]:
        return [r.to_dict() for r in self.lf.runs.list(flow_id)]

    def run(self, id: str) -> Entity:
        return self.lf.runs.get(id).to_dict()

    def datasets(self) -> list[Entity]:
        return [d.to_dict() for d in self.lf.datasets.list()]

    def dataset(self, ref: str) -> Entity:
        return self.lf.datasets.get(ref).to_dict()

    def dataset_details(self, dataset: Entity) -> Entity:
        from lakefeed.datasets.writer import target_file_bytes

        item = self.lf.datasets.get(dataset["id"])
        iceberg = self.lf.datasets.table(item)
        snapshot = iceberg.current_snapshot()
        summary = snapshot.summary if snapshot is not None and snapshot.summary else {}
        return {
            "metadataLocation": iceberg.metadata_location,
            "currentSnapshotId": snapshot.snapshot_id if snapshot is not None else None,
            "rowCount": int(summary.get("total-records", 0)),
            "batchCount": len(self.lf.batches.list(item.id)),
            "maintenance": item.maintenance,
            "targetFileSize": target_file_bytes(iceberg.properties),
        }

    def batch(self, id: str) -> Entity:
        return self.lf.batches.get(id).to_dict()

    def schema(self, id: str) -> Entity:
        return dict(self.lf.schemas.get(id))


class RemoteResources(Resources):
    """A lakefeed server, through :class:`lakefeed.client.Client`. Names work where ids do:
    an id that is not found is looked up as a name."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _by_id_or_name(
        self, ref: str, get: Callable[[str], Entity], listing: Callable[..., Iterable[Entity]]
    ) -> Entity:
        try:
            return get(ref)
        except LakefeedError as exc:
            if not _not_found(exc):
                raise
            named = next((e for e in listing(name=ref) if e.get("name") == ref), None)
            if named is None:
                raise
            return named

    def connection_specs(self) -> list[Entity]:
        return self.client.connection_specs()

    def connections(self) -> list[Entity]:
        return list(self.client.connections())

    def connection(self, ref: str) -> Entity:
        return self._by_id_or_name(ref, self.client.connection, self.client.connections)

    def source_connection(self, id: str) -> Entity:
        return self.client.source_connection(id)

    def target_connection(self, id: str) -> Entity:
        return self.client.target_connection(id)

    def flows(self) -> list[Entity]:
        return list(self.client.flows())

    def flow(self, ref: str) -> Entity:
        return self._by_id_or_name(ref, self.client.flow, self.client.flows)

    def run_flow(self, flow: Entity, *, as_json: bool, retry_failed: bool) -> Entity:
        if retry_failed:
            raise InvalidRequest(
                "--retry-failed works only locally: the REST API has no such run parameter.",
                fix="Run `lakefeed flows run FLOW --retry-failed` without --server.",
            )
        return self._wait(dict(self.client.run_now(flow["id"])), as_json)

    def _wait(self, created: Entity, as_json: bool) -> Entity:
        if not as_json:
            from lakefeed.cli.output import console

            console(stderr=True).print(
                f"Run {created['id']} started on {self.client.base_url}; waiting for it…"
            )
        return self.client.wait_for_run(created["id"], timeout=REMOTE_RUN_TIMEOUT)

    def set_flow_state(self, flow: Entity, state: str) -> Entity:
        self.client.flow_action(flow["id"], "enable" if state == "enabled" else "disable")
        return self.client.flow(flow["id"])

    def backlog(self, flow: Entity, *, refresh: bool) -> Entity:
        return self.client.backlog(flow["id"], refresh=refresh)

    def retrigger(self, run_id: str, *, as_json: bool) -> Entity:
        return self._wait(self.client.retrigger_run(run_id), as_json)

    def runs(self, flow_id: str | None = None) -> list[Entity]:
        return list(self.client.runs(flow_id))

    def run(self, id: str) -> Entity:
        return self.client.run(id)

    def datasets(self) -> list[Entity]:
        return list(self.client.datasets())

    def dataset(self, ref: str) -> Entity:
        return self._by_id_or_name(ref, self.client.dataset, self.client.datasets)

    def dataset_details(self, dataset: Entity) -> Entity:
        # The Catalog has no Iceberg fields: null unless the server adds them.
        details = {k: dataset.get(k) for k in ("metadataLocation", "currentSnapshotId", "rowCount")}
        return {**details, "batchCount": sum(1 for _ in self.client.batches(dataset["id"]))}

    def batch(self, id: str) -> Entity:
        return self.client.batch(id)

    def schema(self, id: str) -> Entity:
        return self.client.schema(id)


def resources() -> Resources:
    """The resources of the running command: the server of ``--server``, else the engine."""
    from lakefeed.cli.context import LazyEngine, engine

    lazy = click.get_current_context().find_object(LazyEngine)
    if lazy is not None and lazy.remote is not None:
        return RemoteResources(lazy.client())
    return LocalResources(engine())
