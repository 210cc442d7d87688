"""``/data/foundation/catalog`` batches: ``/batches``, ``/batches/{id}``, ``/lastBatches``
(the last batch of each dataset) and ``/dataSetFiles`` (what a dataset's ``files`` link
names: the data each committed batch wrote, with links to the Data Access routes that serve
it).

Every filter the Catalog documents for a list is honoured, or refused with a 400 naming it
when lakefeed keeps nothing it could be honoured with; a parameter the Catalog does not
document is refused too (:func:`~lakefeed.api.catalog_query.known_query_only`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from functools import partial
from itertools import islice
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query

from lakefeed.api.catalog_query import (
    Condition,
    keyed,
    known_query_only,
    parse_order_by,
    property_filter,
    refuse,
    simple_filter,
    sort,
    tags_filter,
)
from lakefeed.api.security import Caller, caller
from lakefeed.catalog.batches import BATCH_ORDER, ValueFilter
from lakefeed.datasets.dataset_files import DataSetFile
from lakefeed.engine import Lakefeed
from lakefeed.errors import ResourceNotFound

router = APIRouter(dependencies=[Depends(known_query_only)])

CallerDep = Annotated[Caller, Depends(caller)]
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
EXPORT = "/data/foundation/export"
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1–100).")]
Start = Annotated[int, Query(ge=0, description="How many objects to skip.")]
Properties = Annotated[str | None, Query(description="Comma-separated top-level fields to return.")]
Conditions = Annotated[
    list[str] | None,
    Query(alias="property", description="name, !name, name==x, name!=x, name~re, name<x…"),
]
#: Batch filters on a number, and the field of the batch object each one reads.
NUMERIC_FILTERS = {
    "created": "created",
    "updated": "updated",
    "started": "started",
    "completed": "completed",
    "recordCount": "metrics.inputRecordCount",
    "failedRecordCount": "metrics.failedRecordCount",
    "size": "metrics.inputByteSize",
}
#: Batch filters on text, and the field each one reads.
TEXT_FILTERS = {"batch": "id", "externalId": "externalId", "version": "version"}
#: The largest integer the database takes: a larger ``start`` or time is clamped to it (a
#: start past the end answers ``{}``, a time past every batch's matches none or all).
SQL_INT = 2**63 - 1
AVAILABILITY = ("startAfter", "startBefore", "endAfter", "endBefore")
LAST_BATCH_ORDER = ("created", "updated", "lastBatchStatus", "id")


def _clamped(value: int | None) -> int | None:
    return None if value is None else max(-SQL_INT, min(value, SQL_INT))


def _refused_filters(asked: Mapping[str, str | None]) -> None:
    for name in AVAILABILITY:
        if asked.get(name) is not None:
            raise refuse(
                name,
                "lakefeed batches carry no availableDates (the time range of the data in a batch)",
                "Filter on processing times: createdAfter/createdBefore, or "
                "property=started>… / property=completed<… (epoch ms).",
            )
    for name in ("createdClient", "createdUser", "updatedUser"):
        if asked.get(name) is not None:
            raise refuse(
                name,
                "lakefeed does not record the IMS client or user behind a batch",
                "Filter by flow instead: property=flowId==<flow id>.",
            )


def _connections_of_flows(lf: Lakefeed) -> dict[str, tuple[set[str], set[str]]]:
    """By flow id: the base connection ids and connection spec ids it reads from."""
    flows = lf.flows.list_flows()
    sources = {
        s.id: s
        for s in lf.flows.source_connections({i for f in flows for i in f.source_connection_ids})
    }
    found: dict[str, tuple[set[str], set[str]]] = {}
    for flow in flows:
        used = [sources[i] for i in flow.source_connection_ids if i in sources]
        found[flow.id] = (
            {s.base_connection_id for s in used},
            {s.connection_spec_id for s in used},
        )
    return found


def _linked(lf: Lakefeed, name: str, text: str, index: int) -> Condition:
    """``connection`` (index 0: a base connection id) or ``connector`` (1: a connection spec
    id) through the batch's flow; ``a,b`` any, ``!a`` none."""
    negate = text.startswith("!")
    wanted = {v.strip() for v in text.removeprefix("!").split(",") if v.strip()}
    by_flow = _connections_of_flows(lf)

    def matches(batch: Mapping[str, Any]) -> bool:
        ids = by_flow.get(str(batch.get("flowId")), (set(), set()))[index]
        return bool(ids & wanted) != negate

    return matches


