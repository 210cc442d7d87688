"""The Catalog (and the routes next to it) at its limits: If-Match on a dataset DELETE, query
numbers past what the database holds, tags that are not lists of strings, unknown path words
answering 404 rather than a 400 about path validation, Flow Service spec lists that page, and
lists that read only what their page needs."""

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
from lakefeed.flows import coalesce
from lakefeed.testing.profiles import create_profile_schema, profile_table

CATALOG = "/data/foundation/catalog"
REGISTRY = "/data/foundation/schemaregistry"
FLOWSERVICE = "/data/foundation/flowservice"
TENANT = "acme0001"
HUGE = "99999999999999999999999999"


@dataclass
class World:
    lf: Lakefeed
    schema: dict[str, Any]
    first: str  # a dataset with one committed batch
    first_batch: str
    second: str  # a dataset with one committed batch of three source files
    second_batch: str
    loading_batch: str  # a batch of ``first`` still loading (no completed time)


def _ingest(lf: Lakefeed, landing: Path, dataset: str, schema: dict[str, Any]) -> str:
    # One data file per source file (small files are otherwise grouped into one): these tests
    # page and plan across the several files of a batch.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coalesce, "MAX_GROUP_FILES", 1)
        run = lf.ingest(str(landing), ".", dataset=dataset, schema=schema["$id"])
    assert run.status == "success", run.metrics
    return str(run.batch_id)


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    one = tmp_path_factory.mktemp("limits-one")
    pq.write_table(profile_table(5, tenant_id=TENANT), one / "a.parquet")
    first_batch = _ingest(lf, one, "limits first", schema)
    three = tmp_path_factory.mktemp("limits-three")
    for n in range(3):
        pq.write_table(
            profile_table(4, tenant_id=TENANT, start=100 + 10 * n), three / f"{n}.parquet"
        )
    second_batch = _ingest(lf, three, "limits second", schema)
    first = lf.datasets.get("limits first")
    loading = lf.batches.create(
        dataset_id=first.id,
        run_id="limits-run",
        flow_id="limits-flow",
        data_prefix="x/",
        tags={},
        entries=[],
    )
    return World(
        lf=lf,
        schema=schema,
        first=first.id,
        first_batch=first_batch,
        second=lf.datasets.get("limits second").id,
        second_batch=second_batch,
        loading_batch=loading.id,
    )


def new_dataset(
    sdk: httpx.Client, schema: dict[str, Any], name: str, **extra: Any
) -> httpx.Response:
    body = {"name": name, "schemaRef": {"id": schema["$id"], "contentType": XED_FULL}, **extra}
    return sdk.post(f"{CATALOG}/dataSets", json=body)


def dataset_id(response: httpx.Response) -> str:
    (link,) = ok(response, 201)
    return str(link.removeprefix("@/dataSets/"))


# --- 1. DELETE takes If-Match --------------------------------------------------------------


def test_a_dataset_delete_checks_if_match(sdk: httpx.Client, world: World) -> None:
    made = dataset_id(new_dataset(sdk, world.schema, "limits delete me"))
    url = f"{CATALOG}/dataSets/{made}"
    version = ok(sdk.get(url))[made]["version"]
    refused(sdk.delete(url, params={"if-match": '"stale"'}), 412)
    refused(sdk.delete(url, headers={"If-Match": "stale"}), 412)
    assert ok(sdk.get(url))[made]["version"] == version  # still there
    assert ok(sdk.delete(url, params={"if-match": f'"{version}"'})) == [f"@/dataSets/{made}"]
    refused(sdk.get(url), 404)


# --- 2. numbers past what the database holds -----------------------------------------------


@pytest.mark.parametrize("route", ["batches", "dataSets", "lastBatches", "dataSetFiles"])
def test_a_start_past_the_end_answers_empty(sdk: httpx.Client, world: World, route: str) -> None:
    assert ok(sdk.get(f"{CATALOG}/{route}", params={"start": "99999999999999999999"})) == {}
    assert (
        ok(sdk.get(f"{CATALOG}/{route}", params={"start": HUGE, "orderBy": "desc:created"})) == {}
    )


