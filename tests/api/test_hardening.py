"""What the REST service refuses to protect itself and its operator: secret guessing at
``/ims/token/v3``, oversized and odd names and descriptions, forged continuation tokens,
chunked bodies over the size limit, and answers that would reveal server folders."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from api_support import ORG, Server, refused, running_server
from lakefeed import Lakefeed
from lakefeed.api.throttle import LoginThrottle
from lakefeed.catalog.records import Scope
from lakefeed.specs import DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import create_profile_schema

FS = "/data/foundation/flowservice"
LOCAL_SPEC = "6f1e7c2a-9b0d-4c53-8a2e-1d5f3c7b9e41"


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_request(server: Server, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/ims/token/v3",
        data={"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
    )


# --- /ims/token/v3 throttling -----------------------------------------------------------------


def test_wrong_secrets_lock_the_client_id_out_until_the_window_passes(server: Server) -> None:
    clock = FakeClock()
    server.app.state.login_throttle = LoginThrottle(clock=clock)
    victim, victim_secret = server.lf.auth.create_client(ORG)
    bystander, bystander_secret = server.lf.auth.create_client(ORG)
    try:
        for _ in range(10):
            assert token_request(server, victim, "guess").status_code == 401
        for secret in ("guess", victim_secret):  # the right secret too, while locked out
            locked = token_request(server, victim, secret)
            body = refused(locked, 429, "Too many failed token requests", "client id")
            assert body["report"]["code"] == "LF-2429"
            assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2429-429"
            assert locked.headers["Retry-After"] == "300"
        # Another client id from the same address is not locked.
        assert token_request(server, bystander, bystander_secret).status_code == 200
        clock.now += 299
        assert token_request(server, victim, victim_secret).headers["Retry-After"] == "1"
        clock.now += 1
        assert token_request(server, victim, victim_secret).status_code == 200
    finally:
        server.app.state.login_throttle = LoginThrottle()


def test_failures_from_one_address_lock_it_out_for_every_client_id(server: Server) -> None:
    clock = FakeClock()
    server.app.state.login_throttle = LoginThrottle(clock=clock, max_per_address=5)
    api_key, secret = server.lf.auth.create_client(ORG)
    try:
        for n in range(5):  # a different made-up client id each time
            assert token_request(server, f"made-up-{n}", "guess").status_code == 401
        refused(token_request(server, api_key, secret), 429, "caller address")
        clock.now += 300
        assert token_request(server, api_key, secret).status_code == 200
    finally:
        server.app.state.login_throttle = LoginThrottle()


def test_the_throttle_forgets_a_client_after_its_right_secret_and_bounds_its_memory() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, max_per_client=2, max_tracked=4)
    throttle.failed("a", "10.0.0.1")
    throttle.succeeded("a")
    throttle.failed("a", "10.0.0.1")
    throttle.check("a", "10.0.0.1")  # one failure since the success: still open
    for n in range(10):
        throttle.failed(f"random-{n}", "10.0.0.2")
    assert len(throttle._failures) == 4


# --- names and descriptions --------------------------------------------------------------------


@pytest.fixture(scope="module")
def parts(server: Server, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A local connection, a dataset base connection, a schema and a dataset."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    root = tmp_path_factory.mktemp("labels")
    schema = create_profile_schema(lf.schemas, title="Label Profiles")
    dataset = lf.datasets.create("labelled", schema["$id"])
    base = api.post(
        f"{FS}/connections",
        json={
            "name": "labels landing",
            "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
            "connectionSpec": {"id": LOCAL_SPEC},
        },
    ).json()
    lake = api.post(
        f"{FS}/connections",
        json={"name": "labels lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
    ).json()
    return {"schema": schema, "dataset": dataset, "base": base, "lake": lake}


LONG_NAME = "n" * 100_000
BAD_TEXTS = [
    ("name", LONG_NAME, "100000 characters long; at most 255"),
    ("name", "nul\x00name", "U+0000 at position 3"),
    ("name", "two\nlines", "U+000A at position 3"),
    ("description", "d" * 4097, "4097 characters long; at most 4096"),
    ("description", "bell\x07", "U+0007 at position 4"),
]


def create_bodies(parts: Any, tag: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per resource, a create route and a valid body for it."""
    schema_ref = {"id": parts["schema"]["$id"]}
    return {
        "connection": (
            f"{FS}/connections",
            {"name": f"c {tag}", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        ),
        "source connection": (
            f"{FS}/sourceConnections",
            {
                "name": f"s {tag}",
                "baseConnectionId": parts["base"]["id"],
                "data": {"format": "parquet"},
                "params": {"path": "drop"},
                "connectionSpec": {"id": LOCAL_SPEC},
            },
        ),
        "target connection": (
            f"{FS}/targetConnections",
            {
                "name": f"t {tag}",
                "params": {"dataSetId": parts["dataset"].id},
                "connectionSpec": {"id": DATASET_TARGET_SPEC_ID},
            },
        ),
        "dataset": (
            "/data/foundation/catalog/dataSets",
            {"name": f"d {tag}", "schemaRef": schema_ref},
        ),
        "field group": (
            "/data/foundation/schemaregistry/tenant/fieldgroups",
            {
                "title": f"fg {tag}",
                "type": "object",
                "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/profile"],
                "definitions": {},
                "allOf": [],
            },
        ),
    }


