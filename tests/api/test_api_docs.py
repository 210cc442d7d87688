"""The API docs pages and the OpenAPI document, against a real server.

/docs and /redoc load only assets the server itself serves (vendored, cached), so they work
without internet access; the OpenAPI document declares the credentials, the real error
answers, short operation ids and the tutorial's request examples — and the server behaves as
it declares (the routes it says need credentials answer 401 without them, the others do not).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema_rs
import pytest
from pydantic import BaseModel

from api_support import FS, ORG, Server, refused
from lakefeed.api.catalog import DataSetBody
from lakefeed.api.flowservice_bodies import (
    ConnectionBody,
    FlowBody,
    RunBody,
    SourceConnectionBody,
    TargetConnectionBody,
)
from lakefeed.catalog.records import Scope

HTTP_METHODS = ("get", "put", "post", "delete", "head", "patch")
PLATFORM_HEADERS = {"x-api-key", "x-gw-ims-org-id", "x-sandbox-name"}
#: Routes that need no credentials: they hand them out, or are for probes and scrapers.
PUBLIC = {
    ("post", "/ims/token/v3"),
    ("post", "/iceberg/v1/oauth/tokens"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


class Links(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def page_urls(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


# --- the pages and their assets ----------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_what_the_server_serves(server: Server, page: str) -> None:
    """No CDN, no Google Fonts, no other host: every URL of the page is a path on this
    server, and each one answers (without credentials, as the page itself)."""
    answer = httpx.get(f"{server.url}{page}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert re.findall(r"(?:https?:)?//[^\s\"'<>]+", html) == []
    urls = page_urls(html)
    scripts = [url for url in urls if url.endswith(".js")]
    assert len(scripts) == 1 and urls, urls
    assert "/openapi.json" in html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert httpx.get(f"{server.url}{url}").status_code == 200, url


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_let_the_browser_load_from_this_server_only(server: Server, page: str) -> None:
    """What a bundle would fetch from elsewhere (Redoc's footer logo is on its CDN) is never
    requested: the page's Content-Security-Policy allows this server, inline data and
    Redoc's blob: worker, and only the inline scripts the page itself carries."""
    answer = httpx.get(f"{server.url}{page}")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in answer.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    for directive in ("connect-src", "img-src", "font-src", "worker-src"):
        sources = set(policy[directive].split())
        assert sources <= {"'self'", "data:", "blob:"}, (directive, sources)
    inline = re.findall(r"<script>(.*?)</script>", answer.text, re.DOTALL)
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in inline
    }
    assert set(policy["script-src"].split()) == {"'self'", *hashes}
    assert len(inline) == (1 if page == "/docs" else 0)


def test_swagger_ui_never_calls_the_online_validator(server: Server) -> None:
    html = httpx.get(f"{server.url}/docs").text
    assert '"validatorUrl": null' in html


def test_redoc_uses_no_web_fonts(server: Server) -> None:
    html = httpx.get(f"{server.url}/redoc").text
    assert "fonts.googleapis" not in html and "<redoc spec-url=" in html


