"""``lakefeed.client`` against a real server: tokens, headers, paging, errors, a whole flow;
its retry policy against ``httpx.MockTransport`` (pure retry logic: which answer is retried,
how often, how long it waits) and a closed port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server
from lakefeed.catalog.auth import AuthStore
from lakefeed.catalog.records import Scope
from lakefeed.client import ApiError, AsyncClient, Client, ServerUnreachable
from lakefeed.client.http import Request, RetryPolicy
from lakefeed.errors import (
    AuthenticationRequired,
    ConnectionNotFound,
    InvalidFlow,
    PreconditionFailed,
    ResourceNotFound,
    RunNotRetriggerable,
)
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, profile_table

FS = "/data/foundation/flowservice"


class Recording(httpx.HTTPTransport):
    """The real network, with a list of the requests sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


@pytest.fixture(scope="module")
def credentials(server: Server) -> tuple[str, str]:
    return server.lf.auth.create_client(ORG)


@pytest.fixture
def connect(server: Server, credentials: tuple[str, str]) -> Iterator[Callable[..., Client]]:
    opened: list[Client] = []

    def make(**kw: Any) -> Client:
        options: dict[str, Any] = {
            "api_key": credentials[0],
            "client_secret": credentials[1],
            "ims_org_id": ORG,
            **kw,
        }
        client = Client(server.url, **options)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def local_spec_id(client: Client) -> str:
    (spec,) = [s for s in client.connection_specs() if s["name"] == "local-files"]
    return str(spec["id"])


# --- tokens and headers ------------------------------------------------------------------------


def test_the_secret_is_exchanged_once_and_every_call_has_the_four_headers(
    connect: Callable[..., Client], credentials: tuple[str, str]
) -> None:
    wire = Recording()
    client = connect(transport=wire)
    assert "local-files" in {s["name"] for s in client.connection_specs()}
    assert list(client.connections()) is not None
    token_calls = [r for r in wire.sent if r.url.path == "/ims/token/v3"]
    assert len(token_calls) == 1 and token_calls[0].method == "POST"
    assert b"grant_type=client_credentials" in token_calls[0].content
    platform = [r for r in wire.sent if r.url.path.startswith("/data/")]
    assert len(platform) == 2
    for request in platform:
        assert request.headers["authorization"].startswith("Bearer ")
        assert request.headers["x-api-key"] == credentials[0]
        assert request.headers["x-gw-ims-org-id"] == ORG
        assert request.headers["x-sandbox-name"] == "prod"
    assert credentials[1] not in repr(client)


def test_an_expired_token_is_renewed_once(
    server: Server, connect: Callable[..., Client], credentials: tuple[str, str]
) -> None:
    expired, _ = AuthStore(server.lf.db, token_ttl_seconds=-1).issue_token(credentials[0])
    wire = Recording()
    client = connect(access_token=expired, transport=wire)
    assert client.connection_specs()
    assert [(r.method, r.url.path) for r in wire.sent] == [
        ("GET", f"{FS}/connectionSpecs"),
        ("POST", "/ims/token/v3"),
        ("GET", f"{FS}/connectionSpecs"),
    ]
    # Without a secret there is nothing to renew it with: the 401 is raised, token-free.
    alone = connect(client_secret=None, access_token=expired)
    with pytest.raises(AuthenticationRequired) as raised:
        alone.connection_specs()
    assert "expired" in str(raised.value) and expired not in str(raised.value)


def test_a_wrong_secret_is_401_and_never_shown(connect: Callable[..., Client]) -> None:
    secret = "p8e-this-is-not-the-secret"
    client = connect(client_secret=secret)
    with pytest.raises(AuthenticationRequired) as raised:
        client.connection_specs()
    error = raised.value
    assert error.code == "LF-2001" and "client credentials" in str(error)
    assert secret not in str(error) and secret not in repr(error.to_dict())
    assert secret not in repr(client)


# --- paging and errors ---------------------------------------------------------------------------


def test_iter_pages_follows_next_links(
    server: Server, connect: Callable[..., Client], tmp_path: Path
) -> None:
    server.lf.auth.create_sandbox(ORG, "paging")
    wire = Recording()
    client = connect(sandbox_name="paging", transport=wire)
    spec = local_spec_id(client)
    for i in range(7):
        created = client.create_connection(
            f"conn-{i}", spec, "Local Path", {"rootPath": str(tmp_path)}
        )
        assert created["id"] and created["etag"]
    wire.sent.clear()
    names = [c["name"] for c in client.connections(limit=3)]
    assert names == [f"conn-{i}" for i in range(7)]
    pages = [r for r in wire.sent if r.url.path == f"{FS}/connections"]
    assert len(pages) == 3 and all("continuationToken" in str(r.url) for r in pages[1:])
    assert [c["name"] for c in client.connections(name="conn-4")] == ["conn-4"]
    assert [c["name"] for c in client.iter_pages(f"{FS}/connections", {"limit": 5})][-1] == "conn-6"


