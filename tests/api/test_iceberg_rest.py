"""The Iceberg REST catalog of ``lakefeed serve`` over plain HTTP: configuration, namespaces and
tables by dataset name, the bearer tokens of the Platform API, isolation between orgs and
sandboxes, renames, refused writes, and errors in the spec's shape whatever the input."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema, profile_table

ICEBERG = "/iceberg/v1"
PROD = f"{ICEBERG}/prod/namespaces/prod"
OTHER_ORG = "OTHER0002@AdobeOrg"
#: Datasets of prod besides "profiles": names no SQL identifier spells bare, and one with "/".
ODD_NAMES = ("Q1 sales.v2", "a/b", "Ünïcode — name")


@dataclass(frozen=True)
class Lake:
    lf: Lakefeed  # prod of ORG
    api_key: str
    secret: str
    token: str  # of a client of ORG that may use every sandbox


def issue_token(server: Server, org: str = ORG, sandboxes: tuple[str, ...] = ()) -> str:
    api_key, secret = server.lf.auth.create_client(org, sandboxes)
    return exchange(server, api_key, secret)


def exchange(server: Server, api_key: str, secret: str) -> str:
    answer = httpx.post(
        f"{server.url}/ims/token/v3",
        data={"client_id": api_key, "client_secret": secret, "grant_type": "client_credentials"},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def lake(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)["$id"]
    landing = tmp_path_factory.mktemp("iceberg-landing")
    pq.write_table(profile_table(20, tenant_id=lf.schemas.tenant_id), landing / "a.parquet")
    assert lf.ingest(str(landing), ".", dataset="profiles", schema=schema).status == "success"
    for name in ODD_NAMES:
        lf.datasets.create(name, schema)
    server.lf.auth.create_sandbox(ORG, "dev")
    api_key, secret = server.lf.auth.create_client(ORG)
    return Lake(lf, api_key, secret, exchange(server, api_key, secret))


@pytest.fixture(scope="module")
def iceberg(server: Server, lake: Lake) -> Iterator[httpx.Client]:
    """A client that sends only the bearer token, as Iceberg clients do."""
    headers = {"Authorization": f"Bearer {lake.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def refused(response: httpx.Response, status: int, type_: str, *words: str) -> str:
    """Assert an error in the Iceberg shape; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == status and body["error"]["type"] == type_, body
    message: str = body["error"]["message"]
    for word in words:
        assert word in message, message
    return message


# -- configuration, namespaces, tables ---------------------------------------------------------


def test_config_answers_the_sandbox_as_the_prefix(iceberg: httpx.Client) -> None:
    config = ok(iceberg.get(f"{ICEBERG}/config", params={"warehouse": "dev"}))
    assert config["defaults"] == {}
    assert config["overrides"] == {"prefix": "dev"}
    assert "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}" in config["endpoints"]
    assert not [e for e in config["endpoints"] if not e.startswith(("GET ", "HEAD "))]
    assert ok(iceberg.get(f"{ICEBERG}/config"))["overrides"] == {"prefix": "prod"}


def test_the_sandbox_has_one_namespace_named_after_it(iceberg: httpx.Client) -> None:
    listed = ok(iceberg.get(f"{ICEBERG}/prod/namespaces"))
    assert listed == {"namespaces": [["prod"]], "next-page-token": None}
    assert ok(iceberg.get(f"{ICEBERG}/dev/namespaces"))["namespaces"] == [["dev"]]
    assert (
        ok(iceberg.get(f"{ICEBERG}/prod/namespaces", params={"parent": "prod"}))["namespaces"] == []
    )
    refused(
        iceberg.get(f"{ICEBERG}/prod/namespaces", params={"parent": "sales"}),
        404,
        "NoSuchNamespaceException",
        "'sales'",
    )
    namespace = ok(iceberg.get(PROD))
    assert namespace["namespace"] == ["prod"] and "prod" in namespace["properties"]["comment"]
    assert iceberg.head(PROD).status_code == 204
    refused(iceberg.get(f"{ICEBERG}/prod/namespaces/dev"), 404, "NoSuchNamespaceException")
    assert iceberg.head(f"{ICEBERG}/prod/namespaces/dev").status_code == 404