@router.get("/batches")
def list_batches(
    who: CallerDep,
    dataSet: str | None = None,
    status: str | None = None,
    createdAfter: Annotated[int | None, Query(description="Epoch milliseconds.")] = None,
    createdBefore: Annotated[int | None, Query(description="Epoch milliseconds.")] = None,
    created: str | None = None,
    updated: str | None = None,
    started: str | None = None,
    completed: str | None = None,
    recordCount: str | None = None,
    failedRecordCount: str | None = None,
    size: str | None = None,
    batch: str | None = None,
    externalId: str | None = None,
    version: str | None = None,
    connection: str | None = None,
    connector: str | None = None,
    tags: str | None = None,
    startAfter: str | None = None,
    startBefore: str | None = None,
    endAfter: str | None = None,
    endBefore: str | None = None,
    createdClient: str | None = None,
    createdUser: str | None = None,
    updatedUser: str | None = None,
    conditions: Conditions = None,
    orderBy: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    start: Start = 0,
    properties: Properties = None,
) -> dict[str, Any]:
    """Batches keyed by id, oldest first unless ``orderBy`` says otherwise. ``dataSet`` (a
    dataset id), ``status`` (``loading``, ``success``, ``failed``),
    ``createdAfter``/``createdBefore`` (exclusive, epoch ms); simple filters (``a,b`` any,
    ``!a`` none) ``created``, ``updated``, ``started``, ``completed``, ``recordCount``
    (``metrics.inputRecordCount``), ``failedRecordCount``, ``size``
    (``metrics.inputByteSize``), ``batch`` (its id), ``externalId`` (the run id),
    ``version``, ``connection`` (a base connection id) and ``connector`` (a connection spec
    id) of the batch's flow; ``tags=name:value``; ``property=`` conditions. ``startAfter``,
    ``startBefore``, ``endAfter``, ``endBefore``, ``createdClient``, ``createdUser`` and
    ``updatedUser`` are refused with a 400 naming them."""
    asked = locals()
    _refused_filters(asked)
    order = parse_order_by(orderBy, tuple(BATCH_ORDER), "asc:created")
    filters: list[Condition] = [property_filter(c) for c in conditions or []]
    times: dict[str, ValueFilter[float]] = {}
    for name, field in NUMERIC_FILTERS.items():
        if asked[name] is not None:
            condition = simple_filter(name, asked[name], field, numeric=True)  # refuses bad ones
            numbers, negate = _values(asked[name])
            in_sql = name in BATCH_ORDER and all(math.isfinite(float(n)) for n in numbers)
            if in_sql:  # a column of its own: the database filters
                times[name] = ({float(n) for n in numbers}, negate)
            else:
                filters.append(condition)
    for name, field in TEXT_FILTERS.items():
        if asked[name] is not None:
            filters.append(simple_filter(name, asked[name], field))
    statuses: ValueFilter[str] | None = None
    if status is not None:
        simple_filter("status", status)  # refuses an empty one
        texts, negate = _values(status)
        statuses = ({t.strip('"') for t in texts}, negate)
    if tags is not None:
        filters.append(tags_filter(tags))
    for index, name in enumerate(("connection", "connector")):
        if asked[name] is not None:
            filters.append(_linked(who.lf, name, asked[name], index))
    search = partial(
        who.lf.batches.search,
        dataset_id=dataSet,
        statuses=statuses,
        times=times,
        created_after=_clamped(createdAfter),
        created_before=_clamped(createdBefore),
        order=order,
    )
    if not filters:  # the database filters, sorts and pages
        found = search(limit=limit, offset=min(start, SQL_INT))
        return keyed((b.to_dict() for b in found), properties)
    # Only what the database could not filter is loaded (in order), then filtered here.
    kept = [s for s in (b.to_dict() for b in search()) if all(f(s) for f in filters)]
    return keyed(sort(kept, order)[start : start + limit], properties)


def _values(text: str) -> tuple[list[str], bool]:
    """The values of a simple filter ``a,b`` (any) or ``!a,b`` (none), and whether negated."""
    negate = text.startswith("!")
    return [v.strip() for v in text.removeprefix("!").split(",") if v.strip()], negate


@router.get("/batches/{id}")
def get_batch(who: CallerDep, id: str, properties: Properties = None) -> dict[str, Any]:
    """``{"<batchId>": batch}`` with its status, metrics, errors and dataset."""
    return keyed([who.lf.batches.get(id).to_dict()], properties)


# --- last batches ----------------------------------------------------------------------------


