"""The OpenAPI document of ``lakefeed serve`` (``/openapi.json``), as clients need it.

FastAPI's document, refined once per route set:

- **Security**: the bearer token and the Platform headers (``x-api-key``, ``x-gw-ims-org-id``,
  ``x-sandbox-name``) are security schemes, required by every Platform route (under
  ``/data/foundation``); the Iceberg REST catalog needs the bearer token only; the token
  exchanges, ``/metrics``, the health probes and the docs need nothing.
- **Errors**: the bodies the server really answers (:mod:`lakefeed.api.errors`, the Iceberg
  and OAuth2 shapes of :mod:`lakefeed.api.iceberg_rest_errors`), per status an operation can
  answer, instead of FastAPI's 422 ``HTTPValidationError`` (invalid input is a 400 here).
- **Operation ids**: short and stable, from the route function's name (``listFlows``,
  ``getFlow``, ``createConnection``), unique.
- **Examples**: the request bodies of the REST tutorial (docs/tutorials/rest-api.md).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from lakefeed.api.iceberg_rest_errors import CATALOG_PATH
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID

PLATFORM_PATH = "/data/foundation"
#: Routes under the Platform or catalog paths that need no credentials: they hand them out.
TOKEN_PATHS = ("/ims/token/v3", f"{CATALOG_PATH}/v1/oauth/tokens")

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <token>`: the `access_token` that "
        "`POST /ims/token/v3` answers for an API key and client secret.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The API key (client id) the token was issued to.",
    },
    "imsOrg": {
        "type": "apiKey",
        "in": "header",
        "name": "x-gw-ims-org-id",
        "description": "The API client's org, e.g. `ACME0001@AdobeOrg`.",
    },
    "sandbox": {
        "type": "apiKey",
        "in": "header",
        "name": "x-sandbox-name",
        "description": "The sandbox the call acts in, e.g. `prod`.",
    },
}
Requirement = list[dict[str, list[str]]]
PLATFORM_SECURITY: Requirement = [{name: [] for name in SECURITY_SCHEMES}]
CATALOG_SECURITY: Requirement = [{"bearerToken": []}]

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "title": "Error",
        "description": "Every error of the Platform routes: `report.code` is lakefeed's stable "
        "error code (docs/reference/errors.md), `report.fix` what to do about it.",
        "type": "object",
        "required": ["type", "title", "status", "report", "errorMessage"],
        "properties": {
            "type": {"type": "string", "description": "…/errors/FLOW-<code>-<status>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "report": {
                "type": "object",
                "required": ["detailed-message", "code", "request-id"],
                "properties": {
                    "detailed-message": {"type": "string"},
                    "code": {"type": "string", "examples": ["LF-2001"]},
                    "fix": {"type": "string"},
                    "request-id": {"type": "string"},
                },
            },
            "errorMessage": {"type": "string"},
        },
    },
    "IcebergError": {
        "title": "IcebergError",
        "description": "Errors of the Iceberg REST catalog, in its spec's `IcebergErrorResponse`.",
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string", "examples": ["NoSuchTableException"]},
                    "code": {"type": "integer"},
                },
            }
        },
    },
    "OAuthError": {
        "title": "OAuthError",
        "description": "A refused token request (RFC 6749 section 5.2).",
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {
            "error": {"type": "string", "examples": ["invalid_client"]},
            "error_description": {"type": "string"},
        },
    },
}

ERROR_DESCRIPTIONS = {
    "400": "The request is not valid: a Platform header missing, a parameter or body malformed "
    "or refused. The report names what and the fix.",
    "401": "No valid credentials: the bearer token is missing, unknown or expired (or, for a "
    "token request, the client id and secret are wrong).",
    "403": "The x-api-key, org or sandbox is not the token's API client's.",
    "404": "No such resource in the caller's org and sandbox, or no such sandbox.",
    "406": "The Accept header asks for a representation that is not offered.",
    "409": "The request conflicts with the current state (a name taken, a resource in use).",
    "412": "If-Match is not the resource's current etag: read it again.",
    "413": "The request body is larger than the server accepts.",
    "422": "The file cannot be read as asked: not of its format, corrupt or malformed.",
    "429": "Too many failed token requests: retry after the Retry-After header's seconds.",
}

#: Route function names that would not read as an operation id on their own.
OPERATION_NAMES = {
    "token": "exchange_token",
    "get_token": "exchange_catalog_token",
    "get_config": "get_catalog_config",
    "stats": "get_schema_registry_stats",
    "list_resources": "list_schema_registry_resources",
    "get_resource": "get_schema_registry_resource",
    "create_resource": "create_schema_registry_resource",
    "replace_resource": "replace_schema_registry_resource",
    "patch_resource": "patch_schema_registry_resource",
    "delete_resource": "delete_schema_registry_resource",
    "prometheus_metrics": "get_metrics",
    "liveness": "check_liveness",
    "readiness": "check_readiness",
    "flow_backlog": "get_flow_backlog",
    "last_batches": "list_last_batches",
    "batch_files": "get_batch_files",
    "dataset_file": "download_dataset_file",
    "dataset_preview": "preview_dataset",
    "batch_meta": "get_batch_meta",
    "batch_failed": "get_batch_failed",
}


def camel(name: str) -> str:
    """``list_connection_specs`` → ``listConnectionSpecs`` (ids already camel stay so)."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def operation_id(route: APIRoute) -> str:
    """The operation id of ``route`` (FastAPI's ``generate_unique_id_function``)."""
    return camel(OPERATION_NAMES.get(route.name, route.name))


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the refined document (FastAPI still builds it, and builds
    it again when routes are added)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        if "securitySchemes" not in document.setdefault("components", {}):
            refine(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented extension point


def refine(document: dict[str, Any]) -> None:
    """Security, errors, operation ids and examples, in place (see the module's docstring)."""
    components = document.setdefault("components", {})
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).update(copy.deepcopy(ERROR_SCHEMAS))
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            operation["operationId"] = camel(operation.get("operationId", ""))
            security = _security(path)
            if security:
                operation["security"] = copy.deepcopy(security)
            _errors(path, method, operation, secured=bool(security))
            examples = EXAMPLES.get(operation["operationId"])
            content = operation.get("requestBody", {}).get("content", {})
            if examples and "application/json" in content:
                content["application/json"]["examples"] = copy.deepcopy(examples)
    _drop_unused_schemas(components, ("HTTPValidationError", "ValidationError"), document)
    ids = Counter(
        op["operationId"] for ops in document.get("paths", {}).values() for op in ops.values()
    )
    twice = sorted(name for name, count in ids.items() if count > 1)
    if twice:
        raise RuntimeError(f"Operation ids used twice: {twice}; add names to OPERATION_NAMES.")


