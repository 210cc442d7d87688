"""``/connections``: base connections — create, list, read, PATCH, delete, test and explore.

Secret auth params come back as ``********`` in every answer, PATCH included. The dataset
(Data Lake) base connection carries no auth at all. Local-files connections are confined to the
server's ``LAKEFEED_LOCAL_ROOTS`` (:mod:`lakefeed.api.local_roots`); storage endpoints to
those the server's policy allows (:mod:`lakefeed.storage.endpoints`), checked here when a
connection is stored or changed and by the storage session whenever it connects.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from lakefeed.api.flowservice_bodies import (
    ConnectionBody,
    IdEtag,
    PatchBody,
    patch_operations,
)
from lakefeed.api.flowservice_common import (
    CallerDep,
    ListQuery,
    created,
    items,
)
from lakefeed.api.local_roots import check_path, check_root
from lakefeed.api.patch import IfMatch, apply_patch, check_delete_etag, check_etag
from lakefeed.catalog.connections import Connection
from lakefeed.errors import InvalidRequest
from lakefeed.specs import DATASET_TARGET_SPEC_ID, REDACTED

router = APIRouter(tags=["flowservice"])

PATCHABLE = ("/name", "/description", "/auth/params")


def _storage_connection(connection: Connection, action: str) -> Connection:
    """``connection``, unless it is a dataset base connection (no storage to ``action``)."""
    if connection.is_dataset_base:
        raise InvalidRequest(
            f"Connection {connection.name!r} is a dataset base connection: it has no storage "
            f"to {action}.",
            fix="Use a connection of a storage source (see GET /connectionSpecs).",
        )
    return connection


@router.get("/connections")
def list_connections(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """Base connections of the caller's sandbox."""
    return query.page([c.to_dict() for c in who.lf.connections.list()], "connections")


@router.post("/connections", status_code=201, response_model=IdEtag)
def create_connection(who: CallerDep, body: ConnectionBody) -> JSONResponse:
    """A base connection; auth params are validated against the spec's auth spec and secrets
    sealed at rest. Creating does not test the connection (``GET …/test`` does)."""
    lf = who.lf
    description = body.description or ""
    if body.connectionSpec.id == DATASET_TARGET_SPEC_ID:
        if body.auth is not None and body.auth.params:
            raise InvalidRequest(
                "The dataset base connection takes no auth params.",
                fix="Send only name, description and connectionSpec.",
            )
        connection = lf.connections.create_dataset_base_connection(
            name=body.name, description=description
        )
    else:
        if body.auth is None:
            raise InvalidRequest(
                "auth is required: auth.specName and auth.params.",
                fix="GET /connectionSpecs/{id} lists the auth specs and their params.",
            )
        session = lf.session_for(body.connectionSpec.id, body.auth.params, body.auth.specName)
        check_root(lf.settings, session)
        session.check_endpoints()
        connection = lf.create_connection(
            body.name,
            body.connectionSpec.id,
            body.auth.specName,
            body.auth.params,
            description=description,
        )
    return created(connection.id, connection.etag, "connections")


@router.get("/connections/{id}")
def get_connection(who: CallerDep, id: str) -> dict[str, Any]:
    return items(who.lf.connection(id).to_dict())


@router.patch("/connections/{id}", response_model=IdEtag)
def patch_connection(who: CallerDep, id: str, body: PatchBody, if_match: IfMatch = None) -> Any:
    """JSON Patch on ``/name``, ``/description``, ``/auth/params`` and ``/auth/params/<key>``.
    New params are validated like on create; a secret sent back as ``********`` keeps its
    stored value."""
    lf = who.lf
    connection = lf.connection(id)
    check_etag(if_match, connection.etag)
    operations = patch_operations(body)
    for operation in operations:
        if str(operation["path"]).startswith("/connectionSpec"):
            raise InvalidRequest(
                "The connection spec of a connection cannot be updated.",
                fix="Create a new connection with the other connectionSpec instead.",
            )
    document: dict[str, Any] = {
        "name": connection.name,
        "description": connection.description,
        # Redacted, so that a "test" operation cannot be used to guess a secret.
        "auth": {"specName": connection.auth.spec_name, "params": connection.auth.redacted()},
    }
    changed = apply_patch(document, operations, PATCHABLE)
    auth = None
    params = (changed.get("auth") or {}).get("params", {})
    if params != document["auth"]["params"]:
        _storage_connection(connection, "authenticate to")
        if not isinstance(params, dict):
            raise InvalidRequest("auth.params must be an object.", fix="Send an object.")
        secrets = connection.auth.secrets()
        # Secrets left as ******** (or sent back so after a GET) keep their stored values.
        kept = {k: secrets[k] if v == REDACTED and k in secrets else v for k, v in params.items()}
        session = lf.session_for(connection.connection_spec_id, kept, connection.auth.spec_name)
        auth = session.auth
        check_root(lf.settings, session)
        session.check_endpoints()
    updated = lf.connections.update(
        connection.id,
        name=changed_text(changed, "name", connection.name, required=True),
        description=changed_text(changed, "description", connection.description),
        auth=auth,
        etag=connection.etag,
    )
    return {"id": updated.id, "etag": updated.etag}