def test_error_answers_raise_lakefeed_errors(
    connect: Callable[..., Client], tmp_path: Path
) -> None:
    client = connect()
    with pytest.raises(ConnectionNotFound) as missing:
        client.connection("nope")
    assert missing.value.code == "LF-1101" and "'nope'" in str(missing.value)
    with pytest.raises(ResourceNotFound):
        client.run("no-such-run")
    created = client.create_connection(
        "patched", local_spec_id(client), "Local Path", {"rootPath": str(tmp_path)}
    )
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
    with pytest.raises(PreconditionFailed):
        client.patch_connection(created["id"], ops, '"stale"')
    changed = client.patch_connection(created["id"], ops, created["etag"])
    assert changed["etag"] != created["etag"]
    assert client.connection(created["id"])["name"] == "renamed"
    client.delete_connection(created["id"])
    with pytest.raises(ConnectionNotFound):
        client.connection(created["id"])
    with pytest.raises(ApiError) as unknown:
        client.send(Request("GET", f"{FS}/noSuchCollection"))
    assert unknown.value.status == 404 and unknown.value.code == "LF-404"
    assert "GET /data/foundation/flowservice/noSuchCollection answered 404" in str(unknown.value)


# --- a flow, end to end ----------------------------------------------------------------------


def _landing(tmp_path: Path, tenant: str) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    table = profile_table(10, tenant_id=tenant, bad={3: "gender"})
    pq.write_table(table.drop_columns([f"_{tenant}"]), root / "a.parquet")
    return root


def test_a_flow_runs_through_the_client(
    server: Server, connect: Callable[..., Client], tmp_path: Path
) -> None:
    """The schema and the dataset are made locally: only Flow Service routes are used."""
    scoped = server.lf.scoped(Scope(ORG, "prod"))
    schema = scoped.schemas.create_schema("Client flow", PROFILE_CLASS, list(PROFILE_FIELD_GROUPS))
    dataset = scoped.datasets.create("client-flow", schema["$id"])
    root = _landing(tmp_path, scoped.schemas.tenant_id)
    client = connect()
    base = client.create_connection(
        "client-flow", local_spec_id(client), "Local Path", {"rootPath": str(root)}
    )
    source = client.create_source_connection("client-flow-source", base["id"], ".")
    target = client.create_target_connection(
        "client-flow-target", dataset.id, schema_id=schema["$id"]
    )
    flow = client.create_flow(
        "client-flow", source["id"], target["id"], options={"partialIngestionPercent": 50}
    )
    assert client.flow(flow["id"])["sourceConnectionIds"] == [source["id"]]
    assert client.source_connection(source["id"])["params"]["path"] == "."
    assert client.target_connection(target["id"])["params"]["dataSetId"] == dataset.id
    run = client.wait_for_run(client.create_run(flow["id"])["id"], timeout=120, poll=0.1)
    assert run["state"] == "completed"
    assert run["metrics"]["statusSummary"]["status"] == "success"
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == 9
    assert [r["id"] for r in client.runs(flow["id"])] == [run["id"]]
    assert client.backlog(flow["id"], refresh=True)["files"] == 0  # the run took the file
    again = client.wait_for_run(client.run_now(flow["id"])["id"], timeout=120, poll=0.1)
    assert again["metrics"]["fileSummary"]["inputFileCount"] == 0
    with pytest.raises(RunNotRetriggerable):
        client.retrigger_run(run["id"])  # it did not fail
    assert client.flow_action(flow["id"], "disable")["etag"]
    assert client.flow(flow["id"])["state"] == "disabled"
    with pytest.raises(InvalidFlow):
        client.create_run(flow["id"])