@pytest.mark.parametrize(("field", "value", "words"), BAD_TEXTS)
def test_names_and_descriptions_are_limited_on_every_create(
    api: httpx.Client, parts: Any, field: str, value: str, words: str
) -> None:
    for noun, (route, body) in create_bodies(parts, "bad").items():
        if noun == "field group":
            field_name = "title" if field == "name" else field
            sent = {**body, field_name: value}
            noun_words = (f"field group's {field_name}", words)
        else:
            sent = {**body, field: value}
            noun_words = (f"{noun}'s {field}", words)
        answer = refused(api.post(route, json=sent), 400, *noun_words)
        assert answer["report"]["code"] == "LF-1002", noun
    # Nothing of the refused ones was stored.
    names = [c["name"] for c in api.get(f"{FS}/connections").json()["items"]]
    assert not any(name.startswith(("nul", "two", "nnnn")) for name in names)


def test_names_at_the_limit_and_multiline_descriptions_are_stored(
    api: httpx.Client, parts: Any
) -> None:
    for noun, (route, body) in create_bodies(parts, "ok").items():
        key = "title" if noun == "field group" else "name"
        sent = {**body, key: body[key] + "x" * (255 - len(body[key])), "description": "a\n\tb"}
        assert api.post(route, json=sent).status_code == 201, noun


def test_patches_are_limited_too(api: httpx.Client, parts: Any) -> None:
    source = api.post(
        f"{FS}/sourceConnections", json=create_bodies(parts, "patched")["source connection"][1]
    ).json()
    targets = {
        "connections": parts["base"],
        "sourceConnections": source,
    }
    for route, created in targets.items():
        patch = [{"op": "replace", "path": "/name", "value": "x\x1b[31m"}]
        answer = api.patch(
            f"{FS}/{route}/{created['id']}", json=patch, headers={"If-Match": created["etag"]}
        )
        refused(answer, 400, "U+001B")