def test_tables_are_the_datasets_by_name(iceberg: httpx.Client, lake: Lake) -> None:
    listed = ok(iceberg.get(f"{PROD}/tables"))
    names = sorted(["profiles", *ODD_NAMES])
    assert listed == {
        "identifiers": [{"namespace": ["prod"], "name": name} for name in names],
        "next-page-token": None,
    }
    assert ok(iceberg.get(f"{ICEBERG}/dev/namespaces/dev/tables"))["identifiers"] == []
    refused(iceberg.get(f"{ICEBERG}/prod/namespaces/x/tables"), 404, "NoSuchNamespaceException")


def test_table_list_pages_keep_every_name_once(iceberg: httpx.Client) -> None:
    seen, token, pages = [], None, 0
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        page = ok(iceberg.get(f"{PROD}/tables", params=params))
        seen += [identifier["name"] for identifier in page["identifiers"]]
        pages += 1
        token = page["next-page-token"]
        if token is None:
            break
    assert seen == sorted(["profiles", *ODD_NAMES]) and pages == 2
    refused(iceberg.get(f"{PROD}/tables", params={"pageSize": 0}), 400, "BadRequestException")
    refused(
        iceberg.get(f"{PROD}/tables", params={"pageToken": "%%%"}),
        400,
        "BadRequestException",
        "pageToken",
    )


def test_load_table_serves_the_current_metadata_file(iceberg: httpx.Client, lake: Lake) -> None:
    table = lake.lf.datasets.table(lake.lf.datasets.get("profiles"))
    loaded = ok(iceberg.get(f"{PROD}/tables/profiles"))
    assert loaded["metadata-location"] == table.metadata_location
    written = Path(urlsplit(table.metadata_location).path).read_text()
    assert loaded["metadata"] == json.loads(written)
    assert loaded["config"] == {}  # no credentials, ever
    assert iceberg.head(f"{PROD}/tables/profiles").status_code == 204
    refs = ok(iceberg.get(f"{PROD}/tables/profiles", params={"snapshots": "refs"}))["metadata"]
    assert [s["snapshot-id"] for s in refs["snapshots"]] == [refs["current-snapshot-id"]]
    refused(
        iceberg.get(f"{PROD}/tables/profiles", params={"snapshots": "some"}),
        400,
        "BadRequestException",
        "snapshots",
    )


def test_names_are_served_as_stored_and_url_encoded(iceberg: httpx.Client, lake: Lake) -> None:
    for name in ODD_NAMES:
        path = f"{PROD}/tables/{quote(name, safe='')}"
        loaded = ok(iceberg.get(path))
        dataset = lake.lf.datasets.get(name)
        assert loaded["metadata-location"] == lake.lf.datasets.table(dataset).metadata_location
        assert iceberg.head(path).status_code == 204
    # "a/b" is one name: sent unencoded, it is a path below table "a", which is not served.
    refused(iceberg.get(f"{PROD}/tables/a/b"), 404, "NotFoundException")


def test_unknown_table_is_404_in_the_spec_shape(iceberg: httpx.Client, lake: Lake) -> None:
    refused(iceberg.get(f"{PROD}/tables/nope"), 404, "NoSuchTableException", "'nope'")
    assert iceberg.head(f"{PROD}/tables/nope").status_code == 404
    # Names exactly as stored, and only names: a dataset's id is not a table name.
    refused(iceberg.get(f"{PROD}/tables/PROFILES"), 404, "NoSuchTableException")
    dataset_id = lake.lf.datasets.get("profiles").id
    refused(iceberg.get(f"{PROD}/tables/{dataset_id}"), 404, "NoSuchTableException")


def test_a_renamed_dataset_is_found_under_its_new_name(
    iceberg: httpx.Client, lake: Lake, server: Server
) -> None:
    schema = lake.lf.datasets.get("profiles").schema_id
    dataset = lake.lf.datasets.create("before rename", schema)
    location = ok(iceberg.get(f"{PROD}/tables/before%20rename"))["metadata-location"]
    lake.lf.update_dataset(dataset.id, name="after rename")
    assert ok(iceberg.get(f"{PROD}/tables/after%20rename"))["metadata-location"] == location
    refused(iceberg.get(f"{PROD}/tables/before%20rename"), 404, "NoSuchTableException")
    names = [i["name"] for i in ok(iceberg.get(f"{PROD}/tables"))["identifiers"]]
    assert "after rename" in names and "before rename" not in names
    lake.lf.delete_dataset(dataset.id)
    refused(iceberg.get(f"{PROD}/tables/after%20rename"), 404, "NoSuchTableException")


