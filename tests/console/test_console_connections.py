"""The console's connections pages against a real server: the list, a connection (spec,
non-secret params, the flows using it), testing it, exploring folders and previewing files on
local files and S3 — refused wherever the REST API refuses, and never showing a secret, not
even masked."""

from __future__ import annotations

import contextlib
import html
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api_support import FS, ORG, Server, created
from console_support import Console, Demo, demo_chain, sign_in
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.errors import NameTaken
from lakefeed.specs import DATASET_TARGET_SPEC_ID, REDACTED
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from lakefeed.testing.profiles import profile_table
from tests_support import server_env, sftp_params

LOCAL_SPEC = "6f1e7c2a-9b0d-4c53-8a2e-1d5f3c7b9e41"
S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
SFTP_SPEC = "b7bf2577-4520-42c9-bae9-cad01560f7bc"
AZURE_BLOB_SPEC = "4c10e202-c428-4796-9208-5f1f5732b1cf"
#: Secrets of the S3 connections: distinct from every other value on the pages.
S3_SECRET = "moto-secret-3f9a1c7e5b"
S3_ACCESS_KEY = "AKIACONSOLETEST01"
WRONG_SECRET = "rgw-wrong-secret-8c2d4e6f"
LONG_NOTE = "n" * 300


@pytest.fixture(scope="module")
def lf(server: Server) -> Lakefeed:
    """The Python API in the console user's org and sandbox (not confined to the roots)."""
    return server.lf.scoped(Scope(ORG, "prod"))


@pytest.fixture(scope="module")
def console(server: Server) -> Iterator[Console]:
    signed_in = sign_in(server, org=ORG)
    yield signed_in
    signed_in.http.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("console-landing")
    (root / "2026" / "01").mkdir(parents=True)
    pq.write_table(profile_table(25), root / "2026" / "01" / "a.parquet")
    (root / "notes.txt").write_text("not parquet")
    return root


def local_body(name: str, root: Path | str) -> dict[str, Any]:
    return {
        "name": name,
        "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
        "connectionSpec": {"id": LOCAL_SPEC, "version": "1.0"},
    }


def s3_body(name: str, endpoint: str, secret: str, **params: str) -> dict[str, Any]:
    return {
        "name": name,
        "auth": {
            "specName": "Access Key",
            "params": {"s3SecretKey": secret, "serviceUrl": endpoint, **params},
        },
        "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
    }


@pytest.fixture(scope="module")
def local_id(api: httpx.Client, landing: Path) -> str:
    return str(created(api.post(f"{FS}/connections", json=local_body("drops", landing)))["id"])