def test_a_lone_surrogate_in_a_body_is_400_not_500(api: httpx.Client) -> None:
    """JSON may escape half a surrogate pair (json.dumps writes "\\ud800"); Python keeps it,
    and SQLite fails to encode it wherever it is bound."""

    def post(route: str, body: dict[str, Any]) -> httpx.Response:
        sent = json.dumps(body)  # ensure_ascii: every non-ASCII character as an escape
        return api.post(f"{FS}/{route}", content=sent, headers={"Content-Type": "application/json"})

    target = {"name": "t", "params": {"dataSetId": "\ud800"}}
    refused(
        post("targetConnections", {**target, "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}}),
        400,
        "lone surrogate",
    )
    flow = {"name": "f", "flowSpec": {"id": "CloudStorageToAEP"}, "targetConnectionIds": ["x"]}
    refused(post("flows", {**flow, "sourceConnectionIds": ["\udfff"]}), 400, "lone surrogate")
    emoji = {"name": "emoji \U0001f600", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}}
    assert post("connections", emoji).status_code == 201  # a whole pair is one character


#: URLs Python's urlsplit cannot split: an unclosed IPv6 bracket, ports that are not numbers
#: or out of range.
MALFORMED_URLS = ("https://[", "https://[::1", "https://host:port", "https://host:99999/x")


def url_params(api: httpx.Client) -> list[tuple[str, str, str, str]]:
    """``(spec id, spec name, auth spec, param)`` of every auth param that holds a URL."""
    specs = api.get(f"{FS}/connectionSpecs").json()["items"]
    return [
        (spec["id"], spec["name"], auth["name"], name)
        for spec in specs
        for auth in spec["authSpec"]
        for name in auth["spec"]["properties"]
        if any(word in name.lower() for word in ("url", "uri", "endpoint"))
    ]


def test_a_malformed_url_in_any_auth_param_is_400_not_500(api: httpx.Client) -> None:
    """An ADLS Gen2 url of "https://[" was a 500 (urlsplit's ValueError): every URL param of
    every installed spec, alone and with the others it needs, answers 400 naming the URL."""
    params = url_params(api)
    assert {name for _, name, _, _ in params} >= {"adls-gen2", "azure-blob", "amazon-s3"}
    for (spec_id, spec_name, auth, param), url in itertools.product(params, MALFORMED_URLS):
        body = {
            "name": f"malformed {spec_name} {param}",
            "connectionSpec": {"id": spec_id, "version": "1.0"},
            "auth": {"specName": auth, "params": {param: url}},
        }
        answer = api.post(f"{FS}/connections", json=body)
        assert 400 <= answer.status_code < 500, (spec_name, auth, param, url, answer.text)


# --- continuation tokens, chunked bodies --------------------------------------------------------


def test_a_negative_continuation_token_is_400(api: httpx.Client) -> None:
    forged = base64.urlsafe_b64encode(b"o:-5").decode().rstrip("=")
    refused(
        api.get(f"{FS}/connections", params={"continuationToken": forged}), 400, "continuationToken"
    )


def test_a_chunked_body_over_the_limit_is_413(server: Server, api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        yield b'{"name": "'
        for _ in range(160):
            yield b"x" * 8192
        yield b'"}'

    for route in (f"{FS}/connections", "/data/foundation/catalog/dataSets"):
        answer = api.post(route, content=chunks(), headers={"Content-Type": "application/json"})
        assert answer.request.headers.get("transfer-encoding") == "chunked"
        body = refused(answer, 413, "larger than 1048576 bytes")
        assert body["report"]["code"] == "LF-1600"
    token = httpx.post(
        f"{server.url}/ims/token/v3",
        content=(b"client_secret=" + b"x" * 8192 for _ in range(160)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(token, 413, "larger than")


def test_a_small_chunked_body_still_reaches_the_route(api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "chunked lake", '
        yield b'"connectionSpec": {"id": "' + DATASET_TARGET_SPEC_ID.encode() + b'"}}'

    answer = api.post(
        f"{FS}/connections", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text


# --- refusals do not reveal server folders ----------------------------------------------------


@pytest.fixture(scope="module")
def confined(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("secret-layout")
    allowed = base / "srv-drops-7f3a"
    allowed.mkdir()
    with running_server(
        base / "home-b41c", local_roots=[allowed], database_url=server_database()
    ) as running:
        yield running


def test_local_root_refusals_name_neither_the_roots_nor_the_home(
    confined: Server, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    body = {
        "name": "outside",
        "auth": {"specName": "Local Path", "params": {"rootPath": str(outside)}},
        "connectionSpec": {"id": LOCAL_SPEC},
    }
    with confined.client() as api:
        answer = refused(api.post(f"{FS}/connections", json=body), 403, "outside the folders")
        text = str(answer)
        assert "srv-drops-7f3a" not in text and "home-b41c" not in text
        assert "LAKEFEED_LOCAL_ROOTS" in answer["report"]["fix"]
    with (
        running_server(confined.home.parent / "home-closed-9e2d") as closed,
        closed.client() as api,
    ):
        answer = refused(
            api.post(f"{FS}/connections", json=body), 403, "LAKEFEED_LOCAL_ROOTS is not set"
        )
        assert "home-closed-9e2d" not in str(answer)


def test_errors_name_the_home_by_its_setting_not_its_path(tmp_path: Path) -> None:
    """An engine error whose message names a file under the home — the secret key, after the
    operator restored the wrong one — reaches API clients without the server's folder."""
    home = tmp_path / "home-5c1e"
    lake = (
        Lakefeed(home=home)
        .scoped(Scope(ORG, "prod"))
        .connections.create_dataset_base_connection(name="sealed")
    )
    (home / "secret.key").write_bytes(Fernet.generate_key())  # not the key it was sealed with
    with running_server(home) as server, server.client() as api:
        answer = api.get(f"{FS}/connections/{lake.id}")
    assert answer.status_code == 500 and answer.json()["report"]["code"] == "LF-1950"
    assert "home-5c1e" not in answer.text
    assert "key in $LAKEFEED_SECRET_KEY_FILE" in answer.json()["report"]["detailed-message"]