def changed_text(
    document: dict[str, Any], field: str, current: str, *, required: bool = False
) -> str | None:
    """The patched text ``field`` of ``document``, or None when it is unchanged."""
    value = document.get(field, None if required else "")
    if value == current:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        kind = "a non-empty string" if required else "a string"
        raise InvalidRequest(f"{field} must be {kind}, not {value!r}.", fix=f"Send {field}.")
    return value


@router.delete("/connections/{id}", status_code=204, response_class=Response)
def delete_connection(who: CallerDep, id: str, if_match: IfMatch = None) -> Response:
    """Refused (400) while a flow reads or writes through the connection; 412 for an
    ``If-Match`` that is not its etag (checked again as it is deleted)."""
    connection = who.lf.connection(id)
    check_delete_etag(if_match, connection.etag)
    who.lf.delete_connection(connection.id, if_match=if_match)
    return Response(status_code=204)


@router.get("/connections/{id}/test")
def test_connection(who: CallerDep, id: str) -> dict[str, Any]:
    """``{"result": true, "detail": …}``, or the storage error (401, 403, 404, 503…)."""
    connection = _storage_connection(who.lf.connection(id), "test")
    session = who.lf.session(connection)
    check_root(who.lf.settings, session)
    detail = session.test()
    return {"result": True, "detail": detail}


#: explore's own query parameters; every other one is a format property (data.properties).
EXPLORE_PARAMETERS = frozenset({"objectType", "object", "fileType", "preview"})


@router.get("/connections/{id}/explore")
def explore_connection(
    who: CallerDep,
    id: str,
    request: Request,
    object_type: Annotated[str, Query(alias="objectType")] = "root",
    obj: Annotated[str | None, Query(alias="object")] = None,
    file_type: Annotated[str | None, Query(alias="fileType")] = None,
    preview: str | None = None,
    column_delimiter: Annotated[str | None, Query(alias="columnDelimiter")] = None,
    compression_type: Annotated[str | None, Query(alias="compressionType")] = None,
    encoding: str | None = None,
) -> Any:
    """``root`` and ``folder``: the entries one level down; ``file``: the file's columns, and
    with ``preview=true`` its first rows (``{"format", "schema": {"columns"}, "data"}``),
    read as ``fileType`` (by default, as its name says) with ``columnDelimiter``,
    ``compressionType``, ``encoding`` and any other ``data.properties`` of the format
    (``quoteChar``, ``skipRows``…); a parameter the format does not take is refused."""
    connection = _storage_connection(who.lf.connection(id), "explore")
    session = who.lf.session(connection)
    check_path(who.lf.settings, session, obj or "")
    kind = object_type.strip().lower()
    if kind in ("root", "folder"):
        return session.explore(kind, obj)
    if kind != "file":
        raise InvalidRequest(
            f"objectType {object_type!r} is not supported (supported: root, folder, file).",
            fix="Use objectType=root, folder or file.",
        )
    if not obj:
        raise InvalidRequest("objectType=file needs object=PATH.", fix="Pass the file to read.")
    # fileType names an installed format (UnknownFormat, 400, otherwise); without it the file's
    # name decides, as canPreview did. Properties a format does not take are refused (400).
    del column_delimiter, compression_type, encoding  # declared for the OpenAPI document
    properties = {
        key: value for key, value in request.query_params.items() if key not in EXPLORE_PARAMETERS
    }
    file_format = who.lf.file_format_for(obj, file_type, properties)
    wanted = (preview or "false").strip().lower()
    if wanted not in ("true", "false"):
        raise InvalidRequest(f"preview must be true or false, not {preview!r}.", fix="Use true.")
    shown = session.preview(
        obj, rows=10 if wanted == "true" else 0, file_format=file_format
    ).to_dict()
    if wanted == "false":
        del shown["data"]
    return shown
