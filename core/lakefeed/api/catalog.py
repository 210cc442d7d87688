"""``/data/foundation/catalog``: datasets, in the Catalog's keyed-object shapes; batches are
:mod:`lakefeed.api.catalog_batches`'.

Every GET answers an object keyed by id (``{"<id>": {…}}``), lists included; a create or an
update answers ``["@/dataSets/<id>"]``. Lists page with ``limit`` (1–100, default 20; 20 at
most when ``properties`` asks for ``observableSchema``) and ``start`` (how many to skip), sort
with ``orderBy=name,desc:created``, filter as :mod:`lakefeed.api.catalog_query` describes and
project with ``properties=name,schemaRef`` (top-level fields; the key stays the id). A query
parameter a route does not know is refused with a 400 naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from lakefeed.api import catalog_batches
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
    wanted_properties,
)
from lakefeed.api.patch import IfMatch, apply_patch, check_delete_etag, check_etag
from lakefeed.api.security import Caller, caller
from lakefeed.catalog.datasets import Dataset
from lakefeed.datasets.store import DEFAULT_CONTENT_TYPE
from lakefeed.engine import Lakefeed
from lakefeed.errors import DatasetSchemaFixed, InvalidRequest, ResourceNotFound, SchemaNotFound

PREFIX = "/data/foundation/catalog"
router = APIRouter(tags=["catalog"], dependencies=[Depends(known_query_only)])

CallerDep = Annotated[Caller, Depends(caller)]
DEFAULT_LIMIT = catalog_batches.DEFAULT_LIMIT
#: Adobe's cap on a page of datasets that carry their ``observableSchema``.
OBSERVABLE_LIMIT = 20
Limit = catalog_batches.Limit
Start = catalog_batches.Start
Properties = catalog_batches.Properties
Conditions = catalog_batches.Conditions
DATASET_ORDER = ("created", "updated", "name", "description", "id")
#: Fields a dataset update may change.
CHANGEABLE = ("name", "description", "tags")
BEHAVIORS = {
    "https://ns.adobe.com/xdm/data/time-series": "time-series",
    "https://ns.adobe.com/xdm/data/record": "record",
}
NOT_RECORDED = "lakefeed does not record the IMS client or user behind a change"


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


class DataSetView:
    """Catalog ``dataSet`` objects of one request: the batch fields and, from the schema,
    ``classification.dataBehavior`` and (when asked) ``observableSchema``."""

    def __init__(self, lf: Lakefeed, properties: str | None) -> None:
        self.lf = lf
        self.observable = "observableSchema" in wanted_properties(properties)
        self._schemas: dict[str, dict[str, Any] | None] = {}

    def _schema(self, schema_id: str) -> dict[str, Any] | None:
        if schema_id not in self._schemas:
            try:
                self._schemas[schema_id] = self.lf.schemas.resolve(schema_id)
            except ResourceNotFound:
                self._schemas[schema_id] = None
        return self._schemas[schema_id]

    def objects(self, datasets: list[Dataset]) -> list[dict[str, Any]]:
        fields = self.lf.batches.dataset_fields([d.id for d in datasets])
        return [self.object(d, fields.get(d.id, {})) for d in datasets]

    def object(self, dataset: Dataset, batch_fields: Mapping[str, Any]) -> dict[str, Any]:
        shape = dataset.to_dict(**batch_fields)
        schema = self._schema(dataset.schema_id)
        if schema is not None:
            extends = schema.get("meta:extends") or []
            behavior = next((BEHAVIORS[b] for b in BEHAVIORS if b in extends), "adhoc")
            shape["classification"] = {"dataBehavior": behavior, "managedBy": "CUSTOMER"}
            if self.observable:
                shape["observableSchema"] = {
                    "type": "object",
                    "meta:xdmType": "object",
                    "properties": schema.get("properties", {}),
                }
        return shape


# --- datasets ------------------------------------------------------------------------------


@router.post("/dataSets", status_code=201)
def create_dataset(
    who: CallerDep, body: DataSetBody, requestDataSource: str | None = None
) -> list[str]:
    """A dataset (an Iceberg table) with the schema ``schemaRef.id`` (``$id`` or
    ``meta:altId``); answers ``["@/dataSets/<id>"]``. ``requestDataSource`` is ignored."""
    content_type = body.schemaRef.contentType or DEFAULT_CONTENT_TYPE
    if not content_type.startswith(("application/vnd.adobe.xed", "application/vnd.adobe.xdm")):
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
            tags=None if body.tags is None else _tags(body.tags),
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
    conditions: Conditions = None,
    name: str | None = None,
    description: str | None = None,
    tags: str | None = None,
    created: str | None = None,
    updated: str | None = None,
    version: str | None = None,
    createdClient: str | None = None,
    createdUser: str | None = None,
    updatedUser: str | None = None,
    enableErrorDiagnostics: str | None = None,
) -> dict[str, Any]:
    """Datasets of the caller's sandbox keyed by id, oldest first unless ``orderBy`` says
    otherwise. Simple filters ``name`` (``*`` wildcards), ``description``, ``created``,
    ``updated``, ``version`` (``a,b`` any; ``!a`` none), ``tags=name:value``, and
    ``property=`` conditions; ``createdClient``, ``createdUser``, ``updatedUser`` and
    ``enableErrorDiagnostics`` are refused (lakefeed keeps none of them)."""
    for asked, value in (
        ("createdClient", createdClient),
        ("createdUser", createdUser),
        ("updatedUser", updatedUser),
    ):
        if value is not None:
            raise refuse(asked, NOT_RECORDED, "Filter with name, tags, created or property=.")
    if enableErrorDiagnostics is not None:
        raise refuse(
            "enableErrorDiagnostics",
            "datasets do not keep it (error diagnostics are a flow option in lakefeed)",
            "Drop it; a flow's options say whether it keeps rejected rows.",
        )
    order = parse_order_by(orderBy, DATASET_ORDER, "asc:created")
    filters: list[Condition] = [property_filter(c) for c in conditions or []]
    if name is not None:
        filters.append(simple_filter("name", name, wildcard=True))
    if description is not None:
        filters.append(simple_filter("description", description))
    if version is not None:
        filters.append(simple_filter("version", version))
    for asked, value in (("created", created), ("updated", updated)):
        if value is not None:
            filters.append(simple_filter(asked, value, numeric=True))
    if tags is not None:
        filters.append(tags_filter(tags))
    view = DataSetView(who.lf, properties)
    if view.observable:
        limit = min(limit, OBSERVABLE_LIMIT)
    datasets = {d.id: d for d in who.lf.datasets.list()}
    shapes = [d.to_dict() for d in datasets.values()]
    if conditions:  # a condition may name a batch field: every dataset's, in one query
        fields = who.lf.batches.dataset_fields()
        shapes = [{**s, **fields.get(s["id"], {})} for s in shapes]
    kept = sort([s for s in shapes if all(f(s) for f in filters)], order)
    # The batch and schema fields of the page's datasets only: batches pile up with schedules.
    page = [datasets[s["id"]] for s in kept[start : start + limit]]
    return keyed(view.objects(page), properties)


@router.get("/dataSets/{id}")
def get_dataset(who: CallerDep, id: str, properties: Properties = None) -> dict[str, Any]:
    """``{"<id>": dataSet}``; with ``lastBatchId``, ``lastBatchStatus``,
    ``lastSuccessfulBatch`` and ``lastFailedBatch`` once batches were written,
    ``classification.dataBehavior`` from the schema, and ``observableSchema`` when
    ``properties`` names it."""
    dataset = who.lf.datasets.get(id)
    return keyed(DataSetView(who.lf, properties).objects([dataset]), properties)


def _same_schema(lf: Lakefeed, dataset: Dataset, ref: Any) -> bool:
    wanted = ref.get("id") if isinstance(ref, Mapping) else ref
    if wanted in (None, dataset.schema_id):
        return True
    try:
        return bool(lf.schemas.get(str(wanted))["$id"] == dataset.schema_id)
    except ResourceNotFound:
        return False


def _schema_fixed(dataset: Dataset) -> DatasetSchemaFixed:
    return DatasetSchemaFixed(
        f"The schema of dataset {dataset.id} cannot change (it is {dataset.schema_id}): its "
        "table was created from it.",
        fix="Leave schemaRef out (only name, description and tags change), or create a new "
        "dataset with the other schema.",
    )


def _changes(body: Mapping[str, Any]) -> dict[str, Any]:
    """``name``, ``description`` and ``tags`` of an update body, type-checked."""
    changes: dict[str, Any] = {}
    for field, kind, noun in (("name", str, "text"), ("description", str, "text")):
        if field in body:
            if not isinstance(body[field], kind):
                raise InvalidRequest(f"{field} must be {noun}.", fix=f"Send {field} as a string.")
            changes[field] = body[field]
    if "tags" in body:
        changes["tags"] = _tags(body["tags"])
    return changes


def _tags(tags: Any) -> dict[str, list[str]]:
    """``tags`` as the Catalog keeps them, an object of tag names to lists of strings; 400
    naming the first tag of another shape."""
    fix = 'Send tags like {"team": ["growth"]}.'
    if not isinstance(tags, Mapping):
        raise InvalidRequest("tags must be an object of tag names to lists of values.", fix=fix)
    for name, values in tags.items():
        if not str(name).strip():
            raise InvalidRequest("A tag name cannot be empty.", fix=fix)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidRequest(
                f"Tag {str(name)[:100]!r} is {json.dumps(values)[:100]}, not a list of strings.",
                fix=fix,
            )
    return dict(tags)


def _updated(
    lf: Lakefeed, dataset: Dataset, changes: Mapping[str, Any], etag: str | None
) -> list[str]:
    if etag:
        check_etag(etag, dataset.etag)
    lf.datasets.update(dataset.id, etag=dataset.etag if etag else None, **changes)
    return [f"@/dataSets/{dataset.id}"]


@router.put("/dataSets/{id}")
def replace_dataset(
    who: CallerDep, id: str, etag: IfMatch, body: Annotated[Any, Body()] = None
) -> list[str]:
    """Replace what a dataset's owner may change: ``name`` (required), ``description`` and
    ``tags`` (absent: emptied). ``schemaRef`` may be sent only unchanged; the other fields of
    a GET (``created``, ``files``, …) are ignored. ``If-Match`` (or ``?if-match=``) is checked
    when given. Answers ``["@/dataSets/<id>"]``."""
    dataset = who.lf.datasets.get(id)
    if not isinstance(body, Mapping):
        raise InvalidRequest(
            "A PUT body is the dataset as a JSON object.",
            fix='Send {"name": …, "description": …, "tags": {…}}.',
        )
    if not _same_schema(who.lf, dataset, body.get("schemaRef")):
        raise _schema_fixed(dataset)
    if "name" not in body:
        raise InvalidRequest("A PUT body needs the dataset's name.", fix="Add name.")
    changes = {"description": "", "tags": {}, **_changes(body)}
    return _updated(who.lf, dataset, changes, etag)


@router.patch("/dataSets/{id}")
def patch_dataset(
    who: CallerDep, id: str, etag: IfMatch, body: Annotated[Any, Body()] = None
) -> list[str]:
    """Change ``name``, ``description`` or ``tags``: a JSON object of those fields, or a JSON
    Patch array on ``/name``, ``/description``, ``/tags…``. ``schemaRef`` (or any other
    field) cannot change: 400 naming it. ``If-Match`` is checked when given."""
    dataset = who.lf.datasets.get(id)
    if isinstance(body, list):
        for operation in body:
            path = str(operation.get("path", "")) if isinstance(operation, Mapping) else ""
            if path.split("/")[1:2] in (["schemaRef"], ["schema"]):
                raise _schema_fixed(dataset)
        current = {"name": dataset.name, "description": dataset.description, "tags": dataset.tags}
        patched = apply_patch(current, body, [f"/{field}" for field in CHANGEABLE])
        if "name" not in patched:
            raise InvalidRequest(
                "A dataset's name cannot be removed.",
                fix='Replace it instead: {"op": "replace", "path": "/name", "value": "…"}.',
            )
        # A removed description or tags is emptied, as a PUT without them does.
        changes = {"description": "", "tags": {}, **_changes(patched)}
    elif isinstance(body, Mapping):
        if not _same_schema(who.lf, dataset, body.get("schemaRef", body.get("schema"))):
            raise _schema_fixed(dataset)
        others = [k for k in body if k not in (*CHANGEABLE, "schemaRef", "schema")]
        if others:
            raise InvalidRequest(
                f"{', '.join(others)} cannot be changed (changeable: {', '.join(CHANGEABLE)}).",
                fix="Send only name, description and tags.",
            )
        changes = _changes(body)
    else:
        raise InvalidRequest(
            "A PATCH body is a JSON object of the fields to change, or a JSON Patch array.",
            fix='Send {"description": "…"} or [{"op": "replace", "path": "/name", "value": …}].',
        )
    return _updated(who.lf, dataset, changes, etag)


@router.delete("/dataSets/{id}")
def delete_dataset(who: CallerDep, id: str, etag: IfMatch) -> list[str]:
    """Delete a dataset and its table; refused (400) while a flow writes to it, and (412)
    when ``If-Match`` (or ``?if-match=``) is sent and is not its current etag. Answers
    ``["@/dataSets/<id>"]`` as the Catalog does."""
    lf: Lakefeed = who.lf
    dataset = lf.datasets.get(id)
    check_delete_etag(etag, dataset.etag)
    lf.delete_dataset(dataset.id, if_match=etag)
    return [f"@/dataSets/{dataset.id}"]


router.include_router(catalog_batches.router)
