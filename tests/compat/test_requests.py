"""Requests shaped as Adobe's API collection and SDKs send them (issue 13, item 1): trailing
slashes on every service, ``?if-match=`` instead of the ``If-Match`` header, and
``Content-Type: application/json`` on requests without a body. The ``sdk`` client sends that
header on every request and never follows a redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api_support import Server
from compat.flowservice_parts import (
    FS,
    XED_FULL,
    Pipeline,
    build_pipeline,
    error_code,
    local_connection,
    ok,
)

CATALOG = "/data/foundation/catalog"
SR = "/data/foundation/schemaregistry"
DP = "/data/foundation/conversion"
EXPORT = "/data/foundation/export"


def etag_of(sdk: httpx.Client, path: str) -> str:
    (entity,) = ok(sdk.get(f"{FS}/{path}"))["items"]
    return str(entity["etag"])


@pytest.fixture(scope="module")
def pipeline(
    server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    yield build_pipeline(server, sdk, tmp_path_factory.mktemp("requests"))


# --- trailing slashes ---------------------------------------------------------------------------


def test_a_trailing_slash_reads_the_same_resource_on_every_service(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    """Every service, collections and single resources: ``path/`` answers what ``path``
    answers (it used to be a 307 to ``path``, or for Schema Registry collections the
    single-resource route's 405/406)."""
    schema = quote(pipeline.schema_id, safe="")
    xed_id = {"Accept": "application/vnd.adobe.xed-id+json"}
    xed = {"Accept": "application/vnd.adobe.xed+json;version=1"}
    reads: list[tuple[str, dict[str, str]]] = [
        (f"{FS}/connectionSpecs", {}),
        (f"{FS}/connectionSpecs/{pipeline.local_spec_id}", {}),
        (f"{FS}/flowSpecs", {}),
        (f"{FS}/connections", {}),
        (f"{FS}/connections/{pipeline.base_id}", {}),
        (f"{FS}/sourceConnections", {}),
        (f"{FS}/sourceConnections/{pipeline.source_id}", {}),
        (f"{FS}/targetConnections/{pipeline.target_id}", {}),
        (f"{FS}/flows", {}),
        (f"{FS}/flows/{pipeline.flow_id}", {}),
        (f"{FS}/runs", {}),
        (f"{CATALOG}/dataSets", {}),
        (f"{CATALOG}/dataSets/{pipeline.dataset_id}", {}),
        (f"{CATALOG}/batches", {}),
        (f"{SR}/tenant/schemas", xed_id),
        (f"{SR}/tenant/schemas/{schema}", xed),
        (f"{SR}/global/classes", xed_id),
        (f"{DP}/mappingSets", {}),
    ]
    for path, headers in reads:
        plain = sdk.get(path, headers=headers)
        assert plain.status_code == 200, (path, plain.text)
        slashed = sdk.get(path + "/", headers=headers)
        assert slashed.status_code == 200, (path, slashed.status_code, slashed.text)
        assert slashed.json() == plain.json(), path
    # A resource that does not exist is the same 404 with or without the slash.
    for path in (f"{FS}/connections/nope", f"{EXPORT}/batches/nope/meta"):
        plain, slashed = sdk.get(path), sdk.get(path + "/")
        assert plain.status_code == slashed.status_code == 404, (path, slashed.text)
        assert slashed.json()["title"] == plain.json()["title"]
        assert slashed.json()["errorMessage"] == plain.json()["errorMessage"]


def test_writes_through_a_trailing_slash_are_served_not_redirected(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    """POST on a collection, PATCH and DELETE on a resource, POST on an action, each with a
    trailing slash: the same answer as without it, never a 307."""
    made = ok(
        sdk.post(f"{FS}/connections/", json=local_connection(pipeline.local_spec_id,
                                                              pipeline.root, "slashed"))
    , 201)  # fmt: skip
    url = f"{FS}/connections/{made['id']}/"
    rename = [{"op": "replace", "path": "/name", "value": "slashed again"}]
    patched = ok(sdk.patch(url, json=rename, headers={"If-Match": made["etag"]}))
    assert etag_of(sdk, f"connections/{made['id']}") == patched["etag"]
    deleted = sdk.delete(url)
    assert deleted.status_code == 204, deleted.text
    assert sdk.get(f"{FS}/connections/{made['id']}").status_code == 404

    action = sdk.post(f"{FS}/flows/{pipeline.flow_id}/action/", params={"op": "disable"})
    assert ok(action)["id"] == pipeline.flow_id
    ok(sdk.post(f"{FS}/flows/{pipeline.flow_id}/action/", params={"op": "enable"}))

    body = {"name": "slashed dataset", "schemaRef": {"id": pipeline.schema_id,
                                                     "contentType": XED_FULL}}  # fmt: skip
    (ref,) = ok(sdk.post(f"{CATALOG}/dataSets/", json=body), 201)
    assert ref.startswith("@/dataSets/")


def test_no_route_answers_a_redirect(sdk: httpx.Client) -> None:
    """Double slashes at the end, every method: no 3xx anywhere."""
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        for path in (f"{FS}/connections//", f"{FS}/flows/no-such-flow/",
                     f"{CATALOG}/dataSets/", f"{DP}/mappingSets/"):  # fmt: skip
            answer = sdk.request(method, path, content=b"[]" if method != "GET" else None)
            assert not 300 <= answer.status_code < 400, (method, path, answer.headers)
            assert answer.status_code < 500, (method, path, answer.text)


# --- ?if-match= ----------------------------------------------------------------------------------


def test_if_match_as_a_query_parameter(sdk: httpx.Client, pipeline: Pipeline) -> None:
    """Adobe's collection sends PATCH with ``?if-match=<etag>`` and no header. The header
    wins when both are given."""
    made = ok(
        sdk.post(f"{FS}/connections",
                 json=local_connection(pipeline.local_spec_id, pipeline.root, "if-match")),
        201,
    )  # fmt: skip
    url = f"{FS}/connections/{made['id']}"

    def rename(name: str, **kw: Any) -> httpx.Response:
        return sdk.patch(url, json=[{"op": "replace", "path": "/name", "value": name}], **kw)

    assert error_code(rename("a"), 400) == "LF-1403"  # neither
    assert error_code(rename("a", params={"if-match": '"stale"'}), 412) == "LF-1404"
    etag = ok(rename("b", params={"if-match": made["etag"]}))["etag"]
    etag = ok(rename("c", params={"if-match": '"stale"'}, headers={"If-Match": etag}))["etag"]
    stale_header = rename("d", params={"if-match": etag}, headers={"If-Match": '"stale"'})
    assert error_code(stale_header, 412) == "LF-1404"
    (shown,) = ok(sdk.get(url))["items"]
    assert shown["name"] == "c" and shown["etag"] == etag


@pytest.mark.parametrize(
    ("kind", "attribute"),
    [("sourceConnections", "source_id"), ("targetConnections", "target_id"), ("flows", "flow_id")],
)
def test_every_patch_takes_if_match_as_a_query_parameter(
    sdk: httpx.Client, pipeline: Pipeline, kind: str, attribute: str
) -> None:
    id = getattr(pipeline, attribute)
    url = f"{FS}/{kind}/{id}"
    change = [{"op": "replace", "path": "/description", "value": f"changed by ?if-match {kind}"}]
    assert error_code(sdk.patch(url, json=change, params={"if-match": '"x"'}), 412) == "LF-1404"
    answer = ok(sdk.patch(url, json=change, params={"if-match": etag_of(sdk, f"{kind}/{id}")}))
    assert answer["id"] == id and answer["etag"] == etag_of(sdk, f"{kind}/{id}")


def test_delete_honours_an_if_match_when_one_is_sent(sdk: httpx.Client, pipeline: Pipeline) -> None:
    """DELETE needs no etag; one sent (header or ``?if-match=``) must be the current one."""
    for name in ("deleted by query", "deleted by header", "deleted without"):
        made = ok(
            sdk.post(f"{FS}/connections",
                     json=local_connection(pipeline.local_spec_id, pipeline.root, name)),
            201,
        )  # fmt: skip
        url = f"{FS}/connections/{made['id']}"
        if name == "deleted by query":
            assert error_code(sdk.delete(url, params={"if-match": '"old"'}), 412) == "LF-1404"
            assert sdk.delete(url, params={"if-match": made["etag"]}).status_code == 204
        elif name == "deleted by header":
            stale = sdk.delete(
                url, headers={"If-Match": '"old"'}, params={"if-match": made["etag"]}
            )
            assert error_code(stale, 412) == "LF-1404"
            assert sdk.delete(url, headers={"If-Match": made["etag"]}).status_code == 204
        else:
            assert sdk.delete(url).status_code == 204
        assert sdk.get(url).status_code == 404


# --- Content-Type on requests without a body -----------------------------------------------------


def test_content_type_json_without_a_body_is_never_an_error(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    """The collections send ``Content-Type: application/json`` on every request, bodies or
    not (an empty body, or ``Content-Length: 0``)."""
    assert sdk.headers["content-type"] == "application/json"
    for path in (f"{FS}/connections/{pipeline.base_id}", f"{FS}/flows", f"{CATALOG}/dataSets",
                 f"{FS}/connections/{pipeline.base_id}/explore?objectType=root"):  # fmt: skip
        assert sdk.get(path).status_code == 200, path
        assert sdk.request("GET", path, content=b"").status_code == 200, path
        head = sdk.head(path)
        assert head.status_code == 200 and head.content == b"", (path, head.status_code)
        assert head.headers["content-type"].startswith("application/json")
    made = ok(
        sdk.post(f"{FS}/connections",
                 json=local_connection(pipeline.local_spec_id, pipeline.root, "bodiless")),
        201,
    )  # fmt: skip
    assert sdk.request("DELETE", f"{FS}/connections/{made['id']}", content=b"").status_code == 204
    # Actions take no body either.
    action = sdk.post(f"{FS}/flows/{pipeline.flow_id}/action?op=disable", content=b"")
    assert ok(action)["id"] == pipeline.flow_id
    ok(sdk.post(f"{FS}/flows/{pipeline.flow_id}/action?op=enable"))


def test_a_flow_delete_honours_an_if_match_when_one_is_sent(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    for name in ("flow deleted by query", "flow deleted by header"):
        flow_id = pipeline.create_flow(sdk, name)
        url = f"{FS}/flows/{flow_id}"
        etag = etag_of(sdk, f"flows/{flow_id}")
        if name.endswith("query"):
            assert error_code(sdk.delete(url, params={"if-match": '"old"'}), 412) == "LF-1404"
            assert sdk.delete(url, params={"if-match": etag}).status_code == 204
        else:
            assert error_code(sdk.delete(url, headers={"If-Match": '"old"'}), 412) == "LF-1404"
            assert sdk.delete(url, headers={"If-Match": etag}).status_code == 204
        assert sdk.get(url).status_code == 404


def test_a_schema_registry_write_takes_if_match_as_a_query_parameter(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    """Schema Registry PUT and PATCH take the same ``?if-match=`` as Flow Service."""
    url = f"/data/foundation/schemaregistry/tenant/schemas/{quote(pipeline.schema_id, safe='')}"
    document = sdk.get(url, headers={"Accept": XED_FULL}).json()
    etag = document["meta:registryMetadata"]["eTag"]
    change = [{"op": "replace", "path": "/description", "value": "changed by ?if-match"}]
    assert error_code(sdk.patch(url, json=change, params={"if-match": '"old"'}), 412) == "LF-1404"
    assert sdk.patch(url, json=change, params={"if-match": etag}).status_code == 200


def test_the_auth_spec_may_be_left_out_or_given_by_its_alias(sdk: httpx.Client) -> None:
    """``auth.specName`` is taken from the params when only one auth spec fits them; an alias
    names one; params that fit several are a 400 listing the choices."""
    specs = ok(sdk.get(f"{FS}/connectionSpecs", params={"property": "name==sftp"}))["items"]
    spec = {"id": specs[0]["id"], "version": "1.0"}

    basic = {"host": "127.0.0.1", "userName": "u", "password": "p"}

    def create(name: str, auth: dict[str, Any]) -> httpx.Response:
        body = {"name": name, "connectionSpec": spec, "auth": auth}
        return sdk.post(f"{FS}/connections", json=body)

    made = ok(create("sftp by params", {"params": basic}), 201)
    (stored,) = ok(sdk.get(f"{FS}/connections/{made['id']}"))["items"]
    assert stored["auth"]["specName"] == "Basic Authentication for sftp"
    ok(create("sftp by alias", {"specName": "basic", "params": basic}), 201)
    unclear = create("sftp unclear", {"params": {"host": "127.0.0.1", "userName": "u"}})
    assert unclear.status_code == 400, unclear.text
    assert "Basic Authentication for sftp" in unclear.text and "SSH" in unclear.text
