"""``/data/foundation/schemaregistry``: tenant and global schemas, field groups, data types,
classes and behaviors, and ``/stats``.

Reads take ``Accept`` as the Schema Registry does (see :mod:`.schemaregistry_views`); the
``tenant`` container is read-write, ``global`` (Adobe's standard resources) read-only.
``fieldgroups`` is also reachable by its old name ``mixins``. A resource is addressed by its
URL-encoded ``$id`` or its ``meta:altId``; another container's or sandbox's id is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import AfterValidator

from lakefeed.api.patch import IfMatch, apply_patch, check_delete_etag, check_etag
from lakefeed.api.schemaregistry_views import (
    ListQuery,
    Representation,
    check_document,
    list_representation,
    lookup_representation,
    summary,
    without_text,
)
from lakefeed.api.security import Caller, caller
from lakefeed.engine import Lakefeed
from lakefeed.errors import InvalidRequest, SchemaNotFound
from lakefeed.etags import given_etag

PREFIX = "/data/foundation/schemaregistry"
router = APIRouter(tags=["schemaregistry"])

CallerDep = Annotated[Caller, Depends(caller)]
AcceptHeader = Annotated[str | None, Header(alias="Accept")]
Container = Literal["tenant", "global"]
Kind = Literal["schemas", "fieldgroups", "mixins", "datatypes", "classes", "behaviors"]
#: What a change takes: every kind (another word is a 404 naming them), behaviors refused (400).
WritableKind = Annotated[Kind, AfterValidator(lambda kind: _writable(kind))]
Document = Annotated[dict[str, Any], Body()]

#: What a PATCH may change; ``meta:extends`` is accepted and recomputed from ``allOf``.
_SCHEMA_PATHS = ("/title", "/description", "/allOf", "/meta:extends")
_FIELD_PATHS = ("/definitions", "/properties", "/required", "/meta:intendedToExtend")
PATCHABLE = {
    "schemas": _SCHEMA_PATHS,
    "fieldgroups": (*_SCHEMA_PATHS, *_FIELD_PATHS),
    "datatypes": (*_SCHEMA_PATHS, *_FIELD_PATHS),
    "classes": (*_SCHEMA_PATHS, *_FIELD_PATHS),
}
#: Keys of the stored document the resolved (``xed-full``) view carries too.
_FULL_VIEW_KEYS = (
    *("meta:resourceType", "version", "meta:containerId", "meta:tenantNamespace", "imsOrg"),
    *("meta:abstract", "meta:extensible", "meta:registryMetadata", "meta:intendedToExtend"),
)


def _writable(kind: str) -> str:
    if kind == "behaviors":
        raise InvalidRequest(
            "Behaviors are read-only: lakefeed has Adobe's standard ones (record, time-series) "
            "and no tenant behaviors.",
            fix="Extend a class from a global behavior: GET /global/behaviors lists them.",
        )
    return kind


def _kind(kind: str) -> str:
    return "fieldgroups" if kind == "mixins" else kind


def _find(lf: Lakefeed, container: str, kind: str, id: str) -> dict[str, Any]:
    """The resource ``id`` of ``kind`` in ``container``; 404 when it is in the other one."""
    document = lf.schemas.get(id, kind=_kind(kind))
    actual = "tenant" if document.get("meta:containerId") == "tenant" else "global"
    if actual != container:
        raise SchemaNotFound(
            f"{id!r} is in the {actual} container, not the {container} container.",
            fix=f"Look it up under /{actual}/{kind}/.",
        )
    return document


def _render(lf: Lakefeed, document: dict[str, Any], wanted: Representation) -> dict[str, Any]:
    if wanted.summary:
        return summary(document)
    view = document
    if wanted.full:
        view = {k: document[k] for k in _FULL_VIEW_KEYS if k in document}
        view.update(lf.schemas.resolve_document(document))
    return dict(without_text(view)) if wanted.notext else view


@router.get("/stats")
def stats(who: CallerDep) -> dict[str, Any]:
    """The tenant id, counts of tenant resources, recent changes and which schemas use which
    class."""
    return who.lf.schemas.stats()


@router.get("/{container}/{kind}")
def list_resources(
    who: CallerDep,
    container: Container,
    kind: Kind,
    accept: AcceptHeader = None,
    orderby: str | None = None,
    start: str | None = None,
    limit: int | None = None,
    properties: Annotated[list[str] | None, Query(alias="property")] = None,
) -> dict[str, Any]:
    """One page of a container's resources of one kind: ``xed-id`` summaries or, with
    ``Accept: application/vnd.adobe.xed+json``, the documents. ``orderby`` (default ``title``;
    ``-`` descends), ``start`` (``_page.next`` of the previous page), ``limit`` (1–500,
    default 300), ``property`` filters (``==``, ``!=``, ``<``, ``>``, ``~`` regex, a bare name:
    present)."""
    wanted = list_representation(accept)
    name = _kind(kind)
    registry = who.lf.schemas
    documents: list[dict[str, Any]] = []
    if container == "tenant" and name != "behaviors":
        documents = registry.list(name)
    elif container == "global" and name != "schemas":
        documents = registry.list(name, container="global")
    query = ListQuery(orderby, start, limit, properties or [])
    page = query.page(documents, f"{PREFIX}/{container}/{kind}")
    page["results"] = [_render(who.lf, d, wanted) for d in page["results"]]
    if container == "tenant" and name == "schemas":
        page["_links"]["global_schemas"] = {"href": f"{PREFIX}/global/schemas"}
    return page


@router.get("/{container}/{kind}/{id:path}")
def get_resource(
    who: CallerDep, container: Container, kind: Kind, id: str, accept: AcceptHeader = None
) -> dict[str, Any]:
    """One resource by URL-encoded ``$id`` or ``meta:altId``, in the representation ``Accept``
    names: ``xed`` (as stored), ``xed-full`` (``$ref``s inlined, ``allOf`` merged into
    ``properties``), ``xed-notext`` and ``xed-full-notext`` (without ``title`` and
    ``description``), ``xed-full-desc`` (as ``xed-full``), each with ``version=1``."""
    wanted = lookup_representation(accept)
    document = _find(who.lf, container, kind, id)
    if wanted.version is not None and wanted.version.split(".")[0] != "1":
        raise SchemaNotFound(
            f"Object {document['$id']} with version {wanted.version} not found.",
            fix="Ask for version=1: the registry keeps major version 1 only.",
        )
    return _render(who.lf, document, wanted)


@router.post("/tenant/{kind}", status_code=201)
def create_resource(who: CallerDep, kind: WritableKind, document: Document) -> dict[str, Any]:
    """A tenant resource; answers 201 with it, ``$id``, ``meta:altId`` and ``meta:extends``
    computed. A schema's ``allOf`` names one class and its field groups; a field group's own
    fields sit under ``_{tenantId}``."""
    check_document(document)
    return who.lf.schemas.create(_kind(kind), document)


@router.put("/tenant/{kind}/{id:path}")
def replace_resource(
    who: CallerDep, kind: WritableKind, id: str, document: Document, if_match: IfMatch = None
) -> dict[str, Any]:
    """Replace a tenant resource with ``document`` (``If-Match`` checked when sent, and
    again as the change is stored)."""
    current = _find(who.lf, "tenant", kind, id)
    etag = _etag_to_write(current, if_match)
    check_document(document)
    return who.lf.schemas.update(current["$id"], document, etag=etag)


@router.patch("/tenant/{kind}/{id:path}")
def patch_resource(
    who: CallerDep,
    kind: WritableKind,
    id: str,
    operations: Annotated[list[Any], Body()],
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """JSON Patch on ``/title``, ``/description``, ``/allOf`` (``add /allOf/-`` adds a field
    group to a schema) and, but for schemas, the fields; ``meta:extends`` follows ``allOf``.
    ``If-Match`` is optional, as in the Schema Registry, and checked when sent."""
    current = _find(who.lf, "tenant", kind, id)
    etag = _etag_to_write(current, if_match)
    changed = apply_patch(current, operations, PATCHABLE[_kind(kind)])
    check_document(changed)
    return who.lf.schemas.update(current["$id"], changed, etag=etag)


@router.delete("/tenant/{kind}/{id:path}", status_code=204)
def delete_resource(
    who: CallerDep, kind: WritableKind, id: str, if_match: IfMatch = None
) -> Response:
    """Delete a tenant resource; refused (400) while a dataset or another resource uses it,
    and (412) when an ``If-Match`` sent is not its eTag, checked as it is deleted."""
    current = _find(who.lf, "tenant", kind, id)
    etag = _etag_of(current)
    check_delete_etag(if_match, etag)
    etag_to_check = etag if given_etag(if_match) is not None else None
    who.lf.schemas.delete(current["$id"], kind=_kind(kind), etag=etag_to_check)
    return Response(status_code=204)


def _etag_of(document: dict[str, Any]) -> str:
    return str(document.get("meta:registryMetadata", {}).get("eTag", ""))


def _etag_to_write(document: dict[str, Any], if_match: str | None) -> str | None:
    """The eTag a PUT or PATCH stores its change under: None without ``If-Match`` (optional
    here, as in the Schema Registry); the one ``document`` was read with when ``If-Match``
    names it (412 otherwise), so the store refuses the change if another writer got in
    first."""
    if not if_match:
        return None
    etag = _etag_of(document)
    check_etag(if_match, etag)
    return etag