# -- who may read what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [f"{ICEBERG}/config", f"{ICEBERG}/prod/namespaces", f"{PROD}/tables/profiles"]
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic eDp5", "Token abc"])
def test_a_missing_or_wrong_token_is_401(
    server: Server, lake: Lake, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.get(server.url + path, headers=headers)
    refused(answer, 401, "NotAuthorizedException")
    assert answer.headers["www-authenticate"] == 'Bearer realm="lakefeed"'
    assert lake.token not in answer.text


def test_a_client_sees_only_its_org_and_sandboxes(server: Server, lake: Lake) -> None:
    dev_only = {"Authorization": f"Bearer {issue_token(server, ORG, ('dev',))}"}
    for path in (f"{ICEBERG}/config", f"{ICEBERG}/prod/namespaces", f"{PROD}/tables/profiles"):
        params = {"warehouse": "prod"} if path.endswith("config") else {}
        answer = httpx.get(server.url + path, headers=dev_only, params=params)
        refused(answer, 403, "ForbiddenException", "'prod'")
    assert ok(httpx.get(f"{server.url}{ICEBERG}/dev/namespaces", headers=dev_only))
    # Another org's client: its own prod, where no dataset of ORG exists.
    other = {"Authorization": f"Bearer {issue_token(server, OTHER_ORG)}"}
    assert ok(httpx.get(f"{server.url}{PROD}/tables", headers=other))["identifiers"] == []
    refused(
        httpx.get(f"{server.url}{PROD}/tables/profiles", headers=other),
        404,
        "NoSuchTableException",
    )
    refused(
        httpx.get(f"{server.url}{ICEBERG}/dev/namespaces", headers=other),
        404,
        "NoSuchWarehouseException",
        "'dev'",
    )
    refused(
        httpx.get(f"{server.url}{ICEBERG}/config", headers=other, params={"warehouse": "qa"}),
        404,
        "NoSuchWarehouseException",
    )


def test_a_long_warehouse_or_sandbox_is_quoted_cut_in_the_refusal(
    server: Server, lake: Lake, iceberg: httpx.Client
) -> None:
    """The warehouse a client asks for is echoed in the 404, cut to 200 characters: an answer
    never repeats kilobytes of its request."""
    long = "w" * 5000
    for answer in (
        iceberg.get(f"{ICEBERG}/config", params={"warehouse": long}),
        iceberg.get(f"{ICEBERG}/{long}/namespaces"),
    ):
        message = refused(answer, 404, "NoSuchWarehouseException", "'" + "w" * 199 + "…'")
        assert "w" * 200 not in message and len(answer.text) < 1000
    platform = httpx.get(
        f"{server.url}/data/foundation/flowservice/flows",
        headers={
            "Authorization": f"Bearer {lake.token}",
            "x-api-key": lake.api_key,
            "x-gw-ims-org-id": ORG,
            "x-sandbox-name": long,
        },
    )
    assert platform.status_code == 404, platform.text
    assert "w" * 199 + "…" in platform.text and "w" * 200 not in platform.text


# -- tokens ------------------------------------------------------------------------------------


def test_oauth_tokens_exchange_the_client_credentials(server: Server, lake: Lake) -> None:
    url = f"{server.url}{ICEBERG}/oauth/tokens"
    form = {"grant_type": "client_credentials", "scope": "catalog"}
    answer = httpx.post(url, data={**form, "client_id": lake.api_key, "client_secret": lake.secret})
    token = ok(answer)
    assert token["token_type"] == "bearer" and token["expires_in"] == 86400
    assert answer.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert ok(httpx.get(f"{server.url}{PROD}/tables/profiles", headers=headers))
    basic = httpx.post(url, data=form, auth=(lake.api_key, lake.secret))
    assert ok(basic)["access_token"] != token["access_token"]

    wrong = httpx.post(url, data={**form, "client_id": lake.api_key, "client_secret": "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert lake.secret not in wrong.text
    grant = httpx.post(url, data={"grant_type": "password", "client_id": lake.api_key})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    missing = httpx.post(url, data={"grant_type": "client_credentials"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    garbled = httpx.post(url, data=form, headers={"Authorization": "Basic %%%"})
    assert garbled.status_code == 401 and garbled.json()["error"] == "invalid_client"


# -- writes and other paths --------------------------------------------------------------------

WRITES = [
    ("POST", f"{ICEBERG}/prod/namespaces", "GET, HEAD"),
    ("DELETE", PROD, "GET, HEAD"),
    ("POST", f"{PROD}/properties", ""),
    ("POST", f"{PROD}/tables", "GET, HEAD"),
    ("POST", f"{PROD}/register", ""),
    ("POST", f"{PROD}/tables/profiles", "GET, HEAD"),
    ("DELETE", f"{PROD}/tables/profiles", "GET, HEAD"),
    ("POST", f"{PROD}/tables/profiles/metrics", ""),
    ("POST", f"{ICEBERG}/prod/tables/rename", ""),
    ("POST", f"{ICEBERG}/prod/transactions/commit", ""),
    ("PUT", f"{ICEBERG}/config", "GET, HEAD"),
]


@pytest.mark.parametrize(("method", "path", "allow"), WRITES)
def test_writes_are_refused_naming_flows(
    iceberg: httpx.Client, lake: Lake, method: str, path: str, allow: str
) -> None:
    answer = iceberg.request(method, path, json={"name": "x", "schema": {}})
    message = refused(answer, 405, "UnsupportedOperationException", "read-only", "flow")
    assert "POST /data/foundation/flowservice/flows" in message
    assert answer.headers["allow"] == allow
    assert lake.lf.datasets.get("profiles")  # still there


def test_a_path_the_catalog_does_not_serve_is_404(iceberg: httpx.Client) -> None:
    for path in (f"{ICEBERG}/prod/namespaces/prod/views", "/iceberg/v2/config", "/iceberg/x"):
        refused(iceberg.get(path), 404, "NotFoundException")


# -- hostile input -----------------------------------------------------------------------------

HOSTILE_SEGMENTS = (
    "%00",
    "..",
    ".",
    "%2E%2E",
    "..%2F..%2Fsecret.key",
    "%2F",
    "%1F",
    "prod%1Fprod",
    "%FF%FE",
    "%C0%AF",
    "%25",
    "%20",
    "x" * 5000,
    "%E2%80%AE" * 10,
)
HOSTILE_QUERIES = (
    "pageSize=-1",
    "pageSize=abc",
    "pageSize=99999999999999999999999",
    "pageToken=%FF",
    "pageToken=" + "A" * 6000,
    "parent=%1F",
    "parent=prod%1Fx",
    "parent=..",
    "snapshots=%1F",
    "warehouse=..",
    "warehouse=%1F",
    "warehouse=" + "p" * 3000,
)


def hostile_paths() -> Iterator[str]:
    for bad in HOSTILE_SEGMENTS:
        yield f"{ICEBERG}/{bad}/namespaces"
        yield f"{ICEBERG}/prod/namespaces/{bad}"
        yield f"{ICEBERG}/prod/namespaces/{bad}/tables"
        yield f"{PROD}/tables/{bad}"
        yield f"{PROD}/tables/profiles/{bad}"
    for query in HOSTILE_QUERIES:
        for path in (f"{ICEBERG}/config", f"{ICEBERG}/prod/namespaces", f"{PROD}/tables"):
            yield f"{path}?{query}"
        yield f"{PROD}/tables/profiles?{query}"


def test_hostile_names_and_parameters_never_answer_5xx(server: Server, lake: Lake) -> None:
    """Sent byte for byte (http.client normalizes nothing): dot segments, encoded slashes and
    separators, bytes that are not UTF-8, very long values. Every answer is below 500, and
    every refusal (a GET's body) is in the Iceberg shape."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=60)
    headers = {"Authorization": f"Bearer {lake.token}"}
    failures, sent = [], 0
    try:
        for path in hostile_paths():
            for method in ("GET", "HEAD"):
                connection.request(method, path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                sent += 1
                shape_ok = method == "HEAD" or response.status < 400 or _iceberg_shape(body)
                if response.status >= 500 or not shape_ok:
                    failures.append(f"{method} {path[:120]}: {response.status} {body[:200]!r}")
    finally:
        connection.close()
    assert sent > 150
    assert not failures, "\n".join(failures)


def _iceberg_shape(body: bytes) -> bool:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and {"message", "type", "code"} <= set(error)


def test_what_is_refused_before_routing_is_in_the_iceberg_shape(iceberg: httpx.Client) -> None:
    """A NUL byte and a body over the limit are refused before any route, as everywhere."""
    refused(iceberg.get(f"{PROD}/tables/a%00b"), 400, "BadRequestException", "NUL")
    refused(iceberg.get(f"{PROD}/tables", params={"pageToken": "\x00"}), 400, "BadRequestException")
    big = iceberg.post(f"{PROD}/tables", content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    refused(big, 413, "BadRequestException", "larger than")
