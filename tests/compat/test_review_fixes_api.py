"""Catalog and error answers a review found wrong on a real server: dataSetFiles after a dataset
was deleted, repeated query parameters, JSON Patch ``remove`` on a dataset, the methods a 405
names, and tags with an empty name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, refused
from compat.flowservice_parts import XED_FULL, ok
from lakefeed.catalog.records import Scope
from lakefeed.engine import Lakefeed
from lakefeed.testing.profiles import create_profile_schema, profile_table

CATALOG = "/data/foundation/catalog"
FLOWSERVICE = "/data/foundation/flowservice"
TENANT = "acme0001"


@dataclass
class World:
    lf: Lakefeed
    schema: dict[str, Any]
    kept: str  # a dataset with a committed batch
    kept_batch: str
    deleted_batch: str  # a committed batch of a dataset deleted since


def _ingest(lf: Lakefeed, landing: Path, dataset: str, schema: dict[str, Any]) -> tuple[str, str]:
    """``(batch id, flow id)`` of a successful ingest of ``landing`` into ``dataset``."""
    run = lf.ingest(str(landing), ".", dataset=dataset, schema=schema["$id"])
    assert run.status == "success", run.metrics
    return str(run.batch_id), run.flow_id


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    gone = tmp_path_factory.mktemp("review-gone")
    pq.write_table(profile_table(3, tenant_id=TENANT), gone / "a.parquet")
    deleted_batch, flow = _ingest(lf, gone, "review gone", schema)
    kept = tmp_path_factory.mktemp("review-kept")
    pq.write_table(profile_table(4, tenant_id=TENANT, start=50), kept / "b.parquet")
    kept_batch, _ = _ingest(lf, kept, "review kept", schema)
    lf.delete_flow(flow)
    lf.delete_dataset("review gone")
    return World(
        lf=lf,
        schema=schema,
        kept=lf.datasets.get("review kept").id,
        kept_batch=kept_batch,
        deleted_batch=deleted_batch,
    )


def new_dataset(sdk: httpx.Client, world: World, name: str, **extra: Any) -> str:
    body = {"name": name, "schemaRef": {"id": world.schema["$id"], "contentType": XED_FULL}}
    (link,) = ok(sdk.post(f"{CATALOG}/dataSets", json={**body, **extra}), 201)
    return str(link.removeprefix("@/dataSets/"))


def dataset(sdk: httpx.Client, id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(sdk.get(f"{CATALOG}/dataSets/{id}"))[id]
    return found


# --- 1. dataSetFiles once a dataset with batches is deleted ----------------------------------


@pytest.mark.parametrize("order", [None, "desc:created", "created"])
def test_dataset_files_skip_the_batches_of_a_deleted_dataset(
    sdk: httpx.Client, world: World, order: str | None
) -> None:
    params = {} if order is None else {"orderBy": order}
    files = ok(sdk.get(f"{CATALOG}/dataSetFiles", params=params))
    assert {f["batchId"] for f in files.values()} == {world.kept_batch}
    assert {f["dataSetId"] for f in files.values()} == {world.kept}
    for start in (0, 1):  # paging past the deleted dataset's batch, and past the end
        page = ok(sdk.get(f"{CATALOG}/dataSetFiles", params={**params, "limit": 1, "start": start}))
        assert len(page) == 1 - start
        assert all(f["batchId"] == world.kept_batch for f in page.values())


def test_a_deleted_datasets_batch_still_has_no_files(sdk: httpx.Client, world: World) -> None:
    found = sdk.get(f"{CATALOG}/dataSetFiles", params={"batchId": world.deleted_batch})
    assert ok(found) == {}


# --- 2. a repeated query parameter is refused, naming it --------------------------------------


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("dataSets", [("name", "review kept"), ("name", "nope")]),
        ("dataSets", [("name", "nope"), ("name", "review kept")]),
        ("dataSets", [("orderBy", "name"), ("orderBy", "desc:created")]),
        ("dataSets", [("limit", "1"), ("limit", "2")]),
        ("batches", [("status", "success"), ("status", "failed")]),
        ("batches", [("properties", "status"), ("properties", "created")]),
    ],
)
def test_a_query_parameter_sent_twice_is_refused(
    sdk: httpx.Client, world: World, route: str, params: list[tuple[str, str]]
) -> None:
    body = refused(sdk.get(f"{CATALOG}/{route}", params=params), 400, repr(params[0][0]), "once")
    assert "a,b" in body["report"]["fix"]


def test_the_comma_form_and_repeated_property_are_still_taken(
    sdk: httpx.Client, world: World
) -> None:
    both = ok(sdk.get(f"{CATALOG}/dataSets", params={"name": "nope,review kept"}))
    assert list(both) == [world.kept]
    conditions = [("property", "name==review kept"), ("property", "description")]
    assert list(ok(sdk.get(f"{CATALOG}/dataSets", params=conditions))) == [world.kept]
    batches = ok(sdk.get(f"{CATALOG}/batches", params={"status": "success,failed"}))
    assert world.kept_batch in batches


# --- 3. JSON Patch remove on a dataset -------------------------------------------------------


def test_patch_remove_empties_description_and_tags(sdk: httpx.Client, world: World) -> None:
    id = new_dataset(
        sdk, world, "review remove", description="old", tags={"team": ["a"], "keep": ["b"]}
    )
    remove = [{"op": "remove", "path": "/tags/team"}]
    ok(sdk.patch(f"{CATALOG}/dataSets/{id}", json=remove))
    assert dataset(sdk, id)["tags"] == {"keep": ["b"]}
    remove = [{"op": "remove", "path": "/description"}]
    ok(sdk.patch(f"{CATALOG}/dataSets/{id}", json=remove))
    assert dataset(sdk, id)["description"] == ""
    assert dataset(sdk, id)["tags"] == {"keep": ["b"]}
    ok(sdk.patch(f"{CATALOG}/dataSets/{id}", json=[{"op": "remove", "path": "/tags"}]))
    assert dataset(sdk, id)["tags"] == {}
    assert dataset(sdk, id)["name"] == "review remove"


@pytest.mark.parametrize(("path", "word"), [("/name", "name"), ("/schemaRef", "schema")])
def test_patch_cannot_remove_name_or_schema(
    sdk: httpx.Client, world: World, path: str, word: str
) -> None:
    id = new_dataset(sdk, world, f"review keep {word}")
    refused(sdk.patch(f"{CATALOG}/dataSets/{id}", json=[{"op": "remove", "path": path}]), 400)
    assert dataset(sdk, id)["name"] == f"review keep {word}"


# --- 4. a 405 names the methods of every route of the path ----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", f"{FLOWSERVICE}/flows/x", {"GET", "PATCH", "DELETE"}),
        ("DELETE", f"{FLOWSERVICE}/flows", {"GET", "POST"}),
        ("PUT", f"{CATALOG}/dataSets", {"GET", "POST"}),
    ],
)
def test_a_405_names_every_method_of_the_path(
    sdk: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    response = sdk.request(method, path)
    body = refused(response, 405, f"{method} is not allowed")
    header = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= header and method not in header
    message = body["report"]["detailed-message"]
    listed = {m.strip() for m in message.partition("allowed: ")[2].rstrip(").").split(",")}
    assert listed == header


# --- 5. a tag name cannot be empty -----------------------------------------------------------


def test_an_empty_tag_name_is_refused(sdk: httpx.Client, world: World) -> None:
    id = new_dataset(sdk, world, "review tags")
    add = [{"op": "add", "path": "/tags/", "value": ["v"]}]
    refused(sdk.patch(f"{CATALOG}/dataSets/{id}", json=add), 400, "empty")
    refused(sdk.patch(f"{CATALOG}/dataSets/{id}", json={"tags": {"": ["v"]}}), 400, "empty")
    put = {"name": "review tags", "tags": {"": ["v"]}}
    refused(sdk.put(f"{CATALOG}/dataSets/{id}", json=put), 400, "empty")
    body = {"name": "review tags 2", "schemaRef": {"id": world.schema["$id"]}, "tags": {"": []}}
    refused(sdk.post(f"{CATALOG}/dataSets", json=body), 400, "empty")
    assert dataset(sdk, id).get("tags", {}) == {}
