"""The Apache Iceberg REST catalog of ``lakefeed serve``, under ``/iceberg``: query engines
(pyiceberg's ``RestCatalog``, DuckDB's ``ATTACH … (TYPE iceberg)``, Spark, Trino) find datasets
by name and read them. Clients get the URI ``http://<server>/iceberg`` and a sandbox as the
warehouse.

- Who: the bearer tokens ``POST /ims/token/v3`` issues (``POST /iceberg/v1/oauth/tokens`` is the
  same exchange, in OAuth2's shape, for clients configured with a client id and secret). The
  token's API client decides the org; no other header is needed.
- Where: ``GET /v1/config?warehouse=<sandbox>`` answers the sandbox as the ``prefix`` of every
  later call (``prod`` without ``warehouse``); a sandbox the org lacks is a 404, one the client
  may not use a 403, as on every other route.
- What: the sandbox's one namespace, named after it, holds one table per dataset, named as the
  dataset (:mod:`lakefeed.datasets.rest_catalog`).
- Read only: a write (create, commit, drop, rename, register) answers 405: datasets are written
  by flows. Errors are in the spec's shape (:mod:`lakefeed.api.iceberg_rest_errors`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.routing import Match

from lakefeed.api.iceberg_rest_errors import (
    CATALOG_PATH,
    IcebergRoute,
    iceberg_error_response,
    oauth_error_response,
)
from lakefeed.api.ims import exchange
from lakefeed.api.security import sandbox_engine, token_client
from lakefeed.catalog.auth import DEFAULT_SANDBOX
from lakefeed.datasets.rest_catalog import IcebergCatalogView
from lakefeed.errors import (
    AuthenticationRequired,
    CatalogReadOnly,
    InvalidRequest,
    LakefeedError,
    RouteNotFound,
)

PREFIX = CATALOG_PATH
router = APIRouter(tags=["iceberg"], route_class=IcebergRoute)

#: The routes ``GET /v1/config`` advertises: Iceberg clients call no others.
ENDPOINTS = (
    "GET /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
)
#: Joins the parts of a multi-level namespace in a path or ``parent`` (the spec's default).
SEPARATOR = "\x1f"

PageToken = Annotated[str | None, Query(alias="pageToken", description="next-page-token")]
PageSize = Annotated[int | None, Query(alias="pageSize", ge=1, description="At most this many")]


async def warehouse_view(request: Request, prefix: str) -> IcebergCatalogView:
    """The catalog of sandbox ``prefix`` as the request's token sees it: 401 without a valid
    token, 404 when the org has no such sandbox, 403 when the client may not use it."""
    client = await token_client(request)
    return IcebergCatalogView((await sandbox_engine(request, client, prefix)).datasets)


Warehouse = Annotated[IcebergCatalogView, Depends(warehouse_view)]


def _namespace(text: str) -> tuple[str, ...]:
    return tuple(text.split(SEPARATOR))


def _table_name(request: Request, routed: str) -> str:
    """The table's name as the client encoded it: a ``/`` inside a name arrives as ``%2F``,
    which the server decodes before routing. The last raw segment of the path is the name;
    when the routed value spans more segments, the path goes below a table (``…/credentials``,
    ``…/plan``), which this catalog does not serve."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return routed
    last = unquote(raw.decode("latin-1").rsplit("/", 1)[-1])
    # A name ending in "%2F" keeps the "/" the trailing-slash rule dropped from the routed one.
    if last == routed or last.rstrip("/") == routed:
        return last
    raise RouteNotFound(
        f"The Iceberg REST catalog serves no {request.method} {request.url.path[:300]}.",
        fix="GET /iceberg/v1/config lists the endpoints it serves.",
    )


# -- configuration and tokens ------------------------------------------------------------------


@router.get("/v1/config")
async def get_config(request: Request, warehouse: str | None = None) -> dict[str, Any]:
    """The catalog's configuration for sandbox ``warehouse`` (default ``prod``): its name is
    the ``prefix`` of every later call."""
    client = await token_client(request)
    sandbox = warehouse or DEFAULT_SANDBOX
    await sandbox_engine(request, client, sandbox)  # 404 or 403 now, not at the first list
    return {"defaults": {}, "overrides": {"prefix": sandbox}, "endpoints": list(ENDPOINTS)}


@router.post("/v1/oauth/tokens")
def get_token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> Response:
    """The client-credentials exchange of ``POST /ims/token/v3`` (the API key as
    ``client_id``), in OAuth2's shape; the credentials may also come as HTTP Basic auth."""
    try:
        if client_id is None and client_secret is None:
            client_id, client_secret = _basic_credentials(request)
        if grant_type != "client_credentials":
            error = InvalidRequest(
                f"grant_type {str(grant_type)[:60]!r} is not supported.",
                fix="Use grant_type=client_credentials with the API key as client_id.",
            )
            return oauth_error_response(error, "unsupported_grant_type")
        if not client_id or not client_secret:
            raise InvalidRequest(
                "client_id and client_secret are required.",
                fix="Send the API key as client_id and the client secret as client_secret.",
            )
        access_token, expires_in = exchange(request, client_id, client_secret)
    except LakefeedError as exc:
        return oauth_error_response(exc)
    body = {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        client_id, colon, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeError):
        raise AuthenticationRequired(
            "The Basic credentials are not base64 of client_id:client_secret.",
            fix="Send the API key and the client secret as form fields.",
        ) from None
    return (client_id, secret) if colon else (None, None)