def test_created_bounds_past_every_batch(sdk: httpx.Client, world: World) -> None:
    every = ok(sdk.get(f"{CATALOG}/batches", params={"limit": 100}))
    assert world.first_batch in every
    assert ok(sdk.get(f"{CATALOG}/batches", params={"createdAfter": HUGE})) == {}
    assert (
        ok(sdk.get(f"{CATALOG}/batches", params={"createdAfter": f"-{HUGE}", "limit": 100}))
        == every
    )
    assert ok(sdk.get(f"{CATALOG}/batches", params={"createdBefore": HUGE, "limit": 100})) == every
    assert ok(sdk.get(f"{CATALOG}/batches", params={"createdBefore": f"-{HUGE}"})) == {}
    assert ok(sdk.get(f"{CATALOG}/batches", params={"created": HUGE})) == {}


# --- 3. unknown path words: 404; POST /batches: a clear 405 --------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/rpc/sample", ["'rpc'", "'tenant' or 'global'"]),
        ("/foo/schemas", ["'foo'", "'tenant' or 'global'"]),
        ("/tenant/foo", ["'foo'", "'schemas'", "'fieldgroups'"]),
        ("/tenant/foo/some-id", ["'foo'", "'schemas'"]),
    ],
)
def test_unknown_schema_registry_paths_are_404(
    sdk: httpx.Client, path: str, words: list[str]
) -> None:
    body = refused(sdk.get(f"{REGISTRY}{path}"), 404, "No route serves GET", *words)
    assert body["report"]["code"] == "LF-1109"
    assert "validation" not in body["report"]["detailed-message"]


def test_other_methods_name_what_the_path_takes(sdk: httpx.Client) -> None:
    refused(sdk.delete(f"{REGISTRY}/tenant/foo/some-id"), 404, "'foo'", "'schemas'")
    refused(sdk.post(f"{REGISTRY}/tenant/behaviors", json={}), 400, "Behaviors are read-only")
    refused(sdk.post(f"{REGISTRY}/foo/schemas", json={}), 405, "POST", "allowed: GET")


def test_creating_a_batch_names_the_flow_service_route(sdk: httpx.Client) -> None:
    body = refused(sdk.post(f"{CATALOG}/batches", json={}), 405, "flow run")
    assert "/data/foundation/flowservice/runs" in body["report"]["fix"]


# --- 4. Flow Service spec lists page as every list -----------------------------------------


def test_spec_lists_count_limit_and_order(sdk: httpx.Client) -> None:
    every = ok(sdk.get(f"{FLOWSERVICE}/connectionSpecs"))["items"]
    assert len(every) >= 2
    assert ok(sdk.get(f"{FLOWSERVICE}/connectionSpecs", params={"count": "true"})) == {
        "count": len(every)
    }
    page = ok(sdk.get(f"{FLOWSERVICE}/connectionSpecs", params={"limit": 1, "orderby": "-name"}))
    assert [s["name"] for s in page["items"]] == [max(s["name"] for s in every)]
    assert "next" in page["_links"]
    assert ok(sdk.get(f"{FLOWSERVICE}/flowSpecs", params={"count": "true"})) == {"count": 1}
    refused(sdk.get(f"{FLOWSERVICE}/flowSpecs", params={"orderby": "nope!"}), 400)


# --- 5. lists read what their page needs ----------------------------------------------------


def test_batch_filters_in_the_database_match_the_old_meaning(world: World) -> None:
    batches = world.lf.batches
    everything = batches.search()
    not_success = batches.search(statuses=({"success"}, True))
    assert {b.id for b in not_success} == {b.id for b in everything if b.status != "success"}
    first = batches.get(world.first_batch)
    assert [
        b.id for b in batches.search(times={"created": ({float(first.created_at)}, False)})
    ] == [b.id for b in everything if b.created_at == first.created_at]
    # A batch without a completed time matches only a negated filter.
    unfinished = batches.search(times={"completed": ({0.0}, True)})
    assert world.loading_batch in {b.id for b in unfinished}
    assert world.loading_batch not in {
        b.id
        for b in batches.search(times={"completed": ({0.0, float(first.completed_at or 0)}, False)})
    }


