"""Errors of the Iceberg REST catalog in the shape its clients parse, not the Flow Service's.

``{"error": {"message", "type", "code"}}`` (the spec's ``IcebergErrorResponse``): ``code`` is
the HTTP status, ``type`` the exception name Iceberg clients know (``NoSuchTableException``,
``NotAuthorizedException``, …), ``message`` what happened and the fix. ``POST /v1/oauth/tokens``
answers its 400 and 401 in the OAuth2 shape instead (``{"error", "error_description"}``).

:class:`IcebergRoute` gives every route of the catalog's router these answers, for what its
dependencies, parameters and body raise too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from lakefeed.api.errors import answer_headers
from lakefeed.api.server_paths import hider
from lakefeed.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidRequest,
    LakefeedError,
    MethodNotOffered,
    NamespaceNotFound,
    SandboxNotFound,
    TableNotFound,
)

log = logging.getLogger("lakefeed.api")

#: Where the catalog's routes live: errors under it, even those answered before routing (a NUL
#: byte, a body too large), are in the Iceberg shape.
CATALOG_PATH = "/iceberg"


def in_catalog(path: str) -> bool:
    return path == CATALOG_PATH or path.startswith(CATALOG_PATH + "/")


#: The exception name a client reads in ``type``, by lakefeed error class (first match wins),
#: then by HTTP status.
_TYPES: tuple[tuple[type[LakefeedError], str], ...] = (
    (TableNotFound, "NoSuchTableException"),
    (NamespaceNotFound, "NoSuchNamespaceException"),
    (SandboxNotFound, "NoSuchWarehouseException"),
    (AuthenticationRequired, "NotAuthorizedException"),
    (Forbidden, "ForbiddenException"),
    (MethodNotOffered, "UnsupportedOperationException"),
)
_TYPES_BY_STATUS = {
    400: "BadRequestException",
    401: "NotAuthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "UnsupportedOperationException",
    406: "UnsupportedOperationException",
    409: "ConflictException",
    413: "BadRequestException",
    419: "AuthenticationTimeoutException",
    429: "TooManyRequestsException",
    503: "ServiceUnavailableException",
}


def iceberg_error_body(status: int, type_: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": status}}


def iceberg_error_type(error: LakefeedError) -> str:
    for cls, name in _TYPES:
        if isinstance(error, cls):
            return name
    default = "ServerErrorException" if error.http_status >= 500 else "BadRequestException"
    return _TYPES_BY_STATUS.get(error.http_status, default)


def iceberg_error_response(
    error: LakefeedError,
    hide: Callable[[str], str] = lambda text: text,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """``error`` in the Iceberg shape; ``hide`` rewrites server folders in its text."""
    headers = {**(headers or {}), **(answer_headers(error) or {})}
    return JSONResponse(
        iceberg_error_body(error.http_status, iceberg_error_type(error), hide(str(error))),
        status_code=error.http_status,
        headers=headers or None,
    )


def oauth_error_response(error: LakefeedError, oauth_code: str | None = None) -> JSONResponse:
    """A failed token request: the OAuth2 error shape for 400 and 401 (RFC 6749 §5.2, which
    the catalog's clients parse there), the Iceberg shape for anything else (429).
    ``oauth_code`` defaults to ``invalid_client`` for a 401, ``invalid_request`` for a 400."""
    if error.http_status not in (400, 401):
        return iceberg_error_response(error)
    code = oauth_code or ("invalid_client" if error.http_status == 401 else "invalid_request")
    return JSONResponse(
        {"error": code, "error_description": str(error)}, status_code=error.http_status
    )


def _validation_error(exc: RequestValidationError) -> InvalidRequest:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where or 'body'}: {err.get('msg')}")
    return InvalidRequest(
        "The request is not valid: " + "; ".join(problems)[:500] + ".",
        fix="Check it against the Iceberg REST catalog spec (docs/reference/rest.md).",
    )


class IcebergRoute(APIRoute):
    """A route whose errors are all in the Iceberg shape: lakefeed errors, parameter
    validation, HTTP errors, and (logged, without internals) bugs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            hide = hider(request.app.state.lakefeed.settings)
            try:
                return await handler(request)
            except LakefeedError as exc:
                return iceberg_error_response(exc, hide)
            except RequestValidationError as exc:
                return iceberg_error_response(_validation_error(exc), hide)
            except HTTPException as exc:
                message = str(exc.detail) if exc.detail else f"HTTP {exc.status_code}"
                type_ = _TYPES_BY_STATUS.get(exc.status_code, "BadRequestException")
                return JSONResponse(
                    iceberg_error_body(exc.status_code, type_, message),
                    status_code=exc.status_code,
                    headers=dict(exc.headers or {}) or None,
                )
            except Exception as exc:
                log.exception("unexpected error in the Iceberg REST catalog")
                return JSONResponse(
                    iceberg_error_body(
                        500,
                        "ServerErrorException",
                        f"Internal error ({type(exc).__name__}). Retry; if it persists, "
                        "report it with the server's log.",
                    ),
                    status_code=500,
                )

        return handle