def _security(path: str) -> Requirement:
    if path in TOKEN_PATHS:
        return []
    if path.startswith(PLATFORM_PATH + "/"):
        return PLATFORM_SECURITY
    if path.startswith(CATALOG_PATH + "/"):
        return CATALOG_SECURITY
    return []


def _errors(path: str, method: str, operation: dict[str, Any], *, secured: bool) -> None:
    """Declare the error answers ``operation`` can give, in the shape its router sends."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validated = responses.pop("422", None) is not None
    header_names = {
        p["name"].lower() for p in operation.get("parameters", ()) if p.get("in") == "header"
    }
    statuses: set[str] = set()
    if validated or secured or path in TOKEN_PATHS:
        statuses.add("400")
    if secured:
        statuses |= {"401", "403", "404"}
        if method in ("post", "put", "patch", "delete"):
            statuses.add("409")
    if "if-match" in header_names:
        statuses.add("412")
    if "accept" in header_names and not path.startswith(CATALOG_PATH + "/"):
        statuses.add("406")
    if "requestBody" in operation:
        statuses.add("413")
    if secured and path.endswith("/explore"):  # previews read a file
        statuses.add("422")
    if path in TOKEN_PATHS:
        statuses |= {"401", "429"}
    for status in sorted(statuses):
        if status in responses:
            continue
        responses[status] = {"description": ERROR_DESCRIPTIONS[status]}
        if method != "head":  # a HEAD answer has the GET's headers and no body
            schema = _error_schema(path, status)
            responses[status]["content"] = {"application/json": {"schema": schema}}


def _error_schema(path: str, status: str) -> dict[str, Any]:
    if path == f"{CATALOG_PATH}/v1/oauth/tokens" and status in ("400", "401"):
        # The OAuth2 shape for refused credentials; malformed form fields answer the catalog's.
        return {"anyOf": [_ref("OAuthError"), _ref("IcebergError")]}
    if path.startswith(CATALOG_PATH + "/"):
        return _ref("IcebergError")
    return _ref("Error")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _drop_unused_schemas(
    components: dict[str, Any], names: tuple[str, ...], document: dict[str, Any]
) -> None:
    schemas = components.get("schemas", {})
    for name in names:
        schemas.pop(name, None)
    text = json.dumps(document)
    left = [name for name in names if f"#/components/schemas/{name}" in text]
    if left:
        raise RuntimeError(f"Schemas {left} are still referenced after removing them.")


# --- request examples, from docs/tutorials/rest-api.md --------------------------------------

#: The S3 plugin's spec id (core does not import plugins: an example may name it).
S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
DATASET_SPEC = DATASET_TARGET_SPEC_ID
FLOW_SPEC = CLOUD_STORAGE_FLOW_SPEC_ID
SCHEMA_ID = "https://ns.adobe.com/acme/schemas/5c9d3f0a1b2e4d6f8a7b9c0d1e2f3a4b"
SCHEMA_VERSION = "application/vnd.adobe.xed-full+json;version=1"
BASE_ID = "0f5c1a62-8a3e-4b9d-9c51-2d7e6b4a1f03"
DATASET_BASE_ID = "7d2e9b14-3c6f-4a85-b0e1-9f8a7c6d5e42"
SOURCE_ID = "b1a2c3d4-e5f6-4718-9a0b-1c2d3e4f5a6b"
TARGET_ID = "c2b3d4e5-f6a7-4829-8b1c-2d3e4f5a6b7c"
DATASET_ID = "65f1c0a9e8d7b6a5f4e3d2c1"
FLOW_ID = "d3c4e5f6-a7b8-493a-9c2d-3e4f5a6b7c8d"


def _example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "createConnection": {
        "s3": _example(
            "An S3 base connection (access key)",
            {
                "name": "S3 base connection",
                "description": "partner drop bucket",
                "auth": {
                    "specName": "Access Key",
                    "params": {
                        "s3AccessKey": "AKIAIOSFODNN7EXAMPLE",
                        "s3SecretKey": "<the secret access key>",
                        "bucketName": "partner-drop",
                    },
                },
                "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
            },
        ),
        "datasetBase": _example(
            "The dataset base connection (no credentials), for target connections",
            {
                "name": "Dataset base connection",
                "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
            },
        ),
    },
    "createSourceConnection": {
        "s3Folder": _example(
            "A folder, recursively, as Parquet files whose columns follow the XDM schema",
            {
                "name": "Source Connection S3",
                "baseConnectionId": BASE_ID,
                "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                "data": {
                    "format": "parquet_xdm",
                    "schema": {"id": SCHEMA_ID, "version": SCHEMA_VERSION},
                },
                "params": {"path": "partners", "recursive": "true"},
            },
        )
    },
    "createDataset": {
        "profiles": _example(
            "A dataset (an Iceberg table) with a tenant schema's columns",
            {
                "name": "Partner profiles",
                "schemaRef": {
                    "id": SCHEMA_ID,
                    "contentType": "application/vnd.adobe.xed-full-notext+json; version=1",
                },
            },
        )
    },
    "createTargetConnection": {
        "dataset": _example(
            "Rows go to a dataset, through the dataset base connection",
            {
                "name": "Target connection",
                "baseConnectionId": DATASET_BASE_ID,
                "data": {
                    "format": "parquet_xdm",
                    "schema": {"id": SCHEMA_ID, "version": SCHEMA_VERSION},
                },
                "params": {"dataSetId": DATASET_ID},
                "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
            },
        )
    },
    "createFlow": {
        "once": _example(
            "A flow that runs once, on demand, accepting up to 5% rejected rows",
            {
                "name": "Cloud Storage flow",
                "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
                "sourceConnectionIds": [SOURCE_ID],
                "targetConnectionIds": [TARGET_ID],
                "scheduleParams": {"startTime": "1796000000", "frequency": "once"},
                "options": {"partialIngestionPercent": 5, "errorDiagnosticsEnabled": True},
            },
        ),
        "hourly": _example(
            "A flow that runs every hour and takes the files already there (backfill)",
            {
                "name": "Hourly partner drop",
                "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
                "sourceConnectionIds": [SOURCE_ID],
                "targetConnectionIds": [TARGET_ID],
                "scheduleParams": {
                    "startTime": "1796000000",
                    "frequency": "hour",
                    "interval": 1,
                    "backfill": True,
                },
            },
        ),
    },
    "createRun": {
        "onDemand": _example(
            "Run a once flow now; the window runs from the beginning of time to now",
            {
                "flowId": FLOW_ID,
                "params": {
                    "startTime": "1796000000",
                    "windowStartTime": "0",
                    "windowEndTime": "1796000000",
                },
            },
        )
    },
}