def test_batch_orders_put_absent_values_last_with_or_without_filters(
    sdk: httpx.Client, world: World
) -> None:
    asked = {"orderBy": "asc:completed", "limit": 100}
    plain = list(ok(sdk.get(f"{CATALOG}/batches", params=asked)))
    assert plain[-1] == world.loading_batch  # no completed time: last, as the docs say
    filtered = ok(sdk.get(f"{CATALOG}/batches", params={**asked, "status": "loading,success"}))
    assert list(filtered) == plain
    two = {"orderBy": "status,desc:created", "limit": 100}
    by_two = list(ok(sdk.get(f"{CATALOG}/batches", params=two)))
    again = list(ok(sdk.get(f"{CATALOG}/batches", params={**two, "externalId": "!none"})))
    assert by_two == again and by_two[0] == world.loading_batch
    assert ok(
        sdk.get(f"{CATALOG}/batches", params={"status": "!loading", "started": "!0"})
    ).keys() == {b.id for b in world.lf.batches.search() if b.status != "loading"}


# --- 8. tags are lists of strings ----------------------------------------------------------


def test_tags_of_another_shape_are_refused_naming_the_tag(sdk: httpx.Client, world: World) -> None:
    refused(new_dataset(sdk, world.schema, "limits bad tags", tags={"x": "a"}), 400, "'x'")
    made = dataset_id(new_dataset(sdk, world.schema, "limits tags", tags={"team": ["growth"]}))
    url = f"{CATALOG}/dataSets/{made}"
    patch = [{"op": "add", "path": "/tags/x", "value": 5}]
    refused(sdk.patch(url, json=patch), 400, "'x'", "list of strings")
    refused(sdk.patch(url, json={"tags": {"y": [1, "a"]}}), 400, "'y'")
    refused(sdk.put(url, json={"name": "limits tags", "tags": {"z": {"a": 1}}}), 400, "'z'")
    assert ok(sdk.get(url))[made]["tags"] == {"team": ["growth"]}
    ok(sdk.patch(url, json=[{"op": "add", "path": "/tags/x", "value": ["5"]}]))
    assert ok(sdk.get(url))[made]["tags"] == {"team": ["growth"], "x": ["5"]}


# --- 7. a preview plans only the files its rows need ---------------------------------------


def test_a_preview_stops_planning_files_within_a_batch(world: World) -> None:
    files = world.lf.dataset_files
    table = world.lf.datasets.table(world.lf.datasets.get(world.second))
    assert len([f for d in files.of_batch(world.second_batch) for f in d.files]) == 3
    assert len(list(files.preview_files(table, world.second, 1))) == 1
    assert len(list(files.preview_files(table, world.second, 5))) == 2  # 4 rows a file
    assert len(files.preview(world.second, 5)) == 5


# --- 5. dataSetFiles reads the batches of its page only (last: it breaks a later batch) ----


def test_a_dataset_files_page_reads_only_the_batches_it_shows(
    sdk: httpx.Client, world: World, tmp_path: Path
) -> None:
    listed = ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"limit": 100}))
    first_file = f"{world.first_batch}-1"
    assert next(iter(listed)) == first_file
    assert (
        list(ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"limit": 2, "start": 1})))
        == list(listed)[1:3]
    )
    # A later batch whose snapshot cannot be read: a first page must not need it.
    pq.write_table(profile_table(2, tenant_id=TENANT, start=500), tmp_path / "late.parquet")
    late = world.lf.batches.get(_ingest(world.lf, tmp_path, "limits late", world.schema))
    table = world.lf.datasets.table(world.lf.datasets.get(late.dataset_id))
    snapshot = table.metadata.snapshot_by_id(late.snapshot_id)
    Path(snapshot.manifest_list.removeprefix("file://")).unlink()
    assert list(ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"limit": 1}))) == [first_file]
    by_dataset = ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"dataSetId": world.first}))
    assert list(by_dataset) == [first_file]
