"""Conditional writes over REST: an ``If-Match`` (header or ``?if-match=``) on a Catalog dataset
DELETE, a Flow Service connection or flow DELETE and a Schema Registry PUT, PATCH or DELETE is
checked in the write itself, so a change another writer makes after the route read the resource
is never overwritten or deleted (412); a stale one still answers 412 and a current one 200/204.
And a PATCH of a source or target connection gives the flows using it a new etag."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api_support import ORG, Server
from compat.flowservice_parts import FS, Pipeline, build_pipeline, error_code, local_connection, ok
from lakefeed.catalog.flows import FlowResources
from lakefeed.catalog.records import Scope
from lakefeed.catalog.runs import RunStore
from lakefeed.engine import Lakefeed
from lakefeed.schema.registry import SchemaRegistry
from lakefeed.testing.profiles import create_profile_schema

CATALOG = "/data/foundation/catalog"
SR = "/data/foundation/schemaregistry/tenant/schemas"


@pytest.fixture(scope="module")
def pipeline(
    server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    yield build_pipeline(server, sdk, tmp_path_factory.mktemp("conditional"))


@pytest.fixture
def lf(server: Server) -> Lakefeed:
    """The engine of the sandbox the ``sdk`` client calls: another writer."""
    return server.lf.scoped(Scope(ORG, "prod"))


def meanwhile(
    monkeypatch: pytest.MonkeyPatch, owner: type, method: str, change: Callable[[], None]
) -> None:
    """Run ``change`` (another writer) once, right after ``owner.method`` — a step the route
    takes after it read the resource and compared its etag, before it writes."""
    original = getattr(owner, method)

    def then_change(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        monkeypatch.setattr(owner, method, original)
        change()
        return result

    monkeypatch.setattr(owner, method, then_change)


def flow_etag(sdk: httpx.Client, flow_id: str) -> str:
    (flow,) = ok(sdk.get(f"{FS}/flows/{flow_id}"))["items"]
    return str(flow["etag"])


# --- Catalog dataset DELETE ----------------------------------------------------------------------


def test_a_dataset_changed_after_the_etag_check_is_not_deleted(
    sdk: httpx.Client, lf: Lakefeed, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = lf.datasets.create("conditional dataset", pipeline.schema_id)
    url = f"{CATALOG}/dataSets/{made.id}"
    change = lambda: lf.datasets.update(made.id, description="changed meanwhile")  # noqa: E731
    meanwhile(monkeypatch, FlowResources, "check_dataset_unused", change)
    assert error_code(sdk.delete(url, headers={"If-Match": made.etag}), 412) == "LF-1404"
    assert ok(sdk.get(url))[made.id]["description"] == "changed meanwhile"
    assert error_code(sdk.delete(url, params={"if-match": made.etag}), 412) == "LF-1404"
    current = ok(sdk.get(url))[made.id]["version"]
    assert ok(sdk.delete(url, params={"if-match": current})) == [f"@/dataSets/{made.id}"]
    assert sdk.get(url).status_code == 404


# --- Flow Service connection DELETE --------------------------------------------------------------


def test_a_connection_changed_after_the_etag_check_is_not_deleted(
    sdk: httpx.Client, lf: Lakefeed, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = local_connection(pipeline.local_spec_id, pipeline.root, "conditional connection")
    made = ok(sdk.post(f"{FS}/connections", json=body), 201)
    url = f"{FS}/connections/{made['id']}"
    change = lambda: lf.connections.update(made["id"], description="changed meanwhile")  # noqa: E731
    meanwhile(monkeypatch, FlowResources, "check_connection_unused", change)
    assert error_code(sdk.delete(url, headers={"If-Match": made["etag"]}), 412) == "LF-1404"
    (shown,) = ok(sdk.get(url))["items"]
    assert shown["description"] == "changed meanwhile"
    assert error_code(sdk.delete(url, params={"if-match": made["etag"]}), 412) == "LF-1404"
    assert sdk.delete(url, params={"if-match": shown["etag"]}).status_code == 204
    assert sdk.get(url).status_code == 404


# --- Flow Service flow DELETE ---------------------------------------------------------------------


def test_a_flow_changed_after_the_etag_check_is_not_deleted(
    sdk: httpx.Client, lf: Lakefeed, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_id = pipeline.create_flow(sdk, "conditional flow")
    url = f"{FS}/flows/{flow_id}"
    etag = flow_etag(sdk, flow_id)
    change = lambda: lf.flows.update_flow(flow_id, description="changed meanwhile")  # noqa: E731
    meanwhile(monkeypatch, RunStore, "active", change)
    assert error_code(sdk.delete(url, headers={"If-Match": etag}), 412) == "LF-1404"
    (shown,) = ok(sdk.get(url))["items"]
    assert shown["description"] == "changed meanwhile"
    assert sdk.delete(url, params={"if-match": shown["etag"]}).status_code == 204
    assert sdk.get(url).status_code == 404


# --- Schema Registry PUT, PATCH, DELETE ----------------------------------------------------------


def _body(document: dict[str, Any], description: str) -> dict[str, Any]:
    kept = {k: v for k, v in document.items() if not k.startswith("meta:")}
    return {**kept, "description": description}


def _etag(document: dict[str, Any]) -> str:
    return str(document["meta:registryMetadata"]["eTag"])


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_schema_changed_after_the_etag_check_is_not_overwritten(
    sdk: httpx.Client, lf: Lakefeed, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    schema = create_profile_schema(lf.schemas, title=f"Conditional {method}")
    url = f"{SR}/{quote(schema['$id'], safe='')}"
    change = lambda: lf.schemas.update(schema["$id"], _body(schema, "changed meanwhile"))  # noqa: E731
    # The last step every write takes before it stores: composing, or finding users.
    step = "_users_of" if method == "DELETE" else "_compose_new"
    meanwhile(monkeypatch, SchemaRegistry, step, change)
    stale = {"If-Match": _etag(schema)}

    def send(**kw: Any) -> httpx.Response:
        if method == "PUT":
            return sdk.put(url, json=_body(schema, "lost"), **kw)
        if method == "PATCH":
            patch = [{"op": "replace", "path": "/description", "value": "lost"}]
            return sdk.patch(url, json=patch, **kw)
        return sdk.delete(url, **kw)

    assert error_code(send(headers=stale), 412) == "LF-1404"
    assert lf.schemas.get(schema["$id"])["description"] == "changed meanwhile"
    assert error_code(send(params={"if-match": _etag(schema)}), 412) == "LF-1404"
    current = _etag(lf.schemas.get(schema["$id"]))
    assert send(params={"if-match": current}).status_code == (204 if method == "DELETE" else 200)
    if method == "DELETE":
        assert all(d["$id"] != schema["$id"] for d in lf.schemas.list("schemas"))
    else:
        assert lf.schemas.get(schema["$id"])["description"] == "lost"


# --- a PATCH of a flow's connection renews the flow's etag ---------------------------------------


def test_a_source_connection_patch_gives_its_flow_a_new_etag(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    flow_id = pipeline.create_flow(sdk, "moved by its source")
    other = flow_etag(sdk, pipeline.flow_id)
    (flow,) = ok(sdk.get(f"{FS}/flows/{flow_id}"))["items"]
    source_url = f"{FS}/sourceConnections/{flow['sourceConnectionIds'][0]}"
    (source,) = ok(sdk.get(source_url))["items"]
    (pipeline.root / "elsewhere").mkdir(exist_ok=True)
    move = [{"op": "replace", "path": "/params/path", "value": "elsewhere"}]
    ok(sdk.patch(source_url, json=move, headers={"If-Match": source["etag"]}))
    assert flow_etag(sdk, flow_id) != flow["etag"]
    # A client holding the flow's old etag notices.
    change = [{"op": "replace", "path": "/description", "value": "stale"}]
    stale = sdk.patch(f"{FS}/flows/{flow_id}", json=change, headers={"If-Match": flow["etag"]})
    assert error_code(stale, 412) == "LF-1404"
    assert flow_etag(sdk, pipeline.flow_id) == other  # other flows keep theirs


def test_a_target_connection_patch_gives_its_flow_a_new_etag(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    flow_id = pipeline.create_flow(sdk, "renamed target")
    other = flow_etag(sdk, pipeline.flow_id)
    (flow,) = ok(sdk.get(f"{FS}/flows/{flow_id}"))["items"]
    target_url = f"{FS}/targetConnections/{flow['targetConnectionIds'][0]}"
    (target,) = ok(sdk.get(target_url))["items"]
    rename = [{"op": "replace", "path": "/name", "value": "another target name"}]
    ok(sdk.patch(target_url, json=rename, params={"if-match": target["etag"]}))
    assert flow_etag(sdk, flow_id) != flow["etag"]
    assert flow_etag(sdk, pipeline.flow_id) == other
