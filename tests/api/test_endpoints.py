"""``LAKEFEED_ALLOW_ENDPOINTS``: over REST, connections may not reach loopback, link-local
(cloud metadata), private or unspecified addresses unless the server allows them — when they
are stored, changed, tested, explored and read — and errors never quote what an endpoint
sent."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api_support import ORG, Server, running_server
from faultproxy import BannerServer, SilentServer
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.errors import StorageError
from lakefeed.testing.profiles import create_profile_schema

FS = "/data/foundation/flowservice"
S3 = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
AZURE = "4c10e202-c428-4796-9208-5f1f5732b1cf"
ADLS = "b3ba5556-48be-44b7-8b85-ff2b69b46dc4"
GCS = "32e8f412-cdf7-464c-9885-78184cb113fd"
SFTP = "b7bf2577-4520-42c9-bae9-cad01560f7bc"
KEY = base64.b64encode(b"k" * 64).decode()
BANNER = b"SECRET-BANNER-7f3a internal build server"


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


@pytest.fixture(scope="module")
def banner() -> Iterator[BannerServer]:
    page = b"<html><body>" + BANNER + b"</body></html>"
    answer = (
        b"HTTP/1.1 418 I'm a teapot\r\nContent-Type: text/html\r\n"
        + f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n".encode()
        + page
    )
    with BannerServer(answer) as server:
        yield server


@pytest.fixture(scope="module")
def closed(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    """A server without LAKEFEED_ALLOW_ENDPOINTS."""
    with running_server(
        tmp_path_factory.mktemp("closed-endpoints"), database_url=server_database()
    ) as running:
        yield running


@pytest.fixture(scope="module")
def allowing(
    tmp_path_factory: pytest.TempPathFactory,
    banner: BannerServer,
    server_database: Callable[[], str | None],
) -> Iterator[Server]:
    """A server that allows the banner server's port on 127.0.0.1, and nothing else."""
    home = tmp_path_factory.mktemp("allowing-endpoints")
    with running_server(
        home, allow_endpoints=[f"127.0.0.1:{banner.port}"], database_url=server_database()
    ) as running:
        yield running


def body(spec: str, auth_spec: str, params: dict[str, Any], name: str = "probe") -> dict:
    return {
        "name": name,
        "auth": {"specName": auth_spec, "params": params},
        "connectionSpec": {"id": spec, "version": "1.0"},
    }


def s3(url: str) -> dict:
    return body(S3, "Access Key", {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": url})


def service_account(token_uri: str) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "client_email": "probe@example.iam.gserviceaccount.com",
            "private_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
            "token_uri": token_uri,
            "project_id": "probe",
        }
    )


