"""``/data/foundation/catalog``: datasets and batches, in the Catalog's keyed-object shapes.

Every GET answers an object keyed by id (``{"<id>": {…}}``), lists included; a create answers
``["@/dataSets/<id>"]``. Lists page with ``limit`` (1–100, default 20) and ``start`` (how many
to skip), sort with ``orderBy=desc:created`` (``asc:``/``desc:`` and a field name) and project
with ``properties=name,schemaRef`` (top-level fields; the key stays the id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from lakefeed.api.security import Caller, caller
from lakefeed.catalog.batches import BATCH_ORDER
from lakefeed.datasets.store import DEFAULT_CONTENT_TYPE
from lakefeed.engine import Lakefeed
from lakefeed.errors import InvalidRequest, SchemaNotFound

PREFIX = "/data/foundation/catalog"
router = APIRouter(tags=["catalog"])

CallerDep = Annotated[Caller, Depends(caller)]
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1–100).")]
Start = Annotated[int, Query(ge=0, description="How many objects to skip.")]
Properties = Annotated[str | None, Query(description="Comma-separated top-level fields to return.")]
DATASET_ORDER = ("created", "updated", "name", "id")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SchemaRef(_Body):
    id: str = Field(min_length=1)
    contentType: str | None = None


class DataSetBody(_Body):
    """``POST /dataSets``. ``enableErrorDiagnostics`` and ``fileDescription`` are accepted and
    not kept: diagnostics are a flow option in lakefeed, and every dataset is Parquet in
    Iceberg."""

    name: str = Field(min_length=1)
    description: str | None = None
    schemaRef: SchemaRef
    tags: dict[str, Any] | None = None
    enableErrorDiagnostics: bool | None = None
    fileDescription: dict[str, Any] | None = None


def parse_order(order_by: str | None, allowed: Sequence[str], default: str) -> tuple[str, bool]:
    """``desc:created`` → ``("created", True)``; ``name`` and ``asc:name`` ascend."""
    text = (order_by or default).strip()
    direction, _, field = text.rpartition(":")
    if direction not in ("", "asc", "desc") or field not in allowed:
        raise InvalidRequest(
            f"Invalid orderBy {order_by!r}.",
            fix=f"Use asc:<field> or desc:<field> with a field of {', '.join(allowed)}.",
        )
    return field, direction == "desc"


def keyed(objects: Iterable[dict[str, Any]], properties: str | None) -> dict[str, Any]:
    """Catalog objects keyed by id, each cut to ``properties`` when given."""
    wanted = [p.strip() for p in (properties or "").split(",") if p.strip()]
    return {
        obj["id"]: {k: v for k, v in obj.items() if k in wanted} if wanted else obj
        for obj in objects
    }


# --- datasets ------------------------------------------------------------------------------


@router.post("/dataSets", status_code=201)
def create_dataset(
    who: CallerDep, body: DataSetBody, requestDataSource: str | None = None
) -> list[str]:
    """A dataset (an Iceberg table) with the schema ``schemaRef.id`` (``$id`` or
    ``meta:altId``); answers ``["@/dataSets/<id>"]``. ``requestDataSource`` is ignored."""
    content_type = body.schemaRef.contentType or DEFAULT_CONTENT_TYPE
    if not content_type.startswith("application/vnd.adobe.xed"):
        raise InvalidRequest(
            f"schemaRef.contentType {content_type!r} is not a Schema Registry media type.",
            fix="Use application/vnd.adobe.xed-full+json;version=1.",
        )
    try:
        dataset = who.lf.datasets.create(
            body.name,
            body.schemaRef.id,
            description=body.description or "",
            content_type=content_type,
            tags=body.tags,
        )
    except SchemaNotFound as exc:
        raise InvalidRequest(f"schemaRef.id: {exc.message}", fix=exc.fix) from exc
    return [f"@/dataSets/{dataset.id}"]


@router.get("/dataSets")
def list_datasets(
    who: CallerDep,
    limit: Limit = DEFAULT_LIMIT,
    start: Start = 0,
    orderBy: str | None = None,
    properties: Properties = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Datasets of the caller's sandbox keyed by id, oldest first unless ``orderBy`` says
    otherwise; ``name`` keeps the dataset of that exact name."""
    field, descending = parse_order(orderBy, DATASET_ORDER, "asc:created")
    datasets = [d.to_dict() for d in who.lf.datasets.list() if name is None or d.name == name]
    datasets.sort(key=lambda s: (s[field], s["id"]), reverse=descending)
    page = datasets[start : start + limit]
    # The batch fields of the page's datasets only: batches pile up with schedules.
    fields = who.lf.batches.dataset_fields([d["id"] for d in page])
    return keyed([{**d, **fields.get(d["id"], {})} for d in page], properties)


@router.get("/dataSets/{id}")
def get_dataset(who: CallerDep, id: str, properties: Properties = None) -> dict[str, Any]:
    """``{"<id>": dataSet}``; with ``lastBatchId``, ``lastBatchStatus``,
    ``lastSuccessfulBatch`` and ``lastFailedBatch`` once batches were written."""
    dataset = who.lf.datasets.get(id)
    fields = who.lf.batches.dataset_fields([dataset.id]).get(dataset.id, {})
    return keyed([dataset.to_dict(**fields)], properties)


@router.delete("/dataSets/{id}")
def delete_dataset(who: CallerDep, id: str) -> list[str]:
    """Delete a dataset and its table; refused (400) while a flow writes to it. Answers
    ``["@/dataSets/<id>"]`` as the Catalog does."""
    lf: Lakefeed = who.lf
    dataset = lf.datasets.get(id)
    lf.delete_dataset(dataset.id)
    return [f"@/dataSets/{dataset.id}"]


# --- batches -------------------------------------------------------------------------------


@router.get("/batches")
def list_batches(
    who: CallerDep,
    dataSet: str | None = None,
    status: str | None = None,
    createdAfter: Annotated[int | None, Query(description="Epoch milliseconds.")] = None,
    createdBefore: Annotated[int | None, Query(description="Epoch milliseconds.")] = None,
    orderBy: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    start: Start = 0,
    properties: Properties = None,
) -> dict[str, Any]:
    """Batches keyed by id: ``dataSet`` (a dataset id), ``status`` (``loading``, ``success``,
    ``failed``), ``createdAfter``/``createdBefore`` (exclusive), ``orderBy=desc:created``."""
    field, descending = parse_order(orderBy, tuple(BATCH_ORDER), "asc:created")
    batches = who.lf.batches.search(
        dataset_id=dataSet,
        status=status,
        created_after=createdAfter,
        created_before=createdBefore,
        order_by=field,
        descending=descending,
        limit=limit,
        offset=start,
    )
    return keyed((b.to_dict() for b in batches), properties)


@router.get("/batches/{id}")
def get_batch(who: CallerDep, id: str, properties: Properties = None) -> dict[str, Any]:
    """``{"<batchId>": batch}`` with its status, metrics, errors and dataset."""
    return keyed([who.lf.batches.get(id).to_dict()], properties)