@pytest.mark.parametrize(
    ("asset", "content_type", "starts"),
    [
        ("swagger-ui-dist-5.35.0/swagger-ui-bundle.js", "text/javascript", b"/*! For license"),
        ("swagger-ui-dist-5.35.0/swagger-ui.css", "text/css", b".swagger-ui"),
        ("redoc-2.5.4/redoc.standalone.js", "text/javascript", b"/*! For license"),
        ("redoc-2.5.4/LICENSE", "text/plain", b"The MIT License"),
    ],
)
def test_vendored_assets_are_served_and_cached(
    server: Server, asset: str, content_type: str, starts: bytes
) -> None:
    answer = httpx.get(f"{server.url}/static/vendor/{asset}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(content_type)
    assert answer.content.startswith(starts), answer.content[:80]
    assert "immutable" in answer.headers["cache-control"]
    assert "max-age=31536000" in answer.headers["cache-control"]


@pytest.mark.parametrize(
    "name",
    [
        "nothing.js",
        "README.md",
        "redoc-2.5.4",
        "redoc-2.5.4/..%2F..%2F..%2Fapi_docs.py",
        quote("redoc-2.5.4/../../../api_docs.py", safe=""),
    ],
)
def test_only_vendored_files_are_served(server: Server, name: str) -> None:
    refused(httpx.get(f"{server.url}/static/vendor/{name}"), 404, "No vendored asset")


# --- the OpenAPI document: credentials ---------------------------------------------------------


def test_security_schemes_are_the_platform_credentials(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    headers = {s["name"] for s in schemes.values() if s["type"] == "apiKey"}
    assert headers == PLATFORM_HEADERS
    assert all(s["in"] == "header" for s in schemes.values() if s["type"] == "apiKey")


def test_every_route_declares_the_credentials_it_needs(document: dict[str, Any]) -> None:
    platform = [op for _, path, op in operations(document) if path.startswith("/data/")]
    assert len(platform) > 50
    for operation in platform:
        (requirement,) = operation["security"]
        headers = {
            document["components"]["securitySchemes"][name].get("name") for name in requirement
        }
        assert "bearerToken" in requirement and headers >= PLATFORM_HEADERS, operation
    for method, path, operation in operations(document):
        if (method, path) in PUBLIC:
            assert not operation.get("security"), path
        elif path.startswith("/iceberg/"):
            assert operation["security"] == [{"bearerToken": []}], path
    assert not {"/docs", "/redoc", "/openapi.json"} & set(document["paths"])


def test_routes_answer_as_their_declared_credentials_say(
    server: Server, document: dict[str, Any]
) -> None:
    """Without any header: 401 exactly where the document requires credentials."""
    wrong: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for method, path, operation in operations(document):
            url = re.sub(r"\{[^}]+\}", "x", path)
            status = anonymous.request(method.upper(), url).status_code
            if bool(operation.get("security")) != (status == 401):
                wrong.append(f"{method.upper()} {path}: {status}, {operation.get('security')}")
    assert not wrong, "\n".join(wrong)


# --- errors ------------------------------------------------------------------------------------


def test_no_generic_validation_error_is_declared(document: dict[str, Any]) -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    assert "ValidationError" not in json.dumps(document["paths"])
    # Only a preview of a file that cannot be read answers 422, in the error shape.
    for method, path, operation in operations(document):
        if "422" in operation["responses"]:
            assert path.endswith("/explore"), (method, path)
            (media,) = operation["responses"]["422"]["content"].values()
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}


def test_platform_routes_declare_their_error_answers(document: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, operation in operations(document):
        if not path.startswith("/data/"):
            continue
        responses = operation["responses"]
        for status in ("400", "401", "403", "404"):
            assert status in responses, (method, path, status)
            if method != "head":
                assert responses[status]["content"]["application/json"]["schema"] == error
        if method in ("post", "put", "patch", "delete"):
            assert "409" in responses, (method, path)
        if any(p["name"] == "If-Match" for p in operation.get("parameters", ())):
            assert "412" in responses, (method, path)
        if "requestBody" in operation:
            assert "413" in responses, (method, path)
    token = document["paths"]["/ims/token/v3"]["post"]["responses"]
    assert {"400", "401", "413", "429"} <= set(token)
    iceberg = document["paths"]["/iceberg/v1/{prefix}/namespaces"]["get"]["responses"]
    assert iceberg["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IcebergError"
    }


def test_real_errors_match_the_declared_schema(
    server: Server, api: httpx.Client, document: dict[str, Any], tmp_path: Path
) -> None:
    """The 400, 401, 403, 404, 412 and 413 the server answers are what the document says."""
    schema = jsonschema_rs.validator_for(document["components"]["schemas"]["Error"])
    no_sandbox = {k: v for k, v in api.headers.items() if k != "x-sandbox-name"}
    lf = server.lf.scoped(Scope(ORG, "prod"))
    local = lf.create_connection("docs-errors", "local-files", None, {"rootPath": str(tmp_path)})
    answers = [
        (400, httpx.get(f"{server.url}{FS}/flows", headers=no_sandbox)),
        # Invalid input is a 400 in the Flow Service shape, not FastAPI's 422.
        (400, api.post(f"{FS}/flows", json={"name": 1})),
        (401, httpx.get(f"{server.url}{FS}/flows")),
        (403, api.get(f"{FS}/flows", headers={"x-api-key": "someone-else"})),
        (404, api.get(f"{FS}/flows/no-such-flow")),
        (412, api.patch(f"{FS}/connections/{local.id}", json=[], headers={"If-Match": '"0"'})),
        (413, api.post(f"{FS}/flows", content=b"{" + b" " * (2 * 1024 * 1024))),
    ]
    for status, answer in answers:
        assert answer.status_code == status, answer.text
        schema.validate(answer.json())
    iceberg = jsonschema_rs.validator_for(document["components"]["schemas"]["IcebergError"])
    iceberg.validate(httpx.get(f"{server.url}/iceberg/v1/prod/namespaces").json())


# --- operation ids and examples ----------------------------------------------------------------


def test_operation_ids_are_short_unique_and_stable(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    long_or_odd = [i for i in ids if not re.fullmatch(r"[a-z][A-Za-z]{2,39}", i)]
    assert not long_or_odd
    by_route = {(m, p): op["operationId"] for m, p, op in operations(document)}
    # Clients generated from the document call these names: they must not change.
    assert by_route[("get", f"{FS}/flows")] == "listFlows"
    assert by_route[("get", f"{FS}/flows/{{id}}")] == "getFlow"
    assert by_route[("post", f"{FS}/connections")] == "createConnection"
    assert by_route[("post", f"{FS}/sourceConnections")] == "createSourceConnection"
    assert by_route[("post", f"{FS}/targetConnections")] == "createTargetConnection"
    assert by_route[("post", f"{FS}/flows")] == "createFlow"
    assert by_route[("post", f"{FS}/runs")] == "createRun"
    assert by_route[("get", f"{FS}/runs/{{id}}")] == "getRun"
    assert by_route[("post", "/data/foundation/catalog/dataSets")] == "createDataset"
    assert by_route[("post", "/ims/token/v3")] == "exchangeToken"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{FS}/connections", ConnectionBody),
        (f"{FS}/sourceConnections", SourceConnectionBody),
        (f"{FS}/targetConnections", TargetConnectionBody),
        (f"{FS}/flows", FlowBody),
        (f"{FS}/runs", RunBody),
        ("/data/foundation/catalog/dataSets", DataSetBody),
    ],
)
def test_create_bodies_have_the_tutorials_examples(
    document: dict[str, Any], path: str, body: type[BaseModel]
) -> None:
    """Each example is a body the route accepts (it parses as the route's model)."""
    content = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    examples = content["examples"]
    assert examples
    for example in examples.values():
        assert example["summary"]
        body.model_validate(example["value"])
