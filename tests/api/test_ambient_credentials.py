"""``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS``: over REST, a connection may act with the server's own
cloud identity (an auth spec marked ambient) only when the operator allows it; otherwise it is
refused — on create, and on every use of one made while it was allowed — with a 403 that
names the variable. The CLI and the Python API use such connections freely.

The server's identity here is an AWS key pair in its environment, valid on Ceph RGW (which
checks signatures), used through S3's ``Default Credential Chain``."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_support import FS, ORG, Server, created, running_server, wait_for_run
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.config import Settings
from lakefeed.errors import AmbientCredentialsForbidden, InvalidRequest
from lakefeed.specs import AuthSpec
from lakefeed.storage.endpoints import EndpointPolicy
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from lakefeed.testing.profiles import create_profile_schema, profile_table
from tests_support import server_env

pytestmark = pytest.mark.servers
S3 = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
AZURE_BLOB = "4c10e202-c428-4796-9208-5f1f5732b1cf"
ADLS = "b3ba5556-48be-44b7-8b85-ff2b69b46dc4"
GCS = "32e8f412-cdf7-464c-9885-78184cb113fd"
GCS_ADC = "Application Default Credentials for google-cloud"
VARIABLE = "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS"
#: A public host an API client could own: the server's identity must never be sent there.
EVIL = "https://evil.example.com"


@pytest.fixture
def server_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The server process's own AWS identity: RGW's keys in its environment, nothing else.
    Returns the secret key."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    secret = server_env("LAKEFEED_TEST_RGW_SECRET_KEY")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return secret


def keys_session() -> Any:
    """A session on RGW with its keys given, as the test's own writer."""
    params = {
        "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
        "s3SecretKey": server_env("LAKEFEED_TEST_RGW_SECRET_KEY"),
        "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
    }
    return Lakefeed().session_for("amazon-s3", params, "Access Key")


@pytest.fixture
def bucket() -> str:
    """An empty bucket on RGW."""
    name = f"ambient-{uuid.uuid4().hex[:8]}"
    ensure_folder(keys_session().fs, name)
    return name


def chain_body(name: str, bucket: str) -> dict[str, Any]:
    return {
        "name": name,
        "auth": {
            "specName": "Default Credential Chain",
            "params": {
                "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
                "bucketName": bucket,
            },
        },
        "connectionSpec": {"id": S3, "version": "1.0"},
    }


def role_body(name: str) -> dict[str, Any]:
    moto = server_env("LAKEFEED_TEST_S3_ENDPOINT")
    params = {
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "serviceUrl": moto,
        "stsEndpoint": moto,
    }
    return {
        "name": name,
        "auth": {"specName": "IAMRole Based", "params": params},
        "connectionSpec": {"id": S3, "version": "1.0"},
    }


def ambient_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    report = response.json()["report"]
    assert report["code"] == "LF-2122"
    assert f"{VARIABLE} is not set to 1" in report["detailed-message"]
    assert f"{VARIABLE}=1" in report["fix"]


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ambient-home")


@contextmanager
def serving(
    home: Path, database_url: str | None, *, allowed: bool, also_allow: tuple[str, ...] = ()
) -> Iterator[tuple[Server, httpx.Client]]:
    """A server over ``home`` that allows loopback endpoints (the test servers) and
    ``also_allow``, and ambient credentials when ``allowed``; with a client of org ACME,
    sandbox prod."""
    with (
        running_server(
            home,
            allow_endpoints=["127.0.0.1", *also_allow],
            database_url=database_url,
            allow_ambient_credentials=allowed,
        ) as server,
        server.client() as api,
    ):
        yield server, api


def python_made_flow(server: Server, connection_id: str, bucket: str) -> str:
    """A flow through ``connection_id`` made with the Python API (not confined), over a
    folder ``in`` of ``bucket`` holding one file of 4 rows."""
    lf: Lakefeed = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    rows = parquet_bytes(profile_table(4, tenant_id=lf.schemas.tenant_id))
    put(keys_session(), {f"/{bucket}/in/a.parquet": rows})
    dataset = lf.datasets.create(f"d-{uuid.uuid4().hex[:6]}", schema["$id"])
    source = lf.flows.create_source_connection(
        name=f"s-{uuid.uuid4().hex[:6]}", base_connection_id=connection_id, path="in"
    )
    target = lf.flows.create_target_connection(
        name=f"t-{uuid.uuid4().hex[:6]}", dataset_id=dataset.id
    )
    flow = lf.flows.create_flow(
        name=f"f-{uuid.uuid4().hex[:6]}",
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
    )
    return str(flow.id)


def test_the_setting_reads_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings.load(tmp_path).allow_ambient_credentials is False
    monkeypatch.setenv(VARIABLE, "1")
    assert Settings.load(tmp_path).allow_ambient_credentials is True
    monkeypatch.setenv(VARIABLE, "0")
    assert Settings.load(tmp_path).allow_ambient_credentials is False
    monkeypatch.setenv(VARIABLE, "maybe")
    with pytest.raises(InvalidRequest, match=VARIABLE):
        Settings.load(tmp_path)


