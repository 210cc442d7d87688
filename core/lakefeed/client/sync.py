"""``Client``: the lakefeed REST API (and Adobe's Flow Service) from Python, on ``httpx``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from lakefeed.client import calls
from lakefeed.client.calls import CATALOG, FLOWSERVICE, Created, Step, filters, query
from lakefeed.client.http import (
    RawStep,
    Reply,
    Request,
    Sleep,
    build,
    make_session,
)

T = TypeVar("T")


class Client:
    """A client of one org and sandbox on a lakefeed server.

    >>> with Client("http://127.0.0.1:8080", api_key=KEY, client_secret=SECRET,
    ...             ims_org_id="ACME@AdobeOrg") as api:                     # doctest: +SKIP
    ...     [c["name"] for c in api.connections()]

    The client secret is exchanged for a token on the first call (and again, once, when a call
    answers 401 because the token expired); or pass ``access_token`` alone. 429 and 5xx answers
    and connection failures are retried ``retries`` times with exponential backoff from
    ``backoff`` seconds, honouring ``Retry-After`` (POST and PATCH only where the server cannot
    have acted: 429, 503, refused connections). Error answers raise the
    :mod:`lakefeed.errors` class of their ``report.code``, else
    :class:`~lakefeed.client.ApiError`. ``transport`` is handed to ``httpx.Client`` (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        client_secret: str | None = None,
        access_token: str | None = None,
        ims_org_id: str,
        sandbox_name: str = "prod",
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._session = make_session(
            base_url,
            api_key=api_key,
            client_secret=client_secret,
            access_token=access_token,
            ims_org_id=ims_org_id,
            sandbox_name=sandbox_name,
            retries=retries,
            backoff=backoff,
        )
        self.base_url = self._session.base_url
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        c = self._session.credentials
        return f"Client({self.base_url!r}, org={c.ims_org_id!r}, sandbox={c.sandbox_name!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _drive(self, step: RawStep[T]) -> T:
        reply: Reply = None
        try:
            while True:
                instruction = step.send(reply)
                if isinstance(instruction, Sleep):
                    time.sleep(instruction.seconds)
                    reply = None
                    continue
                kwargs = build(instruction.request, self._session.credentials)
                try:
                    reply = self._http.request(**kwargs)
                except httpx.TransportError as exc:
                    reply = exc
        except StopIteration as stop:
            result: T = stop.value
            return result

    def _run(self, step: Step[T]) -> T:
        return self._drive(self._session.run(step))

    def send(self, request: Request) -> httpx.Response:
        """One request with the Platform headers, retries and error mapping."""
        return self._drive(self._session.call(request))

    def iter_pages(self, path: str, params: Any = None) -> Iterator[dict[str, Any]]:
        """Every item of a listing at ``path``, page after page (Flow Service ``items`` with
        ``_links.next.href``; export ``data``; Catalog objects keyed by id, with ``id`` added)."""
        pager = calls.Pager(path, params)
        while pager.request is not None:
            response = self.send(pager.request)
            yield from pager.accept(response.json())

    # -- connection specs and connections ------------------------------------------------------

    def connection_specs(self) -> list[dict[str, Any]]:
        return list(self.iter_pages(f"{FLOWSERVICE}/connectionSpecs"))

    def create_connection(
        self,
        name: str,
        spec_id: str,
        auth_spec_name: str,
        params: Mapping[str, Any],
        description: str = "",
    ) -> Created:
        return self._run(
            calls.create_connection(name, spec_id, auth_spec_name, params, description)
        )

    def connection(self, id: str) -> dict[str, Any]:
        return self._run(calls.entity("connections", id))

    def connections(
        self, *properties: str, limit: int | None = None, orderby: str | None = None, **equal: Any
    ) -> Iterator[dict[str, Any]]:
        """Connections matching every ``property`` expression (``"state==enabled"``) and
        keyword (``name="raw"``; ``connectionSpec__id=…`` for ``connectionSpec.id``)."""
        params = query(filters(properties, equal), limit=limit, orderby=orderby)
        return self.iter_pages(f"{FLOWSERVICE}/connections", params)

    def test_connection(self, id: str) -> dict[str, Any]:
        return self._run(calls.test_connection(id))

    def explore(
        self,
        id: str,
        object_type: str,
        obj: str | None = None,
        preview: bool = False,
        file_type: str | None = None,
    ) -> Any:
        return self._run(calls.explore(id, object_type, obj, preview, file_type))

    def patch_connection(self, id: str, ops: Sequence[Mapping[str, Any]], etag: str) -> Created:
        return self._run(calls.patch("connections", id, ops, etag))

    def delete_connection(self, id: str) -> None:
        self._run(calls.delete("connections", id))

    # -- source and target connections, flows --------------------------------------------------

    def create_source_connection(
        self,
        name: str,
        base_connection_id: str,
        path: str,
        *,
        recursive: bool = False,
        data_format: str = "parquet",
        schema_id: str | None = None,
        connection_spec_id: str | None = None,
        description: str = "",
    ) -> Created:
        """What to read: ``path`` (file, folder or glob) on a base connection, in
        ``data_format``; ``connection_spec_id`` defaults to the base connection's."""
        return self._run(
            calls.create_source_connection(
                name,
                base_connection_id,
                path,
                recursive=recursive,
                data_format=data_format,
                schema_id=schema_id,
                connection_spec_id=connection_spec_id,
                description=description,
            )
        )

    def source_connection(self, id: str) -> dict[str, Any]:
        return self._run(calls.entity("sourceConnections", id))

    def create_target_connection(
        self,
        name: str,
        dataset_id: str,
        *,
        schema_id: str | None = None,
        base_connection_id: str | None = None,
        data_format: str = "parquet_xdm",
        description: str = "",
    ) -> Created:
        """Where rows go: a dataset; ``schema_id`` defaults to the dataset's schema."""
        return self._run(
            calls.create_target_connection(
                name,
                dataset_id,
                schema_id=schema_id,
                base_connection_id=base_connection_id,
                data_format=data_format,
                description=description,
            )
        )

    def target_connection(self, id: str) -> dict[str, Any]:
        return self._run(calls.entity("targetConnections", id))

    def create_flow(
        self,
        name: str,
        source_connection_id: str,
        target_connection_id: str,
        *,
        schedule: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        transformations: Sequence[Mapping[str, Any]] = (),
        description: str = "",
    ) -> Created:
        """A flow; ``schedule`` is ``scheduleParams`` (default: once, now), ``options`` the
        flow options (``partialIngestionPercent``, ``errorDiagnosticsEnabled``)."""
        return self._run(
            calls.create_flow(
                name,
                source_connection_id,
                target_connection_id,
                schedule=schedule,
                options=options,
                transformations=transformations,
                description=description,
            )
        )

    def flow(self, id: str) -> dict[str, Any]:
        return self._run(calls.entity("flows", id))

    def flows(
        self, *properties: str, limit: int | None = None, orderby: str | None = None, **equal: Any
    ) -> Iterator[dict[str, Any]]:
        params = query(filters(properties, equal), limit=limit, orderby=orderby)
        return self.iter_pages(f"{FLOWSERVICE}/flows", params)

    def flow_action(self, id: str, op: str) -> Created:
        """``op``: ``enable`` or ``disable``."""
        return self._run(calls.flow_action(id, op))

    # -- runs ----------------------------------------------------------------------------------

    def run_now(self, flow_id: str) -> Created:
        """Run any enabled flow now (lakefeed's ``POST /flows/{id}/runs``); the run's id."""
        return self._run(calls.run_now(flow_id))

    def retrigger_run(self, run_id: str) -> dict[str, Any]:
        """Run a failed run's window again; the new run (``{id, etag}`` at least)."""
        return self._run(calls.retrigger_run(run_id))

    def backlog(self, flow_id: str, refresh: bool = False) -> dict[str, Any]:
        """Files the flow has discovered but not ingested; ``refresh`` lists the source now."""
        return self._run(calls.backlog(flow_id, refresh))

    def create_run(self, flow_id: str, params: Mapping[str, Any] | None = None) -> Created:
        """Run a ``once`` flow now (``params``: startTime, windowStartTime, windowEndTime)."""
        return self._run(calls.create_run(flow_id, params))

    def run(self, id: str) -> dict[str, Any]:
        return self._run(calls.entity("runs", id))

    def runs(
        self, flow_id: str | None = None, *properties: str, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        wanted = [*properties, *([f"flowId=={flow_id}"] if flow_id else [])]
        return self.iter_pages(f"{FLOWSERVICE}/runs", query(wanted, limit=limit))

    def wait_for_run(
        self, run_id: str, timeout: float = 600.0, poll: float = 1.0
    ) -> dict[str, Any]:
        """The run once completed (success or failed); RunWaitTimeout after ``timeout`` s."""
        return self._run(calls.wait_for_run(run_id, timeout, poll))

    # -- schemas, datasets, batches ------------------------------------------------------------

    def create_schema(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._run(calls.create_schema(body))

    def schema(self, id: str, full: bool = False, kind: str = "schemas") -> dict[str, Any]:
        """A registry resource by ``$id`` or ``meta:altId`` (``kind``: schemas, classes,
        fieldgroups, datatypes); ``full`` resolves its ``$ref``s."""
        return self._run(calls.schema(id, full, kind))

    def create_dataset(self, name: str, schema_id: str, description: str = "") -> str:
        """The new dataset's id."""
        return self._run(calls.create_dataset(name, schema_id, description))

    def dataset(self, id: str) -> dict[str, Any]:
        return self._run(calls.dataset(id))

    def datasets(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Catalog filters as they are: ``name=``, ``orderBy=``, ``properties=``, …"""
        return self.iter_pages(f"{CATALOG}/dataSets", query(**params))

    def batches(self, dataset_id: str | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages(f"{CATALOG}/batches", query(dataSet=dataset_id, **params))

    def batch(self, id: str) -> dict[str, Any]:
        return self._run(calls.catalog_object("batches", id))

    def row_errors(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The rejected rows of a batch: each ``{_corrupt_record, _errors, _filename, …}``."""
        for listed in self.iter_pages(*calls.row_error_listing(batch_id)):
            response = self.send(calls.row_error_file(batch_id, listed))
            yield from calls.json_lines(response.text)