# -- namespaces --------------------------------------------------------------------------------


@router.get("/v1/{prefix}/namespaces")
def list_namespaces(
    view: Warehouse,
    parent: str | None = None,
    page_token: PageToken = None,
    page_size: PageSize = None,
) -> dict[str, Any]:
    """The sandbox's one namespace (none under it): one page always holds it."""
    namespaces = view.namespaces(_namespace(parent) if parent else ())
    return {"namespaces": [list(ns) for ns in namespaces], "next-page-token": None}


@router.get("/v1/{prefix}/namespaces/{namespace}")
def load_namespace(view: Warehouse, namespace: str) -> dict[str, Any]:
    """The namespace and its properties."""
    parts = _namespace(namespace)
    view.check_namespace(parts)
    comment = f"The datasets of lakefeed sandbox {view.namespace}."
    return {"namespace": list(parts), "properties": {"comment": comment}}


@router.head("/v1/{prefix}/namespaces/{namespace}", status_code=204)
def namespace_exists(view: Warehouse, namespace: str) -> Response:
    """204 when the namespace exists, 404 otherwise."""
    view.check_namespace(_namespace(namespace))
    return Response(status_code=204)


# -- tables ------------------------------------------------------------------------------------


@router.get("/v1/{prefix}/namespaces/{namespace}/tables")
def list_tables(
    view: Warehouse, namespace: str, page_token: PageToken = None, page_size: PageSize = None
) -> dict[str, Any]:
    """The namespace's tables, one per dataset, by name."""
    parts = _namespace(namespace)
    names, next_token = view.table_names(parts, page_token=page_token, page_size=page_size)
    return {
        "identifiers": [{"namespace": list(parts), "name": name} for name in names],
        "next-page-token": next_token,
    }


@router.get("/v1/{prefix}/namespaces/{namespace}/tables/{table:path}")
def load_table(
    request: Request,
    view: Warehouse,
    namespace: str,
    table: str,
    snapshots: Annotated[str | None, Query(description="all (default) or refs")] = None,
) -> dict[str, Any]:
    """The dataset's table: its current metadata file's location and JSON. ``config`` holds
    no credentials: clients reach the warehouse with their own."""
    loaded = view.load(_namespace(namespace), _table_name(request, table), snapshots or "all")
    return {
        "metadata-location": loaded.metadata_location,
        "metadata": loaded.metadata,
        "config": {},
    }


@router.head("/v1/{prefix}/namespaces/{namespace}/tables/{table:path}", status_code=204)
def table_exists(request: Request, view: Warehouse, namespace: str, table: str) -> Response:
    """204 when a dataset has that name, 404 otherwise."""
    view.dataset(_namespace(namespace), _table_name(request, table))
    return Response(status_code=204)


# -- everything else ---------------------------------------------------------------------------

_OTHER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/{path:path}", methods=_OTHER_METHODS, include_in_schema=False)
async def not_served(request: Request, path: str) -> Response:
    """A read of a path the catalog does not serve is a 404; any write a 405 (``Allow`` names
    the reads of that path, if any)."""
    if request.method == "GET":
        raise RouteNotFound(
            f"The Iceberg REST catalog serves no GET {request.url.path[:300]}.",
            fix="GET /iceberg/v1/config lists the endpoints it serves.",
        )
    refusal = CatalogReadOnly(
        f"{request.method} {request.url.path[:300]}: lakefeed's Iceberg REST catalog is "
        "read-only; datasets are created in the Catalog API and written by flows.",
        fix="Create the dataset with POST /data/foundation/catalog/dataSets and ingest into it "
        "with a flow (POST /data/foundation/flowservice/flows) or `lakefeed ingest`.",
    )
    return iceberg_error_response(refusal, headers={"Allow": _reads_of(request, "/" + path)})


def _reads_of(request: Request, path: str) -> str:
    """``GET, HEAD`` when a read route serves ``path`` (under the catalog), else nothing."""
    scope = {**request.scope, "type": "http", "method": "GET", "path": path, "root_path": ""}
    # Counted on the raw path: "a%2Fb" is one segment, one table name; "a/b" is two.
    raw = request.scope.get("raw_path")
    segments = (raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path).count("/")
    for route in router.routes:
        if getattr(route, "endpoint", None) is not_served:
            continue
        template = getattr(route, "path", "")
        if PREFIX.count("/") + template.count("/") != segments:
            continue
        if route.matches(scope)[0] is Match.FULL:
            return "GET, HEAD"
    return ""
