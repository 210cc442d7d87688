"""``/sourceConnections`` (what to read, where, in which format) and ``/targetConnections``
(the dataset rows go to)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from lakefeed.api.flowservice_bodies import (
    PARAMS_PROPERTIES,
    IdEtag,
    PatchBody,
    SourceConnectionBody,
    TargetConnectionBody,
    patch_operations,
)
from lakefeed.api.flowservice_common import (
    CallerDep,
    ListQuery,
    created,
    items,
)
from lakefeed.api.flowservice_connections import changed_text
from lakefeed.api.local_roots import check_path
from lakefeed.api.patch import IfMatch, apply_patch, check_delete_etag, check_etag
from lakefeed.engine import Lakefeed
from lakefeed.errors import ConnectionNotFound, InvalidFlow, InvalidRequest
from lakefeed.specs import DATASET_TARGET_SPEC_ID

router = APIRouter(tags=["flowservice"])

SOURCE_PATCHABLE = ("/name", "/description", "/params/path", "/params/recursive")
TARGET_PATCHABLE = ("/name", "/description")


def _base(specs: dict[str, tuple[str, str]], id: str | None) -> dict[str, Any]:
    """``inheritedAttributes``: the base connection a source or target connection uses."""
    spec = specs.get(id) if id else None
    if spec is None:
        return {}
    shape = {"id": id, "connectionSpec": {"id": spec[0], "version": spec[1]}}
    return {"inheritedAttributes": {"baseConnection": shape}}


def _specs(lf: Lakefeed, ids: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """The specs of these base connections, without opening their secrets."""
    return lf.connections.spec_versions(id for id in ids if id)


# -- source connections ----------------------------------------------------------------------


@router.get("/sourceConnections")
def list_source_connections(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    sources = who.lf.flows.source_connections()
    bases = _specs(who.lf, (s.base_connection_id for s in sources))
    shapes = [{**s.to_dict(), **_base(bases, s.base_connection_id)} for s in sources]
    return query.page(shapes, "sourceConnections")


@router.post("/sourceConnections", status_code=201, response_model=IdEtag)
def create_source_connection(who: CallerDep, body: SourceConnectionBody) -> JSONResponse:
    """Files to read through a base connection: ``params.path`` (file, folder or glob),
    ``params.recursive``, ``params.fileExtension``, ``data.format`` (``parquet``,
    ``parquet_xdm`` with a schema, ``delimited``, ``json``, or a format plugin's) and
    ``data.properties`` (``columnDelimiter``, ``compressionType``, ``encoding``…)."""
    lf = who.lf
    base = lf.connection(body.baseConnectionId)
    if base.is_dataset_base:
        raise InvalidFlow(
            f"Base connection {base.name!r} is a dataset base connection; a source connection "
            "reads through a storage connection.",
            fix="Use the id of a connection to S3, Azure, GCS, SFTP or local files.",
        )
    check_path(lf.settings, lf.session(base), body.params.path)
    source = lf.flows.create_source_connection(
        name=body.name,
        description=body.description or "",
        base_connection_id=base.id,
        path=body.params.path,
        recursive=body.params.recursive,
        data_format=body.data.format.strip().lower(),
        schema_id=body.data.schema_.id if body.data.schema_ else None,
        connection_spec_id=body.connectionSpec.id,
        properties=_format_properties(body),
        file_extension=body.params.fileExtension,
    )
    return created(source.id, source.etag)


def _format_properties(body: SourceConnectionBody) -> dict[str, Any]:
    """``data.properties``, with the format properties clients send in ``params`` instead;
    any other field of ``data`` or ``params`` is refused, so none is silently dropped."""
    unknown = [f"data.{k}" for k in body.data.model_extra or {}]
    params = dict(body.params.model_extra or {})
    moved = {k: params.pop(k) for k in PARAMS_PROPERTIES if k in params}
    unknown += [f"params.{k}" for k in params]
    if unknown:
        raise InvalidRequest(
            f"Unknown source connection field(s): {', '.join(sorted(unknown))}.",
            fix="data takes format, schema and properties; params takes path, recursive, type "
            f"and fileExtension (and {', '.join(PARAMS_PROPERTIES)}, which mean "
            "data.properties). Remove the others.",
        )
    properties = dict(body.data.properties or {})
    for key, value in moved.items():
        if key in properties and properties[key] != value:
            raise InvalidRequest(
                f"params.{key} {value!r} and data.properties.{key} {properties[key]!r} differ.",
                fix="Give it once, in data.properties.",
            )
        properties[key] = value
    return properties


@router.get("/sourceConnections/{id}")
def get_source_connection(who: CallerDep, id: str) -> dict[str, Any]:
    source = who.lf.flows.source_connection(id)
    bases = _specs(who.lf, [source.base_connection_id])
    return items({**source.to_dict(), **_base(bases, source.base_connection_id)})


@router.patch("/sourceConnections/{id}", response_model=IdEtag)
def patch_source_connection(
    who: CallerDep, id: str, body: PatchBody, if_match: IfMatch = None
) -> Any:
    """JSON Patch on ``/name``, ``/description``, ``/params/path`` and ``/params/recursive``."""
    flows = who.lf.flows
    source = flows.source_connection(id)
    check_etag(if_match, source.etag)
    document = source.to_dict()
    changed = apply_patch(document, patch_operations(body), SOURCE_PATCHABLE)
    params = changed.get("params") or {}
    path = params.get("path", "")
    recursive = params.get("recursive", False)
    if isinstance(path, str) and path != source.path:
        check_path(who.lf.settings, who.lf.session(source.base_connection_id), path)
    updated = flows.update_source_connection(
        source.id,
        name=changed_text(changed, "name", source.name, required=True),
        description=changed_text(changed, "description", document["description"]),
        path=None if path == source.path else path,
        recursive=None if recursive == source.recursive else recursive,
        etag=source.etag,
    )
    return {"id": updated.id, "etag": updated.etag}


@router.delete("/sourceConnections/{id}", status_code=204, response_class=Response)
def delete_source_connection(who: CallerDep, id: str, if_match: IfMatch = None) -> Response:
    """Refused (400) while a flow reads from it; 412 for an ``If-Match`` that is not its
    etag."""
    check_delete_etag(if_match, who.lf.flows.source_connection(id).etag)
    who.lf.flows.delete_source_connection(id)
    return Response(status_code=204)


# -- target connections ----------------------------------------------------------------------


@router.get("/targetConnections")
def list_target_connections(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    targets = who.lf.flows.target_connections()
    bases = _specs(who.lf, (t.base_connection_id for t in targets))
    shapes = [{**t.to_dict(), **_base(bases, t.base_connection_id)} for t in targets]
    return query.page(shapes, "targetConnections")


@router.post("/targetConnections", status_code=201, response_model=IdEtag)
def create_target_connection(who: CallerDep, body: TargetConnectionBody) -> JSONResponse:
    """The dataset rows go to: ``connectionSpec.id`` must be the dataset spec
    ``c604ff05-7f1a-43c0-8e18-33bf874cb11c``, ``params.dataSetId`` is required, and a
    ``data.schema.id`` must be the dataset's schema."""
    lf = who.lf
    base_id = body.baseConnectionId
    if base_id:
        try:
            base = lf.connection(base_id)
        except ConnectionNotFound:
            base = None
        if base is None or not base.is_dataset_base:
            raise InvalidFlow(
                f"baseConnectionId {base_id!r} is not a dataset base connection of this sandbox.",
                fix=f"Create one with connectionSpec.id {DATASET_TARGET_SPEC_ID}, or leave "
                "baseConnectionId out.",
            )
        base_id = base.id
    target = lf.flows.create_target_connection(
        name=body.name,
        description=body.description or "",
        dataset_id=body.params.dataSetId or "",
        schema_id=body.data.schema_.id if body.data.schema_ else None,
        connection_spec_id=body.connectionSpec.id,
        base_connection_id=base_id,
        data_format=(body.data.format or "parquet_xdm").strip().lower(),
    )
    return created(target.id, target.etag)


@router.get("/targetConnections/{id}")
def get_target_connection(who: CallerDep, id: str) -> dict[str, Any]:
    target = who.lf.flows.target_connection(id)
    base_id = target.base_connection_id
    return items({**target.to_dict(), **_base(_specs(who.lf, [base_id]), base_id)})


@router.patch("/targetConnections/{id}", response_model=IdEtag)
def patch_target_connection(
    who: CallerDep, id: str, body: PatchBody, if_match: IfMatch = None
) -> Any:
    """JSON Patch on ``/name`` and ``/description``."""
    flows = who.lf.flows
    target = flows.target_connection(id)
    check_etag(if_match, target.etag)
    document = target.to_dict()
    changed = apply_patch(document, patch_operations(body), TARGET_PATCHABLE)
    updated = flows.update_target_connection(
        target.id,
        name=changed_text(changed, "name", target.name, required=True),
        description=changed_text(changed, "description", document["description"]),
        etag=target.etag,
    )
    return {"id": updated.id, "etag": updated.etag}


@router.delete("/targetConnections/{id}", status_code=204, response_class=Response)
def delete_target_connection(who: CallerDep, id: str, if_match: IfMatch = None) -> Response:
    """Refused (400) while a flow writes through it; 412 for an ``If-Match`` that is not its
    etag."""
    check_delete_etag(if_match, who.lf.flows.target_connection(id).etag)
    who.lf.flows.delete_target_connection(id)
    return Response(status_code=204)