#: (what is probed, request body, the endpoint the refusal names)
PROBES = [
    ("loopback", s3("http://127.0.0.1:5000"), "127.0.0.1:5000"),
    ("localhost", s3("http://localhost:5000"), "localhost:5000"),
    ("localhost.", s3("http://localhost.:5000"), "localhost.:5000"),
    ("metadata", s3("http://169.254.169.254/latest/meta-data"), "169.254.169.254:80"),
    ("10/8", s3("https://10.0.0.7:9000"), "10.0.0.7:9000"),
    ("192.168/16", s3("http://192.168.1.20"), "192.168.1.20:80"),
    ("unspecified", s3("http://0.0.0.0:5000"), "0.0.0.0:5000"),
    ("ipv6 loopback", s3("http://[::1]:5000"), "[::1]:5000"),
    ("ipv4-mapped", s3("http://[::ffff:127.0.0.1]:5000"), "[::ffff:127.0.0.1]:5000"),
    ("decimal", s3("http://2130706433:5000"), "2130706433:5000"),
    ("octal", s3("http://0177.0.0.1:5000"), "0177.0.0.1:5000"),
    ("short", s3("http://127.1:5000"), "127.1:5000"),
    (
        "gcs endpoint",
        body(GCS, "Anonymous Access for google-cloud", {"serviceUrl": "http://127.0.0.1:4443"}),
        "127.0.0.1:4443",
    ),
    (
        "gcs hmac",
        body(
            GCS,
            "Basic Authentication for google-cloud",
            {"accessKeyId": "a", "secretAccessKey": "s", "serviceUrl": "http://10.1.1.1:80"},
        ),
        "10.1.1.1:80",
    ),
    (
        "gcs token_uri",
        body(
            GCS,
            "Service Account Authentication for google-cloud",
            {"serviceAccountKey": service_account("http://169.254.169.254/computeMetadata/v1")},
        ),
        "169.254.169.254:80",
    ),
    (
        "azure BlobEndpoint",
        body(
            AZURE,
            "ConnectionString",
            {
                "connectionString": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
            },
        ),
        "127.0.0.1:10000",
    ),
    (
        "azure lower-case key",
        body(
            AZURE,
            "ConnectionString",
            {
                "connectionString": f"AccountName=public;AccountKey={KEY};"
                "blobendpoint=http://127.0.0.1:10000/devstoreaccount1"
            },
        ),
        "127.0.0.1:10000",
    ),
    (
        "azure development storage",
        body(AZURE, "ConnectionString", {"connectionString": "UseDevelopmentStorage=true"}),
        "127.0.0.1:10000",
    ),
    (
        "azure account name",
        body(
            AZURE,
            "ConnectionString",
            {"connectionString": f"AccountName=u@127.0.0.1:10000/x#;AccountKey={KEY}"},
        ),
        "127.0.0.1:10000",
    ),
    (
        "azure sas injection",
        body(
            AZURE,
            "SAS URI Authentication",
            {
                "sasUri": "https://8.8.8.8/c?sv=2024&sig=x;"
                "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"
            },
        ),
        "127.0.0.1:10000",
    ),
    (
        "adls account url",
        body(
            ADLS,
            "Account Key Authentication for adls-gen2",
            {"url": "http://127.0.0.1:10000/devstoreaccount1", "accountKey": KEY},
        ),
        "127.0.0.1:10000",
    ),
    (
        "sftp",
        body(
            SFTP,
            "Basic Authentication for sftp",
            {"host": "127.0.0.1", "port": 2222, "userName": "u", "password": "p"},
        ),
        "127.0.0.1:2222",
    ),
    (
        "sftp private",
        body(
            SFTP,
            "Basic Authentication for sftp",
            {"host": "172.16.0.9", "userName": "u", "password": "p"},
        ),
        "172.16.0.9:22",
    ),
]


def refused(response: httpx.Response, endpoint: str) -> str:
    assert response.status_code == 403, response.text
    report = response.json()["report"]
    assert report["code"] == "LF-2121", report
    message = f"{report['detailed-message']} {report.get('fix')}"
    assert endpoint in message and f"LAKEFEED_ALLOW_ENDPOINTS={endpoint}" in message, message
    assert "--allow-endpoint" in message
    return message


@pytest.mark.parametrize(("probe", "request_body", "endpoint"), PROBES, ids=[p[0] for p in PROBES])
def test_creating_a_connection_to_a_non_public_address_is_refused(
    closed: Server, probe: str, request_body: dict, endpoint: str
) -> None:
    with closed.client() as api:
        refused(api.post(f"{FS}/connections", json=request_body), endpoint)
        assert api.get(f"{FS}/connections").json()["items"] == []


def test_public_endpoints_are_stored(closed: Server) -> None:
    with closed.client() as api:
        public = api.post(f"{FS}/connections", json=s3("https://8.8.8.8:9000"))
        assert public.status_code == 201, public.text
        default = body(S3, "Access Key", {"s3AccessKey": "a", "s3SecretKey": "s"}, "aws")
        aws = api.post(f"{FS}/connections", json=default)  # s3.amazonaws.com
        assert aws.status_code == 201, aws.text
        api.delete(f"{FS}/connections/{public.json()['id']}")
        api.delete(f"{FS}/connections/{aws.json()['id']}")