def test_schema_dataset_batches_and_row_errors_through_the_client(
    server: Server, connect: Callable[..., Client], tmp_path: Path
) -> None:
    """Needs the Schema Registry, Catalog and export routes as well."""
    client = connect()
    schema = client.create_schema(
        {
            "title": "Client profiles",
            "type": "object",
            "allOf": [{"$ref": PROFILE_CLASS}, *({"$ref": g} for g in PROFILE_FIELD_GROUPS)],
        }
    )
    assert client.schema(schema["$id"])["title"] == "Client profiles"
    profile = client.schema("_xdm.context.profile", kind="classes")  # a standard class
    assert profile["$id"] == PROFILE_CLASS
    assert "properties" in str(client.schema(schema["$id"], full=True))
    dataset_id = client.create_dataset("client-profiles", schema["$id"])
    assert client.dataset(dataset_id)["name"] == "client-profiles"
    assert dataset_id in {d["id"] for d in client.datasets()}
    root = _landing(tmp_path, server.lf.scoped(Scope(ORG, "prod")).schemas.tenant_id)
    base = client.create_connection(
        "client-cat", local_spec_id(client), "Local Path", {"rootPath": str(root)}
    )
    source = client.create_source_connection("client-cat-source", base["id"], ".")
    target = client.create_target_connection("client-cat-target", dataset_id)
    flow = client.create_flow(
        "client-cat", source["id"], target["id"], options={"partialIngestionPercent": 50}
    )
    run = client.wait_for_run(client.create_run(flow["id"])["id"], timeout=120, poll=0.1)
    (batch,) = client.batches(dataset_id)
    assert client.batch(batch["id"])["metrics"]["outputRecordCount"] == 9
    (rejected,) = client.row_errors(batch["id"])
    assert rejected["_errors"] and run["metrics"]["recordSummary"]["failedRecordCount"] == 1


def test_async_client(server: Server, credentials: tuple[str, str], tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncClient(
            server.url, api_key=credentials[0], client_secret=credentials[1], ims_org_id=ORG
        ) as client:
            specs = await client.connection_specs()
            spec = next(s["id"] for s in specs if s["name"] == "local-files")
            created = await client.create_connection(
                "async-one", spec, "Local Path", {"rootPath": str(tmp_path)}
            )
            assert (await client.connection(created["id"]))["name"] == "async-one"
            names = [c["name"] async for c in client.connections(limit=1)]
            assert "async-one" in names
            with pytest.raises(ConnectionNotFound):
                await client.connection("nope")
            with pytest.raises(ResourceNotFound):
                await client.backlog("no-such-flow")

    asyncio.run(main())


# --- retries (pure logic: MockTransport, and a closed port) ------------------------------------


def _flaky(statuses: list[int]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Platform calls answer ``statuses`` in turn (Retry-After: 0), then 200."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ims/token/v3":
            return httpx.Response(200, json={"access_token": "t0k3n", "expires_in": 60})
        seen.append(request)
        if statuses:
            return httpx.Response(
                statuses.pop(0), headers={"Retry-After": "0"}, json={"title": "Unavailable"}
            )
        if request.method == "POST":
            return httpx.Response(201, json={"id": "r1", "etag": '"e"'})
        return httpx.Response(200, json={"items": [{"id": "x"}], "_links": {}})

    return httpx.MockTransport(handle), seen


def _mocked(transport: httpx.MockTransport, retries: int = 3) -> Client:
    # backoff 30 s: a test that waited for backoff instead of Retry-After: 0 would time out.
    return Client(
        "http://lakefeed.test",
        api_key="k",
        client_secret="s3cret",
        ims_org_id=ORG,
        retries=retries,
        backoff=30,
        transport=transport,
    )


def test_503_429_and_5xx_are_retried_with_retry_after() -> None:
    transport, seen = _flaky([503, 429, 502])
    assert _mocked(transport).run("x") == {"id": "x"}
    assert len(seen) == 4


def test_retries_run_out() -> None:
    transport, seen = _flaky([503] * 10)
    with pytest.raises(ApiError) as raised:
        _mocked(transport, retries=2).run("x")
    assert raised.value.status == 503 and len(seen) == 3


def test_a_post_is_repeated_only_when_the_server_did_nothing() -> None:
    transport, seen = _flaky([500])
    with pytest.raises(ApiError):
        _mocked(transport).create_run("f")
    assert len(seen) == 1
    transport, seen = _flaky([503])
    assert _mocked(transport).create_run("f")["id"] == "r1"
    assert len(seen) == 2


def test_retry_delays() -> None:
    policy = RetryPolicy(retries=3, backoff=1.0)
    answer = httpx.Response(429, headers={"Retry-After": "2"})
    assert policy.delay(0, answer) == 2
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "9999"})) == 60
    dated = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert policy.delay(0, dated) == 0  # a date in the past: now
    assert 0.5 <= policy.delay(0) <= 1 and 2 <= policy.delay(2) <= 4


def test_an_unreachable_server_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Client(
        f"http://127.0.0.1:{port}",
        api_key="k",
        client_secret="s3cret-value",
        ims_org_id=ORG,
        retries=2,
        backoff=0.01,
    )
    with pytest.raises(ServerUnreachable) as raised:
        client.connection_specs()
    assert "after 3 attempt(s)" in str(raised.value) and "s3cret-value" not in str(raised.value)


def test_a_client_needs_a_secret_or_a_token() -> None:
    from lakefeed.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        Client("http://127.0.0.1:1", api_key="k", ims_org_id=ORG)