@pytest.fixture(scope="module")
def demo(lf: Lakefeed, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A flow reading through connection ``conn-demo-landing``."""
    return demo_chain(lf, tmp_path_factory.mktemp("demo-landing"), name="conn-demo")


def orders() -> pa.Table:
    return pa.table(
        {
            "order_id": [f"order-{i}" for i in range(30)],
            "amount": [i * 1.5 for i in range(30)],
            "note": [LONG_NOTE] * 30,
        }
    )


@pytest.fixture(scope="module")
def moto_bucket(lf: Lakefeed) -> str:
    """A bucket on moto with ``drops/2026/05/orders.parquet`` (30 rows) in it."""
    bucket = f"console-{uuid.uuid4().hex[:8]}"
    params = {
        "s3AccessKey": S3_ACCESS_KEY,
        "s3SecretKey": S3_SECRET,
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    session = lf.session_for("amazon-s3", params, "Access Key")
    ensure_folder(session.fs, bucket)
    put(session, {f"/{bucket}/drops/2026/05/orders.parquet": parquet_bytes(orders())})
    return bucket


@pytest.fixture(scope="module")
def moto_id(api: httpx.Client, moto_bucket: str) -> str:
    body = s3_body(
        "moto-drops",
        server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        S3_SECRET,
        s3AccessKey=S3_ACCESS_KEY,
        bucketName=moto_bucket,
    )
    return str(created(api.post(f"{FS}/connections", json=body))["id"])


@pytest.fixture(scope="module")
def rgw_wrong_id(api: httpx.Client) -> str:
    """An S3 connection to Ceph RGW (which checks signatures) with a wrong secret."""
    body = s3_body(
        "rgw-wrong",
        server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
        WRONG_SECRET,
        s3AccessKey=server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
    )
    return str(created(api.post(f"{FS}/connections", json=body))["id"])


def ok(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def hrefs(page: str, css_class: str) -> list[str]:
    """The links of ``css_class`` on ``page``, as paths to GET."""
    found = re.findall(rf'<a class="{css_class}" href="([^"]+)"', page)
    return [html.unescape(link) for link in found]


def link(page: str, id: str) -> str:
    found = re.search(rf'<a id="{id}" href="([^"]+)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def result_of(page: str) -> str:
    found = re.search(r'<section id="test-result".*?</section>', page, re.S)
    assert found is not None, page
    return found.group(0)


# -- list and detail ---------------------------------------------------------------------------


def test_the_list_and_a_connection_with_its_spec_params_and_flows(
    console: Console, api: httpx.Client, lf: Lakefeed, local_id: str, demo: Demo
) -> None:
    listed = ok(console.get("/console/connections"))
    used = lf.connection("conn-demo-landing")
    for connection in (lf.connection(local_id), used):
        assert f'href="/console/connections/{connection.id}">{connection.name}</a>' in listed
    assert "Local files" in listed and "Local Path" in listed
    # A dataset base connection is listed, as REST lists it; it has no storage to act on.
    lake = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "lake",
                "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
            },
        )
    )["id"]
    assert lake in ok(console.get("/console/connections"))
    lake_page = ok(console.get(f"/console/connections/{lake}"))
    assert "Data Lake" in lake_page and "cannot be tested or explored" in lake_page
    assert 'id="test-connection"' not in lake_page
    assert console.post(f"/console/connections/{lake}/test").status_code == 400

    page = ok(console.get(f"/console/connections/{used.id}"))
    assert 'aria-current="page">Connections' in page
    assert "local-files" in page and LOCAL_SPEC in page and "Local Path" in page
    assert f"<code>{demo.landing}</code>" in page  # rootPath: not secret
    flow = lf.flows.flow(demo.flow_id)
    assert f'href="/console/flows/{flow.id}">{flow.name}</a>' in page
    assert 'action="/console/connections/' + used.id + '/test"' in page

    unused = ok(console.get(f"/console/connections/{local_id}"))
    assert "No flow reads or writes through this connection." in unused


def test_an_unknown_or_another_sandboxs_connection_is_not_found(
    server: Server, console: Console, landing: Path
) -> None:
    with contextlib.suppress(NameTaken):
        server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as dev:
        id = created(dev.post(f"{FS}/connections", json=local_body("dev-drops", landing)))["id"]
    for answer in (
        console.get(f"/console/connections/{id}"),
        console.post(f"/console/connections/{id}/test"),
        console.get(f"/console/connections/{id}/explore"),
        console.get(f"/console/connections/{id}/preview", params={"path": "notes.txt"}),
        console.get("/console/connections/no-such-connection"),
    ):
        assert answer.status_code == 404, answer.text
        assert "<h1" in answer.text and "dev-drops" not in answer.text
    assert "dev-drops" not in ok(console.get("/console/connections"))


# -- test --------------------------------------------------------------------------------------


def test_testing_a_connection_that_works(console: Console, local_id: str) -> None:
    page = ok(console.post(f"/console/connections/{local_id}/test"))
    result = result_of(page)
    assert "works" in result and "failed" not in result


@pytest.mark.servers
def test_testing_a_connection_that_fails_shows_the_reason(
    console: Console, api: httpx.Client, rgw_wrong_id: str
) -> None:
    page = ok(console.post(f"/console/connections/{rgw_wrong_id}/test"))
    result = result_of(page)
    rest = api.get(f"{FS}/connections/{rgw_wrong_id}/test").json()
    assert "failed" in result and "Authentication failed" in result
    assert rest["report"]["code"] in result and "Check the connection&#39;s credentials" in result


@pytest.mark.servers
def test_an_unreachable_endpoint_is_a_failed_test_and_an_error_page(
    console: Console, api: httpx.Client
) -> None:
    body = s3_body("nowhere", "http://127.0.0.1:1", S3_SECRET, s3AccessKey=S3_ACCESS_KEY)
    id = created(api.post(f"{FS}/connections", json=body))["id"]
    result = result_of(ok(console.post(f"/console/connections/{id}/test")))
    assert "failed" in result and "127.0.0.1:1" in result
    explored = console.get(f"/console/connections/{id}/explore")
    rest = api.get(f"{FS}/connections/{id}/explore")
    assert explored.status_code == rest.status_code != 500
    assert rest.json()["report"]["code"] in explored.text


def test_actions_need_the_session_and_its_csrf_token(
    server: Server, console: Console, local_id: str
) -> None:
    url = f"/console/connections/{local_id}/test"
    for form in ({}, {"csrf": "not-the-token"}):
        refused = console.http.post(url, data=form)
        assert refused.status_code == 403, refused.text
        assert "CSRF" in refused.text and "test-result" not in refused.text
    with httpx.Client(base_url=server.url, follow_redirects=False) as anonymous:
        assert anonymous.post(url, data={"csrf": console.csrf}).status_code == 401
        page = anonymous.get(f"/console/connections/{local_id}")
        assert page.status_code == 303 and "/console/sign-in" in page.headers["location"]


# -- explore and preview -----------------------------------------------------------------------


def test_exploring_local_folders_and_previewing_a_parquet_file(
    console: Console, local_id: str
) -> None:
    root = ok(console.get(f"/console/connections/{local_id}/explore"))
    assert 'id="parent"' not in root  # nothing above the root
    assert "notes.txt" in root and "no installed format reads it" in root
    (year,) = hrefs(root, "folder")
    first = ok(console.get(year))
    (month,) = hrefs(first, "folder")
    assert hrefs(ok(console.get(link(first, "parent"))), "folder") == [year]
    second = ok(console.get(month))
    assert "a.parquet" in second
    assert hrefs(ok(console.get(link(second, "parent"))), "folder") == [month]
    (preview,) = hrefs(second, "preview")
    shown = ok(console.get(preview))
    assert "<code>personID</code>" in shown and "profile-0" in shown and "profile-19" in shown
    assert "profile-20" not in shown  # 25 rows in the file, 20 shown
    assert hrefs(ok(console.get(link_back(shown))), "preview") == [preview]


def link_back(page: str) -> str:
    found = re.search(r'<a href="([^"]+)">← Its folder</a>', page)
    assert found is not None, page
    return html.unescape(found.group(1))


@pytest.mark.servers
def test_exploring_s3_and_previewing_a_parquet_file_there(console: Console, moto_id: str) -> None:
    root = ok(console.get(f"/console/connections/{moto_id}/explore"))
    (drops,) = hrefs(root, "folder")
    page = ok(console.get(drops))
    for _ in range(2):  # drops/ → 2026/ → 05/
        (folder,) = hrefs(page, "folder")
        page = ok(console.get(folder))
    (preview,) = hrefs(page, "preview")
    shown = ok(console.get(preview))
    assert "<code>order_id</code>" in shown and "<code>double</code>" in shown
    assert "order-0" in shown and "order-19" in shown and "order-20" not in shown
    assert LONG_NOTE not in shown and "n" * 79 + "…" in shown  # long values cut


def test_odd_paths_are_refused_as_rest_refuses_them(
    console: Console, api: httpx.Client, local_id: str, landing: Path
) -> None:
    outside = landing.parent
    for path in ("..", "../..", "2026/../../x", str(outside), "nowhere", "notes.txt/x"):
        rest = api.get(
            f"{FS}/connections/{local_id}/explore",
            params={"objectType": "folder", "object": path},
        )
        page = console.get(f"/console/connections/{local_id}/explore", params={"path": path})
        assert rest.is_client_error, rest.text
        assert page.status_code == rest.status_code, (path, page.text)
        assert rest.json()["report"]["code"] in page.text
        preview = console.get(f"/console/connections/{local_id}/preview", params={"path": path})
        assert preview.is_client_error, (path, preview.text)
    for params in ({"path": "2026\x00"}, {"path": "a/" * 3000}):
        refused = console.get(f"/console/connections/{local_id}/explore", params=params)
        assert refused.status_code == 400, refused.text
    not_parquet = console.get(
        f"/console/connections/{local_id}/preview", params={"path": "notes.txt"}
    )
    rest = api.get(
        f"{FS}/connections/{local_id}/explore",
        params={"objectType": "file", "object": "notes.txt", "preview": "true"},
    )
    assert not_parquet.status_code == rest.status_code == 422


def test_a_local_root_outside_the_allowed_folders_is_refused(
    console: Console, api: httpx.Client, lf: Lakefeed
) -> None:
    """Stored with the Python API (REST refuses to store it): still neither tested, explored
    nor read through the console, as over REST."""
    with tempfile.TemporaryDirectory() as outside:  # not under the server's LAKEFEED_LOCAL_ROOTS
        pq.write_table(profile_table(3), Path(outside) / "private.parquet")
        id = lf.create_connection("outside", "local-files", None, {"rootPath": outside}).id
        rest = api.get(f"{FS}/connections/{id}/test")
        assert rest.status_code == 403
        answers = (
            console.post(f"/console/connections/{id}/test"),
            console.get(f"/console/connections/{id}/explore"),
            console.get(f"/console/connections/{id}/preview", params={"path": "private.parquet"}),
        )
        for answer in answers:
            assert answer.status_code == 403, answer.text
            assert "outside the folders this server lets local-files connections read" in (
                answer.text
            )
            assert "private.parquet" not in answer.text


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.servers
def test_no_page_shows_a_secret_not_even_masked(
    console: Console,
    api: httpx.Client,
    moto_id: str,
    rgw_wrong_id: str,
) -> None:
    sftp = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "sftp-drops",
                "auth": {"specName": "Basic Authentication for sftp", "params": sftp_params()},
                "connectionSpec": {"id": SFTP_SPEC, "version": "1.0"},
            },
        )
    )["id"]
    azure_string = server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")
    azure = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "azure-drops",
                "auth": {
                    "specName": "ConnectionString",
                    "params": {"connectionString": azure_string},
                },
                "connectionSpec": {"id": AZURE_BLOB_SPEC, "version": "1.0"},
            },
        )
    )["id"]
    # A secret pasted into a field that is not secret too (moto takes any key pair).
    pasted = "pasted-secret-6b0e2f9d"
    body = s3_body("pasted", server_env("LAKEFEED_TEST_S3_ENDPOINT"), pasted, s3AccessKey=pasted)
    twice = created(api.post(f"{FS}/connections", json=body))["id"]
    secrets = [
        pasted,
        S3_SECRET,
        WRONG_SECRET,
        server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
        azure_string,
        server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY"),
    ]
    pages = [console.get("/console/connections")]
    for id in (moto_id, rgw_wrong_id, sftp, azure, twice):
        pages += [
            console.get(f"/console/connections/{id}"),
            console.post(f"/console/connections/{id}/test"),
            console.get(f"/console/connections/{id}/explore"),
            console.get(f"/console/connections/{id}/preview", params={"path": "x/y.parquet"}),
        ]
    statuses = [page.status_code for page in pages]
    assert 500 not in statuses and {200, 401, 404} <= set(statuses)
    detail = ok(console.get(f"/console/connections/{moto_id}"))
    assert S3_ACCESS_KEY in detail and "Secret parameters are never shown." in detail
    assert "failed" in result_of(ok(console.post(f"/console/connections/{rgw_wrong_id}/test")))
    for page in pages:
        for secret in secrets:
            assert secret not in page.text, page.url
            assert "*" * len(secret) not in page.text, page.url
        assert REDACTED not in page.text, page.url
