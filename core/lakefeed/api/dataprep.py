"""``/data/foundation/conversion``: Data Prep mapping sets, in the shapes of Adobe's Mapping
Service API.

A create answers 201 ``{id, version, createdDate, modifiedDate, createdBy, modifiedBy}``; an
update (PUT) stores the next version and answers it whole; GET takes ``?version=N`` (default:
the latest). Lists answer ``{"data": [...], "_page": {"count", "limit"}, "_links": {"next"}}``
and page with ``start`` and ``limit``. Validation and preview store nothing.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Query, Response

from lakefeed.api.security import Caller, caller
from lakefeed.catalog.mapping_sets import MappingSet
from lakefeed.errors import ResourceNotFound
from lakefeed.mappings.documents import split_request

PREFIX = "/data/foundation/conversion"
router = APIRouter(tags=["dataprep"])

CallerDep = Annotated[Caller, Depends(caller)]
Document = Annotated[dict[str, Any], Body()]
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
#: Versions are SQL integers: a larger number names none, and is refused before the query.
MAX_VERSION = 2**31 - 1
Version = Annotated[
    int | None, Query(ge=0, le=MAX_VERSION, description="A version (default: the latest).")
]
ExpandSchema = Annotated[
    bool, Query(description="Add the output schema's xed-full view as outputSchema.jsonSchema.")
]


def _render(who: Caller, mapping_set: MappingSet, expand: bool) -> dict[str, Any]:
    body = mapping_set.to_dict()
    if expand:
        expanded = who.lf.mapping_set_service.expanded_output_schema(mapping_set)
        if expanded is not None:
            body["outputSchema"] = {**body["outputSchema"], "jsonSchema": expanded}
    return body


@router.post("/mappingSets", status_code=201)
def create_mapping_set(who: CallerDep, body: Document) -> dict[str, Any]:
    """A mapping set (version 0); 400 naming a mapping with bad syntax, an unknown function
    or a destination the output schema lacks."""
    return who.lf.create_mapping_set(body, actor=who.client.api_key).summary()


@router.get("/mappingSets")
def list_mapping_sets(
    who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    start: Annotated[int, Query(ge=0)] = 0,
    name: str | None = None,
    orderBy: str | None = None,
    expandSchema: ExpandSchema = False,
) -> dict[str, Any]:
    """The latest version of each mapping set, newest update first unless ``orderBy`` says
    otherwise (``createdDate``/``updatedDate``, ``-`` first for descending); ``name`` keeps
    the sets of that name."""
    found = who.lf.mapping_sets(name=name, order_by=orderBy)
    page = found[start : start + limit]
    links: dict[str, Any] = {}
    if start + limit < len(found):
        query = {"start": start + limit, "limit": limit, "name": name, "orderBy": orderBy}
        shown = {k: v for k, v in query.items() if v is not None}
        if expandSchema:
            shown["expandSchema"] = "true"
        links["next"] = {"href": f"{PREFIX}/mappingSets?{urlencode(shown)}"}
    return {
        "data": [_render(who, s, expandSchema) for s in page],
        "_page": {"count": len(found), "limit": limit},
        "_links": links,
    }


@router.post("/mappingSets/validate")
def validate_mapping_set(who: CallerDep, body: Document) -> dict[str, Any]:
    """Every problem of a mapping set, per mapping (200 either way): bad syntax, unknown
    functions, destinations the output schema lacks and, given ``inputSchema`` or sample rows
    (``data``), source attributes the source lacks. Nothing is stored."""
    mapping_set, data = split_request(body)
    return who.lf.validate_mapping_set(mapping_set, data=data).to_dict()


@router.post("/mappingSets/preview")
def preview_mapping_set(who: CallerDep, body: Document) -> dict[str, Any]:
    """``{"mappingSet": …, "data": [rows]}``: the rows as the mapping set maps them, and the
    values that failed (row, destination, message). Nothing is stored."""
    mapping_set, data = split_request(body)
    return who.lf.preview_mapping_set(mapping_set, data if data is not None else []).to_dict()


@router.get("/mappingSets/{id}")
def get_mapping_set(
    who: CallerDep, id: str, version: Version = None, expandSchema: ExpandSchema = False
) -> dict[str, Any]:
    """One version of a mapping set (default: the latest), its mappings with their ids."""
    return _render(who, who.lf.mapping_set(id, version), expandSchema)


@router.put("/mappingSets/{id}")
def update_mapping_set(who: CallerDep, id: str, body: Document) -> dict[str, Any]:
    """Store the body as the mapping set's next version; answers it. Older versions stay:
    flows apply the version they name."""
    return who.lf.update_mapping_set(id, body, actor=who.client.api_key).to_dict()


@router.delete("/mappingSets/{id}", status_code=204)
def delete_mapping_set(who: CallerDep, id: str) -> Response:
    """Delete every version; refused (400) while a flow's ``transformations`` name it."""
    who.lf.delete_mapping_set(id)
    return Response(status_code=204)


@router.get("/mappingSets/{id}/mappings")
def list_mappings(who: CallerDep, id: str, version: Version = None) -> list[dict[str, Any]]:
    """The mappings of one version of a mapping set (default: the latest)."""
    return who.lf.mapping_set(id, version).mapping_dicts()


@router.get("/mappingSets/{id}/mappings/{mappingId}")
def get_mapping(who: CallerDep, id: str, mappingId: str, version: Version = None) -> dict[str, Any]:
    """One mapping of a mapping set, by its id."""
    mapping_set = who.lf.mapping_set(id, version)
    for mapping in mapping_set.mapping_dicts():
        if mapping["id"] == mappingId:
            return mapping
    raise ResourceNotFound(
        f"Mapping set {mapping_set.id!r} (version {mapping_set.version}) has no mapping "
        f"{mappingId!r}.",
        fix=f"GET {PREFIX}/mappingSets/{mapping_set.id}/mappings lists its mappings.",
    )
