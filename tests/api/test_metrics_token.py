"""``GET /metrics`` with a metrics token (``LAKEFEED_METRICS_TOKEN``) answers only
``Authorization: Bearer <that token>``, 401 ``MetricsTokenRequired`` otherwise, never echoing
what was sent; without one it answers anyone, as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from api_support import Server, running_server

TOKEN = "metrics-token-7c1f0e0a9b2d4c61"


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEFEED_METRICS_TOKEN", f" {TOKEN}\n")  # surrounding blanks do not count
        home = tmp_path_factory.mktemp("metrics-home")
        with running_server(home, database_url=server_database()) as running:
            yield running


def test_without_a_token_metrics_answer_anyone(server: Server) -> None:
    answer = httpx.get(f"{server.url}/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_the_token_opens_metrics(guarded: Server) -> None:
    for scheme in ("Bearer", "bearer"):
        answer = httpx.get(f"{guarded.url}/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert answer.status_code == 200, answer.text
        assert "# TYPE lakefeed_runs_in_progress gauge" in answer.text


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        (None, "has no `Authorization: Bearer` header"),
        ("Basic bWV0cmljczp4", "has no `Authorization: Bearer` header"),
        ("Bearer", "has no `Authorization: Bearer` header"),
        ("Bearer wrong-token-0123456789", "is not it"),
        (f"Bearer {TOKEN[:-1]}", "is not it"),
        (f"Bearer {TOKEN}x", "is not it"),
        ("Bearer métrique-ünicode", "is not it"),
    ],
)
def test_anything_else_is_refused_with_401(
    guarded: Server, authorization: str | None, says: str
) -> None:
    headers = {"Authorization": authorization.encode()} if authorization else {}
    answer = httpx.get(f"{guarded.url}/metrics", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == 'Bearer realm="lakefeed"'
    body = answer.json()
    assert (body["status"], body["report"]["code"], body["title"]) == (
        401,
        "LF-2002",
        "Metrics token required",
    )
    assert says in body["report"]["detailed-message"], body
    assert "Authorization: Bearer <token>" in body["report"]["fix"]
    assert TOKEN not in answer.text
    sent = (authorization or "").partition(" ")[2].strip()
    assert not sent or sent not in answer.text  # what was sent is never echoed


def test_an_api_clients_access_token_is_not_the_metrics_token(guarded: Server) -> None:
    with guarded.client() as api:
        assert api.get("/data/foundation/flowservice/flows").status_code == 200
        assert api.get("/metrics").status_code == 401


def test_the_probes_need_no_metrics_token(guarded: Server) -> None:
    assert httpx.get(f"{guarded.url}/healthz").status_code == 200
    assert httpx.get(f"{guarded.url}/readyz").status_code == 200


def test_the_openapi_document_declares_the_401(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    refused = document["paths"]["/metrics"]["get"]["responses"]["401"]
    schema = refused["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}
    assert "Error" in document["components"]["schemas"]
    assert "LF-2002" in refused["description"]
