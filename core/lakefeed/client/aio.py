# The source of sync.py: edit this file, then run `python -m lakefeed.client._generate`.
"""``AsyncClient``: the lakefeed REST API (and Adobe's Flow Service) from async Python, on
``httpx``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from lakefeed.client import calls
from lakefeed.client.calls import CATALOG, CONVERSION, FLOWSERVICE, Created, Step, filters, query
from lakefeed.client.http import (
    AnswerBody,
    RawStep,
    Reply,
    Request,
    Sleep,
    build,
    make_session,
)

T = TypeVar("T")


class AsyncClient:
    """A client of one org and sandbox on a lakefeed server.

    >>> async with AsyncClient(URL, api_key=KEY, client_secret=SECRET, ims_org_id=ORG) as api:
    ...     names = [c["name"] async for c in api.connections()]  # doctest: +SKIP

    Methods answer the Flow Service entity dicts; listings (``connections()``, ``flows()``,
    ``runs()``, ``datasets()``, ``batches()``, ``row_errors()``, ``mapping_sets()``,
    ``iter_pages()``) are
    async iterators that fetch page after page. The client secret is exchanged for a token on
    the first call (and again, once, when a call answers 401 because the token expired); or pass
    ``access_token`` alone. 429 and 5xx answers and connection failures are retried ``retries``
    times with exponential backoff from ``backoff`` seconds, honouring ``Retry-After`` (POST and
    PATCH only where the server cannot have acted: 429, 503, refused connections). Error answers
    raise the :mod:`lakefeed.errors` class of their ``report.code``, else
    :class:`~lakefeed.client.ApiError`. ``transport`` is handed to ``httpx.AsyncClient`` (tests).
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        c = self._session.credentials
        return f"AsyncClient({self.base_url!r}, org={c.ims_org_id!r}, sandbox={c.sandbox_name!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ------------------------------------------------------------------------------

    async def _drive(self, step: RawStep[T]) -> T:
        reply: Reply = None
        try:
            while True:
                instruction = step.send(reply)
                if isinstance(instruction, Sleep):
                    await asyncio.sleep(instruction.seconds)
                    reply = None
                    continue
                kwargs = build(instruction.request, self._session.credentials)
                try:
                    async with self._http.stream(**kwargs) as streamed:
                        body = AnswerBody(streamed)
                        async for chunk in streamed.aiter_bytes():
                            body.add(chunk)
                    reply = body.response()
                except httpx.TransportError as exc:
                    reply = exc
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _run(self, step: Step[T]) -> T:
        return await self._drive(self._session.run(step))

    async def send(self, request: Request) -> httpx.Response:
        """One request with the Platform headers, retries and error mapping."""
        return await self._drive(self._session.call(request))

    async def iter_pages(self, path: str, params: Any = None) -> AsyncIterator[dict[str, Any]]:
        """Every item of a listing at ``path``, page after page (Flow Service ``items`` with
        ``_links.next.href``; export ``data``; Catalog objects keyed by id, with ``id`` added)."""
        pager = calls.Pager(path, params)
        while pager.request is not None:
            response = await self.send(pager.request)
            for item in pager.read(response):
                yield item

    # -- connection specs and connections ------------------------------------------------------

    async def connection_specs(self) -> list[dict[str, Any]]:
        return [spec async for spec in self.iter_pages(f"{FLOWSERVICE}/connectionSpecs")]

    async def create_connection(
        self,
        name: str,
        spec_id: str,
        auth_spec_name: str,
        params: Mapping[str, Any],
        description: str = "",
    ) -> Created:
        return await self._run(
            calls.create_connection(name, spec_id, auth_spec_name, params, description)
        )

    async def connection(self, id: str) -> dict[str, Any]:
        return await self._run(calls.entity("connections", id))

    def connections(
        self, *properties: str, limit: int | None = None, orderby: str | None = None, **equal: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Connections matching every ``property`` expression (``"state==enabled"``) and
        keyword (``name="raw"``; ``connectionSpec__id=…`` for ``connectionSpec.id``)."""
        params = query(filters(properties, equal), limit=limit, orderby=orderby)
        return self.iter_pages(f"{FLOWSERVICE}/connections", params)

    async def test_connection(self, id: str) -> dict[str, Any]:
        return await self._run(calls.test_connection(id))

    async def explore(
        self,
        id: str,
        object_type: str,
        obj: str | None = None,
        preview: bool = False,
        file_type: str | None = None,
    ) -> Any:
        return await self._run(calls.explore(id, object_type, obj, preview, file_type))

    async def patch_connection(
        self,
        id: str,
        ops: Sequence[Mapping[str, Any]],
        etag: str,
    ) -> Created:
        return await self._run(calls.patch("connections", id, ops, etag))

    async def delete_connection(self, id: str) -> None:
        await self._run(calls.delete("connections", id))

    # -- source and target connections, flows --------------------------------------------------

    async def create_source_connection(
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
        return await self._run(
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

    async def source_connection(self, id: str) -> dict[str, Any]:
        return await self._run(calls.entity("sourceConnections", id))

    async def create_target_connection(
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
        return await self._run(
            calls.create_target_connection(
                name,
                dataset_id,
                schema_id=schema_id,
                base_connection_id=base_connection_id,
                data_format=data_format,
                description=description,
            )
        )

    async def target_connection(self, id: str) -> dict[str, Any]:
        return await self._run(calls.entity("targetConnections", id))

    async def create_flow(
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
        return await self._run(
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

    async def flow(self, id: str) -> dict[str, Any]:
        return await self._run(calls.entity("flows", id))

    def flows(
        self, *properties: str, limit: int | None = None, orderby: str | None = None, **equal: Any
    ) -> AsyncIterator[dict[str, Any]]:
        params = query(filters(properties, equal), limit=limit, orderby=orderby)
        return self.iter_pages(f"{FLOWSERVICE}/flows", params)

    async def flow_action(self, id: str, op: str) -> Created:
        """``op``: ``enable`` or ``disable``."""
        return await self._run(calls.flow_action(id, op))

    # -- runs ----------------------------------------------------------------------------------

    async def run_now(self, flow_id: str) -> Created:
        """Run any enabled flow now (lakefeed's ``POST /flows/{id}/runs``); the run's id."""
        return await self._run(calls.run_now(flow_id))

    async def retrigger_run(self, run_id: str) -> dict[str, Any]:
        """Run a failed run's window again; the new run (``{id, etag}`` at least)."""
        return await self._run(calls.retrigger_run(run_id))

    async def backlog(self, flow_id: str, refresh: bool = False) -> dict[str, Any]:
        """Files the flow has discovered but not ingested; ``refresh`` lists the source now."""
        return await self._run(calls.backlog(flow_id, refresh))

    async def create_run(self, flow_id: str, params: Mapping[str, Any] | None = None) -> Created:
        """Run a ``once`` flow now (``params``: startTime, windowStartTime, windowEndTime)."""
        return await self._run(calls.create_run(flow_id, params))

    async def run(self, id: str) -> dict[str, Any]:
        return await self._run(calls.entity("runs", id))

    def runs(
        self, flow_id: str | None = None, *properties: str, limit: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        wanted = [*properties, *([f"flowId=={flow_id}"] if flow_id else [])]
        return self.iter_pages(f"{FLOWSERVICE}/runs", query(wanted, limit=limit))

    async def wait_for_run(
        self, run_id: str, timeout: float = 600.0, poll: float = 1.0
    ) -> dict[str, Any]:
        """The run once completed (success or failed); RunWaitTimeout after ``timeout`` s."""
        return await self._run(calls.wait_for_run(run_id, timeout, poll))

    # -- schemas, datasets, batches ------------------------------------------------------------

    async def create_schema(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._run(calls.create_schema(body))

    async def schema(self, id: str, full: bool = False, kind: str = "schemas") -> dict[str, Any]:
        """A registry resource by ``$id`` or ``meta:altId`` (``kind``: schemas, classes,
        fieldgroups, datatypes); ``full`` resolves its ``$ref``s."""
        return await self._run(calls.schema(id, full, kind))

    async def create_dataset(self, name: str, schema_id: str, description: str = "") -> str:
        """The new dataset's id."""
        return await self._run(calls.create_dataset(name, schema_id, description))

    async def dataset(self, id: str) -> dict[str, Any]:
        return await self._run(calls.dataset(id))

    def datasets(self, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Catalog filters as they are: ``name=``, ``orderBy=``, ``properties=``, …"""
        return self.iter_pages(f"{CATALOG}/dataSets", query(**params))

    def batches(
        self,
        dataset_id: str | None = None,
        **params: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        return self.iter_pages(f"{CATALOG}/batches", query(dataSet=dataset_id, **params))

    async def batch(self, id: str) -> dict[str, Any]:
        return await self._run(calls.catalog_object("batches", id))

    async def row_errors(self, batch_id: str) -> AsyncIterator[dict[str, Any]]:
        """The rejected rows of a batch: each ``{_corrupt_record, _errors, _filename, …}``."""
        async for listed in self.iter_pages(*calls.row_error_listing(batch_id)):
            response = await self.send(calls.row_error_file(batch_id, listed))
            for record in calls.records_of(response):
                yield record

    # -- mapping sets (Data Prep) --------------------------------------------------------------

    async def create_mapping_set(self, mapping_set: Mapping[str, Any]) -> dict[str, Any]:
        """Store a mapping set (``outputSchema``, ``mappings``, …) as version 0; the answer
        is ``{id, version, createdDate, modifiedDate, createdBy, modifiedBy}``."""
        return await self._run(calls.create_mapping_set(mapping_set))

    async def mapping_set(
        self, id: str, version: int | None = None, expand_schema: bool = False
    ) -> dict[str, Any]:
        """One version of a mapping set (default: the latest); ``expand_schema`` adds the
        output schema's resolved view."""
        return await self._run(calls.mapping_set(id, version, expand_schema))

    def mapping_sets(
        self, name: str | None = None, order_by: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The latest version of each mapping set; ``order_by``: ``createdDate`` or
        ``updatedDate``, ``-`` first for newest first (the server's default: ``-updatedDate``)."""
        params = query(name=name, orderBy=order_by, limit=100)
        return self.iter_pages(f"{CONVERSION}/mappingSets", params)

    async def update_mapping_set(self, id: str, mapping_set: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``mapping_set`` as the next version of mapping set ``id``; the new version."""
        return await self._run(calls.update_mapping_set(id, mapping_set))

    async def delete_mapping_set(self, id: str) -> None:
        """Delete every version (refused while a flow applies the mapping set)."""
        await self._run(calls.delete_mapping_set(id))

    async def validate_mapping_set(
        self, mapping_set: Mapping[str, Any], data: Any = None
    ) -> dict[str, Any]:
        """The problems of a mapping set, per mapping (``status`` SUCCESS or FAILED); ``data``:
        sample rows whose fields are the source's, when it has no ``inputSchema``."""
        return await self._run(calls.check_mapping_set("validate", mapping_set, data))

    async def preview_mapping_set(
        self,
        mapping_set: Mapping[str, Any],
        data: Any,
    ) -> dict[str, Any]:
        """Sample rows ``data`` as the mapping set maps them: ``{data, errors}``."""
        return await self._run(calls.check_mapping_set("preview", mapping_set, data))