def test_without_the_variable_ambient_connections_are_refused(
    home: Path, server_identity: str, bucket: str
) -> None:
    with serving(home, None, allowed=False) as (server, api):
        ambient_refused(api.post(f"{FS}/connections", json=chain_body("chain", bucket)))
        ambient_refused(api.post(f"{FS}/connections", json=role_body("role")))
        assert api.get(f"{FS}/connections").json()["items"] == []
        # The specs say which auth specs are ambient; the others are not concerned.
        (s3,) = api.get(f"{FS}/connectionSpecs/{S3}").json()["items"]
        ambient = {a["name"] for a in s3["authSpec"] if a["spec"].get("x-ambient")}
        assert ambient == {"Default Credential Chain", "IAMRole Based"}
        keys = {
            "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
            "s3SecretKey": server_identity,
            "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
        }
        with_keys = api.post(
            f"{FS}/connections",
            json={**chain_body("keys", bucket), "auth": {"specName": "Access Key", "params": keys}},
        )
        created(with_keys)
        # The Python API (and the CLI) are not confined: the same identity works there.
        params = chain_body("chain", bucket)["auth"]["params"]
        python = server.lf.session_for("amazon-s3", params, "Default Credential Chain")
        assert python.test() == f"listed bucket {bucket!r}"


def test_allowed_connections_are_locked_out_once_the_variable_is_gone(
    home: Path, server_identity: str, bucket: str
) -> None:
    with serving(home, None, allowed=True) as (server, api):
        body = chain_body("chain", bucket)
        connection_id = created(api.post(f"{FS}/connections", json=body))["id"]
        flow_id = python_made_flow(server, connection_id, bucket)
        tested = api.get(f"{FS}/connections/{connection_id}/test")
        assert tested.status_code == 200 and tested.json()["result"] is True, tested.text
        explored = api.get(f"{FS}/connections/{connection_id}/explore")
        assert [item["name"] for item in explored.json()] == ["in"]
        started = api.post(f"{FS}/runs", json={"flowId": flow_id})
        assert started.status_code == 201, started.text
        run = wait_for_run(api, started.json()["items"][0]["id"])
        assert run["metrics"]["recordSummary"]["outputRecordCount"] == 4, run["metrics"][
            "statusSummary"
        ]
        etag = api.get(f"{FS}/connections/{connection_id}").json()["items"][0]["etag"]

    # The operator restarts the server without the variable: the connection stays readable,
    # but nothing may use the server's identity through it any more.
    with serving(home, None, allowed=False) as (server, api):
        shown = api.get(f"{FS}/connections/{connection_id}")
        assert shown.status_code == 200
        uses = [
            api.get(f"{FS}/connections/{connection_id}/test"),
            api.get(f"{FS}/connections/{connection_id}/explore"),
            api.patch(
                f"{FS}/connections/{connection_id}",
                json=[{"op": "replace", "path": "/auth/params/bucketName", "value": "other"}],
                headers={"If-Match": etag},
            ),
            api.post(
                f"{FS}/sourceConnections",
                json={
                    "name": "more",
                    "baseConnectionId": connection_id,
                    "connectionSpec": {"id": S3, "version": "1.0"},
                    "data": {"format": "parquet"},
                    "params": {"path": "in"},
                },
            ),
            api.post(f"{FS}/runs", json={"flowId": flow_id}),
            api.post(f"{FS}/flows/{flow_id}/runs"),
        ]
        for answer in uses:
            ambient_refused(answer)
        assert len(api.get(f"{FS}/runs").json()["items"]) == 1  # no run was started


def test_the_policy_checks_only_ambient_auth_specs() -> None:
    lf = Lakefeed()
    chain = lf.connection_spec("amazon-s3").auth_spec("Default Credential Chain")
    keys = lf.connection_spec("amazon-s3").auth_spec("Access Key")
    closed, open_ = EndpointPolicy(), EndpointPolicy(ambient_credentials=True)
    aws = [("s3.amazonaws.com", 443)]
    with pytest.raises(AmbientCredentialsForbidden, match=VARIABLE):
        closed.check_credentials(chain, source="'s3'", endpoints=aws)
    closed.check_credentials(keys, source="'s3'", endpoints=aws)
    open_.check_credentials(chain, source="'s3'", endpoints=aws)
    assert "ambient_credentials=True" in repr(open_)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name of example.com the process looks up (each fails: no real DNS is asked)."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        if "example" in str(host):
            looked_up.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "not looked up in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return looked_up