def test_patching_a_connection_to_a_refused_endpoint_is_refused(closed: Server) -> None:
    with closed.client() as api:
        created = api.post(f"{FS}/connections", json=s3("https://8.8.8.8:9000")).json()
        url = f"{FS}/connections/{created['id']}"
        try:
            to_loopback = [
                {"op": "replace", "path": "/auth/params/serviceUrl", "value": "http://[::1]:5000"}
            ]
            patched = api.patch(url, json=to_loopback, headers={"If-Match": created["etag"]})
            refused(patched, "[::1]:5000")
            (item,) = api.get(url).json()["items"]
            assert item["auth"]["params"]["serviceUrl"] == "https://8.8.8.8:9000"
            whole = {"s3AccessKey": "a", "s3SecretKey": "********", "serviceUrl": "http://10.2.3.4"}
            patched = api.patch(
                url,
                json=[{"op": "replace", "path": "/auth/params", "value": whole}],
                headers={"If-Match": created["etag"]},
            )
            refused(patched, "10.2.3.4:80")
        finally:
            api.delete(url)


def stored(server: Server, name: str, url: str) -> str:
    """An S3 connection and a flow over it, stored with the Python API (not confined)."""
    lf: Lakefeed = server.lf.scoped(Scope(ORG, "prod"))
    params = {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": url, "bucketName": "b"}
    base = lf.create_connection(name, "amazon-s3", None, params)
    dataset = lf.datasets.create(f"{name}-profiles", create_profile_schema(lf.schemas)["$id"])
    source = lf.flows.create_source_connection(
        name=f"{name}-s", base_connection_id=base.id, path="in"
    )
    target = lf.flows.create_target_connection(name=f"{name}-t", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name=name, source_connection_ids=[source.id], target_connection_ids=[target.id]
    )
    return str(flow.id)


def test_a_stored_connection_is_checked_again_when_it_connects(
    closed: Server, silent: SilentServer
) -> None:
    """A connection stored some other way (CLI, Python, a changed allow-list) is refused at
    connect time, before any packet reaches the endpoint: test, explore and runs."""
    flow_id = stored(closed, "stored", f"http://localhost:{silent.port}")
    endpoint = f"localhost:{silent.port}"
    with closed.client() as api:
        (item,) = [c for c in api.get(f"{FS}/connections").json()["items"] if c["name"] == "stored"]
        refused(api.get(f"{FS}/connections/{item['id']}/test"), endpoint)
        refused(api.get(f"{FS}/connections/{item['id']}/explore"), endpoint)
        started = api.post(f"{FS}/runs", json={"flowId": flow_id})
        assert started.status_code in (200, 201), started.text
        runs = closed.lf.scoped(Scope(ORG, "prod")).runs
        deadline = time.monotonic() + 60
        while not [r for r in runs.list(flow_id) if r.state == "completed"]:
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.05)
        (run,) = runs.list(flow_id)
        assert run.status == "failed"
        (error,) = run.metrics["statusSummary"]["errors"]
        assert error["code"] == "LF-2121" and endpoint in error["message"]
    assert silent.accepted == 0


def test_an_allowed_endpoint_is_reached_but_not_quoted(
    allowing: Server, banner: BannerServer, silent: SilentServer
) -> None:
    """The allow-list opens exactly its entries; what the endpoint answers stays out of REST
    answers (the same connection used from Python shows it)."""
    gcs = body(
        GCS,
        "Anonymous Access for google-cloud",
        {"serviceUrl": f"http://127.0.0.1:{banner.port}", "bucketName": "b"},
        "banner",
    )
    with allowing.client() as api:
        refused(api.post(f"{FS}/connections", json=s3(silent.url)), f"127.0.0.1:{silent.port}")
        created = api.post(f"{FS}/connections", json=gcs)
        assert created.status_code == 201, created.text
        accepted = banner.accepted
        tested = api.get(f"{FS}/connections/{created.json()['id']}/test")
        assert banner.accepted > accepted  # it was reached
        assert tested.status_code >= 400 and tested.json()["report"]["code"].startswith("LF-2")
        assert b"SECRET-BANNER" not in tested.content and b"teapot" not in tested.content
        assert "not shown by this server" in tested.json()["report"]["detailed-message"]
    local = allowing.lf.scoped(Scope(ORG, "prod")).session("banner")
    with pytest.raises(StorageError) as error:
        local.test()
    assert "SECRET-BANNER" in str(error.value)