@router.get("/lastBatches")
def last_batches(
    who: CallerDep,
    dataSetId: str | None = None,
    lastBatchId: str | None = None,
    lastBatchStatus: str | None = None,
    lastSuccessfulBatchId: str | None = None,
    lastFailedBatchId: str | None = None,
    created: str | None = None,
    updated: str | None = None,
    orderBy: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    start: Start = 0,
    properties: Properties = None,
) -> dict[str, Any]:
    """By dataset id (of the datasets that have batches; ``dataSetId=a,b`` picks some): its
    ``lastBatchId``, ``lastBatchStatus``, ``lastSuccessfulBatchId``, ``lastFailedBatchId``,
    ``imsOrg``, ``sandboxName``, ``created`` (its first batch) and ``updated`` (its last
    batch's last change). The other parameters are simple filters on those fields."""
    asked = locals()
    order = parse_order_by(orderBy, LAST_BATCH_ORDER, "asc:created")
    ids = None
    if dataSetId is not None and not dataSetId.startswith("!"):
        ids = [i.strip() for i in dataSetId.split(",") if i.strip()]
    filters: list[Condition] = []
    if dataSetId is not None:
        filters.append(simple_filter("dataSetId", dataSetId, "id"))
    for name in ("lastBatchId", "lastBatchStatus", "lastSuccessfulBatchId", "lastFailedBatchId"):
        if asked[name] is not None:
            filters.append(simple_filter(name, asked[name]))
    for name in ("created", "updated"):
        if asked[name] is not None:
            filters.append(simple_filter(name, asked[name], numeric=True))
    scope = who.lf.scope
    shapes = [
        {"id": dataset_id, **last, "imsOrg": scope.ims_org_id, "sandboxName": scope.sandbox_name}
        for dataset_id, last in who.lf.batches.last_batches(ids).items()
    ]
    kept = sort([s for s in shapes if all(f(s) for f in filters)], order)
    return keyed(kept[start : start + limit], properties)


# --- dataset files ---------------------------------------------------------------------------


def _dataset_file(found: DataSetFile) -> dict[str, Any]:
    batch = found.batch
    return {
        "id": found.id,
        "dataSetId": batch.dataset_id,
        "batchId": batch.id,
        "dataSetViewId": batch.dataset_id,
        "imsOrg": batch.ims_org_id,
        "sandboxName": batch.sandbox_name,
        "records": found.records,
        "size": found.length,
        "isValid": True,
        "created": batch.completed_at or batch.created_at,
        "updated": batch.updated_at,
        "version": "1.0.0",
        "_links": {
            "self": {"href": f"{EXPORT}/files/{quote(found.id, safe='')}"},
            "batchFiles": {"href": f"{EXPORT}/batches/{quote(batch.id, safe='')}/files"},
        },
    }


def _files_of(lf: Lakefeed, dataset_id: str | None, batch_id: str | None) -> Iterator[DataSetFile]:
    """The dataSetFiles of a dataset, a batch, both or (neither given) every committed batch;
    an unknown dataset or batch has none. Batches are read as the files are reached."""
    files = lf.dataset_files
    try:
        if batch_id is not None:
            found = files.of_batch(batch_id)
            return iter([f for f in found if dataset_id in (None, f.batch.dataset_id)])
        return files.committed(dataset_id)
    except ResourceNotFound:
        return iter([])


@router.get("/dataSetFiles")
def list_dataset_files(
    who: CallerDep,
    dataSetId: str | None = None,
    batchId: str | None = None,
    orderBy: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    start: Start = 0,
    properties: Properties = None,
) -> dict[str, Any]:
    """The data of a dataset (``dataSetId``: what its ``files`` link names) or of a batch
    (``batchId``), keyed by dataSetFile id (``<batchId>-<n>``, one per source file a batch
    converted), oldest batch first: ``records``, ``size`` and ``_links.self``, the Data Access
    route that downloads it (``/data/foundation/export/files/{id}``)."""
    found = _files_of(who.lf, dataSetId, batchId)
    if orderBy is None:  # the page's files only: no batch after the page is read
        end = min(start + limit, sys.maxsize)
        return keyed(map(_dataset_file, islice(found, min(start, end), end)), properties)
    order = parse_order_by(orderBy, ("created", "updated", "id"), "created")
    shapes = sort([_dataset_file(f) for f in found], order)
    return keyed(shapes[start : start + limit], properties)


@router.get("/dataSetFiles/{id}")
def get_dataset_file(who: CallerDep, id: str, properties: Properties = None) -> dict[str, Any]:
    """``{"<dataSetFileId>": dataSetFile}``."""
    return keyed([_dataset_file(who.lf.dataset_files.get(id))], properties)
