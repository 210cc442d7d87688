"""Every route wants a token, the token's API key, its org, and a sandbox it may use."""

from __future__ import annotations

import re

import httpx
import pytest

from api_support import ORG, Server


def platform_routes(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every Platform route in the OpenAPI document, parameters as 'x'."""
    routes = []
    for path, operations in server.app.openapi()["paths"].items():
        if path.startswith("/data/foundation/"):
            for method in operations:
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return routes


def test_every_route_without_credentials_answers_401(server: Server) -> None:
    routes = platform_routes(server)
    assert len(routes) > 40
    for method, path in routes:
        response = httpx.request(method, server.url + path, json={})
        assert response.status_code == 401, (method, path, response.text)
        # RFC 6750: a 401 says which credentials to send
        assert response.headers["www-authenticate"] == 'Bearer realm="lakefeed"', (method, path)
        if method == "HEAD":  # a HEAD answer has no body, by HTTP
            assert response.content == b""
            continue
        body = response.json()
        assert body["status"] == 401 and body["report"]["code"] == "LF-2001"
        assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2001-401"


@pytest.mark.parametrize(
    ("service", "least"),
    [("catalog", 6), ("export", 1), ("schemaregistry", 7), ("flowservice", 20)],
)
def test_every_service_is_in_that_check(server: Server, service: str, least: int) -> None:
    """The routes above are read from the OpenAPI document (``app.routes`` holds lazily
    included routers): each service's must be there."""
    prefix = f"/data/foundation/{service}/"
    assert len([p for _, p in platform_routes(server) if p.startswith(prefix)]) >= least


def test_bad_token_key_org_and_sandbox(server: Server, api: httpx.Client) -> None:
    url = "/data/foundation/flowservice/connectionSpecs"
    headers = dict(api.headers)

    def call(**changes: str | None) -> httpx.Response:
        sent = {k: v for k, v in {**headers, **changes}.items() if v is not None}
        return httpx.get(server.url + url, headers=sent)

    assert call(authorization="Bearer not-a-token").status_code == 401
    assert call(**{"x-api-key": None}).status_code == 403
    assert call(**{"x-api-key": "someone-else"}).status_code == 403
    missing_org = call(**{"x-gw-ims-org-id": None})
    assert missing_org.status_code == 400 and "x-gw-ims-org-id" in missing_org.text
    assert call(**{"x-gw-ims-org-id": "OTHER@AdobeOrg"}).status_code == 403
    missing_sandbox = call(**{"x-sandbox-name": None})
    assert (
        missing_sandbox.status_code == 400 and missing_sandbox.json()["report"]["code"] == "LF-2105"
    )
    unknown = call(**{"x-sandbox-name": "nope"})
    assert unknown.status_code == 404 and unknown.json()["report"]["code"] == "LF-2101"
    assert call().status_code == 200


@pytest.mark.parametrize(
    "header", ["x-api-key", "x-gw-ims-org-id", "x-sandbox-name", "authorization"]
)
def test_headers_that_are_not_ascii_are_refused_not_a_crash(
    server: Server, api: httpx.Client, header: str
) -> None:
    """A header is bytes, decoded as Latin-1: an API key of "café" was a 500 (the constant-
    time comparison refuses non-ASCII text)."""
    sent: dict[str, str | bytes] = dict(api.headers)
    sent[header] = "café-ÿ".encode("latin-1")
    answer = httpx.get(server.url + "/data/foundation/flowservice/connectionSpecs", headers=sent)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["report"]["code"].startswith("LF-")


def test_token_exchange(server: Server) -> None:
    api_key, secret = server.lf.auth.create_client(ORG)
    form = {"client_id": api_key, "client_secret": secret, "grant_type": "client_credentials"}
    token = httpx.post(f"{server.url}/ims/token/v3", data=form)
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["access_token"]
    wrong = httpx.post(f"{server.url}/ims/token/v3", data={**form, "client_secret": "x"})
    assert wrong.status_code == 401 and secret not in wrong.text
    grant = httpx.post(f"{server.url}/ims/token/v3", data={**form, "grant_type": "password"})
    assert grant.status_code == 400


def test_a_client_limited_to_a_sandbox(server: Server) -> None:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev", sandboxes=["dev"]) as dev:
        assert dev.get("/data/foundation/flowservice/connectionSpecs").status_code == 200
        dev.headers["x-sandbox-name"] = "prod"
        assert dev.get("/data/foundation/flowservice/connectionSpecs").status_code == 403


def test_expired_tokens_are_refused(server: Server) -> None:
    from lakefeed.catalog.auth import AuthStore

    api_key, _ = server.lf.auth.create_client(ORG)
    token, _ = AuthStore(server.lf.db, token_ttl_seconds=-1).issue_token(api_key)
    response = httpx.get(
        f"{server.url}/data/foundation/flowservice/connectionSpecs",
        headers={
            "Authorization": f"Bearer {token}",
            "x-api-key": api_key,
            "x-gw-ims-org-id": ORG,
            "x-sandbox-name": "prod",
        },
    )
    assert response.status_code == 401 and "expired" in response.text


@pytest.mark.parametrize("size", [2 * 1024 * 1024])
def test_a_body_too_large_answers_413(api: httpx.Client, size: int) -> None:
    response = api.post("/data/foundation/flowservice/connections", content=b"{" + b" " * size)
    assert response.status_code == 413
    assert response.json()["report"]["code"] == "LF-1600"