def hostile_bodies() -> list[dict[str, Any]]:
    """One connection per bundled ambient auth spec, each naming the client's own host where
    the server's identity would go (the storage endpoint, or the STS endpoint of a role)."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        (S3, "Default Credential Chain", {"serviceUrl": EVIL}),
        (S3, "IAMRole Based", {"roleArn": "arn:aws:iam::123456789012:role/r", "stsEndpoint": EVIL}),
        (AZURE_BLOB, "Default Azure Credential", {"serviceEndpoint": EVIL}),
        (ADLS, "Default Azure Credential for adls-gen2", {"url": EVIL}),
        (GCS, GCS_ADC, {"serviceUrl": EVIL}),
    ]
    return [
        {
            "name": f"hostile-{index}",
            "auth": {"specName": auth, "params": params},
            "connectionSpec": {"id": spec, "version": "1.0"},
        }
        for index, (spec, auth, params) in enumerate(specs)
    ]


def endpoint_refused(response: httpx.Response, endpoint: str = "evil.example.com:443") -> None:
    assert response.status_code == 403, response.text
    report = response.json()["report"]
    assert report["code"] == "LF-2123", report
    assert f"The endpoint {endpoint} of" in report["detailed-message"]
    assert "this server's own cloud identity" in report["detailed-message"]
    assert f"LAKEFEED_ALLOW_ENDPOINTS={endpoint}" in report["fix"]


def flow_through(server: Server, connection_id: str) -> str:
    """A flow reading folder ``in`` through ``connection_id``, made with the Python API."""
    lf: Lakefeed = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create(f"d-{uuid.uuid4().hex[:6]}", schema["$id"])
    source = lf.flows.create_source_connection(
        name=f"s-{uuid.uuid4().hex[:6]}", base_connection_id=connection_id, path="in"
    )
    target = lf.flows.create_target_connection(
        name=f"t-{uuid.uuid4().hex[:6]}", dataset_id=dataset.id
    )
    flow = lf.flows.create_flow(
        name=f"f-{uuid.uuid4().hex[:6]}",
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
    )
    return str(flow.id)


def test_ambient_connections_never_send_the_servers_identity_to_a_client_named_host(
    home: Path, lookups: list[str]
) -> None:
    """With ambient credentials enabled, a public host the client names (the endpoint policy
    lets public hosts through) is refused on create, PATCH, test, explore and run — by name,
    before any lookup or connection."""
    with serving(home, None, allowed=True) as (server, api):
        for body in hostile_bodies():
            endpoint_refused(api.post(f"{FS}/connections", json=body))
        assert api.get(f"{FS}/connections").json()["items"] == []

        # A good ambient connection may not be pointed elsewhere.
        good = created(api.post(f"{FS}/connections", json=chain_body("chain", "drop")))
        endpoint_refused(
            api.patch(
                f"{FS}/connections/{good['id']}",
                json=[{"op": "replace", "path": "/auth/params/serviceUrl", "value": EVIL}],
                headers={"If-Match": good["etag"]},
            )
        )

        # One stored with the Python API (not confined) is refused at every use.
        lf = server.lf.scoped(Scope(ORG, "prod"))
        stored = lf.create_connection("gcs", "google-cloud", GCS_ADC, {"serviceUrl": EVIL})
        flow_id = flow_through(server, stored.id)
        for answer in (
            api.get(f"{FS}/connections/{stored.id}/test"),
            api.get(f"{FS}/connections/{stored.id}/explore"),
            api.post(f"{FS}/runs", json={"flowId": flow_id}),
        ):
            endpoint_refused(answer)
        assert api.get(f"{FS}/runs").json()["items"] == []
    assert lookups == []


def test_endpoints_the_operator_lists_may_receive_the_identity(
    home: Path, lookups: list[str]
) -> None:
    with serving(home, None, allowed=True, also_allow=("storage.internal.example",)) as (_, api):
        body = hostile_bodies()[-1]  # GCS
        body["auth"]["params"]["serviceUrl"] = "https://storage.internal.example"
        created(api.post(f"{FS}/connections", json=body))
    assert lookups == []  # a listed name is not looked up either


def test_the_vendor_endpoints_of_every_ambient_auth_spec_pass() -> None:
    """The policy alone (no request): the vendors' own endpoints, on https's port."""
    policy = EndpointPolicy(ambient_credentials=True)
    vendor = {
        "Default Credential Chain": ("s3.eu-west-1.amazonaws.com", 443),
        "IAMRole Based": ("sts.amazonaws.com", 443),
        "Default Azure Credential": ("acct.blob.core.windows.net", 443),
        "Default Azure Credential for adls-gen2": ("acct.dfs.core.windows.net", 443),
        GCS_ADC: ("storage.googleapis.com", 443),
    }
    ambient: list[AuthSpec] = [
        auth for spec in Lakefeed().connection_specs() for auth in spec.auth_specs if auth.ambient
    ]
    assert {auth.name for auth in ambient} == set(vendor)
    for auth in ambient:
        policy.check_credentials(auth, source="'probe'", endpoints=[vendor[auth.name]])
