"""``lakefeed.client`` against a real server: tokens, headers, paging, errors, a whole flow;
its retry policy against ``httpx.MockTransport`` (pure retry logic: which answer is retried,
how often, how long it waits) and a closed port.

Every scenario runs twice, once with ``Client`` and once with ``AsyncClient`` (through
:class:`Blocking`, which runs its coroutines to completion), each kind against a fresh server."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, running_server
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
from tests_support import free_port

FS = "/data/foundation/flowservice"


class Recording:
    """The real network, with a list of the requests sent (by either kind of client: pass it
    as ``transport``)."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []


class _RecordingTransport(httpx.HTTPTransport):
    def __init__(self, sent: list[httpx.Request]) -> None:
        super().__init__()
        self.sent = sent

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


class _AsyncRecordingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, sent: list[httpx.Request]) -> None:
        super().__init__()
        self.sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await super().handle_async_request(request)


class Blocking:
    """An :class:`AsyncClient` behind :class:`Client`'s blocking methods, so a test written for
    one runs against the other: each call runs to completion on the adapter's own event loop,
    and a listing becomes an iterator that awaits its next item when asked for it (paging
    stays lazy, as the async iterator is)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    def __repr__(self) -> str:
        return repr(self._client)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = attribute(*args, **kwargs)
            if isinstance(answer, AsyncIterator):
                return self._iterate(answer)
            assert inspect.isawaitable(answer), (
                f"AsyncClient.{name} is neither awaited nor a listing"
            )
            return self._loop.run_until_complete(answer)

        return call

    def _iterate(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self._loop.run_until_complete(anext(items))
            except StopAsyncIteration:
                return

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()


@pytest.fixture(scope="module", params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client the module's tests use; ``AsyncClient`` runs through :class:`Blocking`."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    server_database: Callable[[], str | None],
) -> Iterator[Server]:
    # One server per kind: both kinds' scenarios start from the same empty server
    # (tests/api/conftest.py's server, once more).
    home, tmp = tmp_path_factory.mktemp(f"client-{kind}-home"), tmp_path_factory.getbasetemp()
    with running_server(
        home, local_roots=[tmp], allow_endpoints=["127.0.0.1"], database_url=server_database()
    ) as running:
        yield running


@pytest.fixture
def open_client(kind: str) -> Iterator[Callable[..., Client]]:
    """``Client(base_url, **options)``, or the same ``AsyncClient`` behind :class:`Blocking`;
    a :class:`Recording` passed as ``transport`` records what that client sends. Closed after
    the test."""
    opened: list[Any] = []

    def make(base_url: str, **kw: Any) -> Client:
        client: Any
        if kind == "sync":
            if isinstance(kw.get("transport"), Recording):
                kw["transport"] = _RecordingTransport(kw["transport"].sent)
            client = Client(base_url, **kw)
        else:
            if isinstance(kw.get("transport"), Recording):
                kw["transport"] = _AsyncRecordingTransport(kw["transport"].sent)
            client = Blocking(AsyncClient(base_url, **kw))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture(scope="module")
def credentials(server: Server) -> tuple[str, str]:
    return server.lf.auth.create_client(ORG)


@pytest.fixture
def connect(
    server: Server, credentials: tuple[str, str], open_client: Callable[..., Client]
) -> Callable[..., Client]:
    def make(**kw: Any) -> Client:
        options: dict[str, Any] = {
            "api_key": credentials[0],
            "client_secret": credentials[1],
            "ims_org_id": ORG,
            **kw,
        }
        return open_client(server.url, **options)

    return make


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
    # A second call, a listing: the token is reused (one exchange, asserted below).
    assert all(c["name"] for c in client.connections())
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


@pytest.mark.parametrize("kind", ["async"], indirect=True)
def test_async_client(server: Server, credentials: tuple[str, str], tmp_path: Path) -> None:
    """``AsyncClient`` as it is written: ``async with``, ``await`` and ``async for``."""

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


@pytest.fixture
def mocked(open_client: Callable[..., Client]) -> Callable[..., Client]:
    def make(transport: httpx.MockTransport, retries: int = 3) -> Client:
        # backoff 30 s: a test that waited for backoff instead of Retry-After: 0 would time out.
        return open_client(
            "http://lakefeed.test",
            api_key="k",
            client_secret="s3cret",
            ims_org_id=ORG,
            retries=retries,
            backoff=30,
            transport=transport,
        )

    return make


def test_503_429_and_5xx_are_retried_with_retry_after(mocked: Callable[..., Client]) -> None:
    transport, seen = _flaky([503, 429, 502])
    assert mocked(transport).run("x") == {"id": "x"}
    assert len(seen) == 4


def test_retries_run_out(mocked: Callable[..., Client]) -> None:
    transport, seen = _flaky([503] * 10)
    with pytest.raises(ApiError) as raised:
        mocked(transport, retries=2).run("x")
    assert raised.value.status == 503 and len(seen) == 3


def test_a_post_is_repeated_only_when_the_server_did_nothing(
    mocked: Callable[..., Client],
) -> None:
    transport, seen = _flaky([500])
    with pytest.raises(ApiError):
        mocked(transport).create_run("f")
    assert len(seen) == 1
    transport, seen = _flaky([503])
    assert mocked(transport).create_run("f")["id"] == "r1"
    assert len(seen) == 2


def test_retry_delays() -> None:
    policy = RetryPolicy(retries=3, backoff=1.0)
    answer = httpx.Response(429, headers={"Retry-After": "2"})
    assert policy.delay(0, answer) == 2
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "9999"})) == 60
    dated = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert policy.delay(0, dated) == 0  # a date in the past: now
    assert 0.5 <= policy.delay(0) <= 1 and 2 <= policy.delay(2) <= 4


def test_an_unreachable_server_is_retried_then_reported(
    open_client: Callable[..., Client],
) -> None:
    port = free_port()  # nothing listens there
    client = open_client(
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


def test_a_client_needs_a_secret_or_a_token(open_client: Callable[..., Client]) -> None:
    from lakefeed.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        open_client("http://127.0.0.1:1", api_key="k", ims_org_id=ORG)
