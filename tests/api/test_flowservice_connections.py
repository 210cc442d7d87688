"""Flow Service specs and base connections over HTTP: create, list (paging, filters, order,
count), PATCH with etags, secrets that never come back, delete, test, explore, isolation."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server
from lakefeed.catalog.records import Scope
from lakefeed.errors import NameTaken
from lakefeed.specs import DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import profile_table

FS = "/data/foundation/flowservice"
S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"


def local_spec_id(api: httpx.Client) -> str:
    specs = api.get(f"{FS}/connectionSpecs", params={"property": "name==local-files"}).json()
    (spec,) = specs["items"]
    return str(spec["id"])


def create_local(api: httpx.Client, root: Path, name: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
        "connectionSpec": {"id": local_spec_id(api), "version": "1.0"},
        **extra,
    }
    response = api.post(f"{FS}/connections", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    (root / "2026" / "01").mkdir(parents=True)
    pq.write_table(profile_table(25), root / "2026" / "01" / "a.parquet")
    (root / "notes.txt").write_text("not parquet")
    return root


# -- specs -------------------------------------------------------------------------------------


def test_connection_and_flow_specs(api: httpx.Client) -> None:
    local = local_spec_id(api)
    by_id = api.get(f"{FS}/connectionSpecs/{local}").json()["items"][0]
    by_name = api.get(f"{FS}/connectionSpecs/local-files").json()["items"][0]
    assert by_id == by_name and by_id["name"] == "local-files"
    assert [a["name"] for a in by_id["authSpec"]] == ["Local Path"]
    dataset = api.get(f"{FS}/connectionSpecs/{DATASET_TARGET_SPEC_ID}").json()["items"][0]
    assert dataset["name"] == "Data Lake"
    missing = api.get(f"{FS}/connectionSpecs/dropbox")
    assert missing.status_code == 404 and "dropbox" in missing.json()["report"]["detailed-message"]

    (flow_spec,) = api.get(f"{FS}/flowSpecs").json()["items"]
    assert flow_spec["name"] == "CloudStorageToAEP"
    assert {local, S3_SPEC} <= set(flow_spec["sourceConnectionSpecIds"])
    assert flow_spec["targetConnectionSpecIds"] == [DATASET_TARGET_SPEC_ID]
    assert api.get(f"{FS}/flowSpecs/{flow_spec['id']}").json()["items"] == [flow_spec]
    assert api.get(f"{FS}/flowSpecs/CloudStorageToAEP").status_code == 200
    assert api.get(f"{FS}/flowSpecs/nope").status_code == 404
    none = api.get(f"{FS}/flowSpecs", params={"property": "name==other"}).json()
    assert none["items"] == []


# -- create, read, list ------------------------------------------------------------------------


def test_create_and_get_a_connection(api: httpx.Client, landing: Path) -> None:
    response = api.post(
        f"{FS}/connections",
        json={
            "name": "landing",
            "description": "the landing zone",
            "auth": {"specName": "Local Path", "params": {"rootPath": str(landing)}},
            "connectionSpec": {"id": local_spec_id(api), "version": "1.0"},
            "someFieldFlowServiceAdds": {"ignored": True},
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "etag"} and created["etag"].startswith('"')
    assert response.headers["location"] == f"{FS}/connections/{created['id']}"
    (item,) = api.get(f"{FS}/connections/{created['id']}").json()["items"]
    assert item["name"] == "landing" and item["description"] == "the landing zone"
    assert item["auth"] == {"specName": "Local Path", "params": {"rootPath": str(landing)}}
    assert item["etag"] == created["etag"] and item["state"] == "enabled"
    taken = api.post(
        f"{FS}/connections",
        json={
            "name": "landing",
            "auth": {"specName": "Local Path", "params": {"rootPath": str(landing)}},
            "connectionSpec": {"id": local_spec_id(api)},
        },
    )
    assert taken.status_code == 409
    assert api.get(f"{FS}/connections/no-such-id").status_code == 404


def test_invalid_connection_bodies_answer_400(api: httpx.Client) -> None:
    broken = api.post(
        f"{FS}/connections",
        content=b'{"name": "x", "connectionSpec": {"id": ',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert "malformed JSON at character" in broken.json()["report"]["detailed-message"]
    missing = api.post(f"{FS}/connections", json={"name": "x"})
    assert missing.status_code == 400 and "connectionSpec" in missing.text
    unknown_spec = api.post(
        f"{FS}/connections",
        json={"name": "x", "auth": {"params": {}}, "connectionSpec": {"id": "nope"}},
    )
    assert unknown_spec.status_code == 400 and "nope" in unknown_spec.text
    bad_params = api.post(
        f"{FS}/connections",
        json={
            "name": "x",
            "auth": {"specName": "Local Path", "params": {"rootPath": "relative/dir", "x": 1}},
            "connectionSpec": {"id": local_spec_id(api)},
        },
    )
    assert bad_params.status_code == 400 and "'x'" in bad_params.text
    no_auth = api.post(
        f"{FS}/connections", json={"name": "x", "connectionSpec": {"id": local_spec_id(api)}}
    )
    assert no_auth.status_code == 400 and "auth" in no_auth.text
    assert api.post(f"{FS}/connections", json=[1, 2]).status_code == 400


def test_the_dataset_base_connection_has_no_auth(api: httpx.Client) -> None:
    response = api.post(
        f"{FS}/connections",
        json={"name": "data lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
    )
    assert response.status_code == 201, response.text
    (item,) = api.get(f"{FS}/connections/{response.json()['id']}").json()["items"]
    assert item["connectionSpec"]["id"] == DATASET_TARGET_SPEC_ID and "auth" not in item
    untestable = api.get(f"{FS}/connections/{item['id']}/test")
    assert untestable.status_code == 400 and "dataset base connection" in untestable.text


def test_list_paging_filters_order_and_count(api: httpx.Client, landing: Path) -> None:
    names = ["page-c", "page-a", "page-e", "page-b", "page-d"]
    ids = {name: create_local(api, landing, name, description="paging")["id"] for name in names}
    mine = {"property": "description==paging"}

    seen: list[str] = []
    url: str | None = f"{FS}/connections?property=description==paging&limit=2"
    pages = 0
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 2
        seen.extend(item["id"] for item in body["items"])
        href = body["_links"].get("next", {}).get("href")  # relative to the service
        url = f"{FS}{href}" if href else None
        pages += 1
    assert pages == 3 and sorted(seen) == sorted(ids.values())

    def listed(*properties: str, **params: Any) -> list[str]:
        query = [("property", p) for p in properties] + list(params.items())
        return [i["name"] for i in api.get(f"{FS}/connections", params=query).json()["items"]]

    assert sorted(listed("name==page-a,page-c")) == ["page-a", "page-c"]  # OR
    assert listed("description==paging", "name==page-b,nope") == ["page-b"]  # AND
    assert listed("name==page-a", "description==other") == []
    created_b = api.get(f"{FS}/connections/{ids['page-b']}").json()["items"][0]["createdAt"]
    later = listed("description==paging", f"createdAt>{created_b}")
    assert later == ["page-d"]  # created after page-b, numerically
    assert listed("description==paging", orderby="-name") == sorted(names, reverse=True)
    assert listed("description==paging", orderby="name") == sorted(names)
    count = api.get(f"{FS}/connections", params={**mine, "count": "true"}).json()
    assert count == {"count": 5}
    both = api.get(f"{FS}/connections", params={**mine, "limit": 2, "count": "true"}).json()
    assert both["count"] == 5 and len(both["items"]) == 2  # the page, and the count of all
    assert api.get(f"{FS}/connections", params={"limit": "two"}).status_code == 400
    bad_token = api.get(f"{FS}/connections", params={"continuationToken": "???"})
    assert bad_token.status_code == 400


# -- PATCH and secrets -------------------------------------------------------------------------


def test_patch_needs_the_current_etag(api: httpx.Client, landing: Path) -> None:
    created = create_local(api, landing, "patched")
    url = f"{FS}/connections/{created['id']}"
    rename = [{"op": "replace", "path": "/name", "value": "renamed"}]
    missing = api.patch(url, json=rename)
    assert missing.status_code == 400 and missing.json()["report"]["code"] == "LF-1403"
    stale = api.patch(url, json=rename, headers={"If-Match": '"not-the-etag"'})
    assert stale.status_code == 412
    good = api.patch(url, json=rename, headers={"If-Match": created["etag"]})
    assert good.status_code == 200, good.text
    assert good.json()["id"] == created["id"] and good.json()["etag"] != created["etag"]
    (item,) = api.get(url).json()["items"]
    assert item["name"] == "renamed" and item["etag"] == good.json()["etag"]
    again = api.patch(url, json=rename, headers={"If-Match": created["etag"]})
    assert again.status_code == 412

    etag = good.json()["etag"]
    spec = api.patch(
        url,
        json=[{"op": "replace", "path": "/connectionSpec/id", "value": S3_SPEC}],
        headers={"If-Match": etag},
    )
    assert spec.status_code == 400 and "connection spec" in spec.text
    state = api.patch(
        url, json=[{"op": "replace", "path": "/state", "value": "x"}], headers={"If-Match": etag}
    )
    assert state.status_code == 400 and "/state" in state.text
    description = api.patch(
        url,
        json=[{"op": "add", "path": "/description", "value": "changed"}],
        headers={"If-Match": etag},
    )
    assert description.status_code == 200
    assert api.get(url).json()["items"][0]["description"] == "changed"
    etag = description.json()["etag"]
    root = api.patch(
        url,
        json=[{"op": "replace", "path": "/auth/params/rootPath", "value": "relative"}],
        headers={"If-Match": etag},
    )
    assert root.status_code == 400 and "relative" in root.text
    assert api.patch(f"{FS}/connections/nope", json=rename, headers={"If-Match": etag}).is_error


def test_secrets_never_come_back(server: Server, api: httpx.Client) -> None:
    secret, new_secret = "s3cret-VALUE-never-shown", "an0ther-SECRET-value"
    response = api.post(
        f"{FS}/connections",
        json={
            "name": "s3 partner",
            "auth": {
                "specName": "Access Key",
                "params": {
                    "s3AccessKey": "AKIAEXAMPLE",
                    "s3SecretKey": secret,
                    "serviceUrl": "http://127.0.0.1:9",
                    "bucketName": "partner-drop",
                },
            },
            "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
        },
    )
    assert response.status_code == 201, response.text
    id, etag = response.json()["id"], response.json()["etag"]
    url = f"{FS}/connections/{id}"
    stored = server.lf.scoped(Scope(ORG, "prod")).connections
    texts = [response.text]

    shown = api.get(url)
    texts += [shown.text, api.get(f"{FS}/connections").text]
    params = shown.json()["items"][0]["auth"]["params"]
    assert params["s3SecretKey"] == "********" and params["bucketName"] == "partner-drop"

    rotated = api.patch(
        url,
        json=[{"op": "replace", "path": "/auth/params/s3SecretKey", "value": new_secret}],
        headers={"If-Match": etag},
    )
    assert rotated.status_code == 200, rotated.text
    texts.append(rotated.text)
    assert stored.get(id).auth["s3SecretKey"] == new_secret

    # The whole object sent back as GET shows it: the redacted secret keeps its value.
    params["bucketName"] = "other-bucket"
    whole = api.patch(
        url,
        json=[{"op": "replace", "path": "/auth/params", "value": params}],
        headers={"If-Match": rotated.json()["etag"]},
    )
    assert whole.status_code == 200, whole.text
    texts += [whole.text, api.get(url).text]
    assert stored.get(id).auth["s3SecretKey"] == new_secret
    assert stored.get(id).auth["bucketName"] == "other-bucket"

    invalid = api.patch(
        url,
        json=[{"op": "add", "path": "/auth/params/unknownField", "value": secret}],
        headers={"If-Match": whole.json()["etag"]},
    )
    assert invalid.status_code == 400 and "unknownField" in invalid.text
    texts.append(invalid.text)
    guess = [{"op": "test", "path": "/auth/params/s3SecretKey", "value": new_secret}]
    oracle = api.patch(url, json=guess, headers={"If-Match": whole.json()["etag"]})
    assert oracle.status_code == 400  # the patched document holds ********, not the secret
    for text in texts:
        assert secret not in text and new_secret not in text


# -- delete, isolation -------------------------------------------------------------------------


def test_delete_and_sandbox_isolation(server: Server, api: httpx.Client, landing: Path) -> None:
    created = create_local(api, landing, "isolated")
    url = f"{FS}/connections/{created['id']}"
    with contextlib.suppress(NameTaken):  # another test may have made it
        server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as dev, server.client(org="OTHER0001@AdobeOrg") as other:
        for client in (dev, other):
            assert client.get(url).status_code == 404
            assert created["id"] not in client.get(f"{FS}/connections").text
            rename = [{"op": "replace", "path": "/name", "value": "stolen"}]
            patch = client.patch(url, json=rename, headers={"If-Match": created["etag"]})
            assert patch.status_code == 404
            assert client.delete(url).status_code == 404
            assert client.get(f"{url}/test").status_code == 404
    assert api.get(url).json()["items"][0]["name"] == "isolated"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404


# -- test and explore --------------------------------------------------------------------------


def test_test_and_explore(api: httpx.Client, landing: Path) -> None:
    id = create_local(api, landing, "explored")["id"]
    url = f"{FS}/connections/{id}"
    tested = api.get(f"{url}/test")
    assert tested.status_code == 200 and tested.json()["result"] is True

    root = api.get(f"{url}/explore", params={"objectType": "ROOT"}).json()
    assert [(e["type"], e["name"]) for e in root] == [("folder", "2026"), ("file", "notes.txt")]
    folder = api.get(f"{url}/explore", params={"objectType": "folder", "object": "2026/01"})
    (entry,) = folder.json()
    assert entry["name"] == "a.parquet" and entry["canPreview"] is True

    params = {"objectType": "file", "object": "2026/01/a.parquet", "fileType": "Parquet"}
    preview = api.get(f"{url}/explore", params={**params, "preview": "TRUE"}).json()
    assert preview["format"] == "parquet"
    columns = [c["name"] for c in preview["schema"]["columns"]]
    assert columns[:2] == ["_id", "personID"]
    assert len(preview["data"]) == 10 and preview["data"][0]["_id"] == "profile-0"
    schema_only = api.get(f"{url}/explore", params=params).json()
    assert "data" not in schema_only and schema_only["schema"] == preview["schema"]

    def error(**query: str) -> httpx.Response:
        response = api.get(f"{url}/explore", params=query)
        assert response.is_client_error, response.text
        return response

    assert "objectType" in error(objectType="table").text
    assert error(objectType="file", object="2026/01/a.parquet", fileType="avro").status_code == 400
    assert error(objectType="file").status_code == 400
    assert error(objectType="file", object="notes.txt", preview="true").status_code == 422
    assert error(objectType="folder", object="nowhere").status_code == 404
    assert error(objectType="folder").status_code == 400
