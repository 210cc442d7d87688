"""The Catalog as Adobe's clients call it: the dataset fields they read (``classification``,
``tags``, ``observableSchema`` on request, a ``files`` link that resolves), ``lastBatches``,
``PUT``/``PATCH`` of a dataset, ``start``/``limit`` paging, every documented list filter
honoured or refused by name (and unknown parameters refused), and the Platform APIs lakefeed
does not offer answering a clear 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, refused
from compat.flowservice_parts import XED_FULL, ok
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema, profile_table

CATALOG = "/data/foundation/catalog"
EXPORT = "/data/foundation/export"
TENANT = "acme0001"


def resolve(link: str) -> str:
    """A Catalog ``@/…`` link as a request path (``@/`` is the Catalog's base path)."""
    assert link.startswith("@/"), link
    return CATALOG + link[1:]


@dataclass
class World:
    schema: dict[str, Any]
    partial: str  # a dataset with one batch: 100 rows, 3 rejected (partial ingestion 5%)
    partial_batch: dict[str, Any]
    mixed: str  # a dataset with a failed batch, then a successful one
    failed_batch: dict[str, Any]
    good_batch: dict[str, Any]
    base_connection_id: str
    connection_spec_id: str


def _batch(sdk: httpx.Client, batch_id: str | None) -> dict[str, Any]:
    assert batch_id is not None
    return dict(ok(sdk.get(f"{CATALOG}/batches/{batch_id}"))[batch_id])


@pytest.fixture(scope="module")
def world(server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> World:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    partial_landing = tmp_path_factory.mktemp("catalog-partial")
    pq.write_table(
        profile_table(100, tenant_id=TENANT, bad={3: "gender", 17: "email", 50: "points"}),
        partial_landing / "a.parquet",
    )
    partial = lf.ingest(
        str(partial_landing),
        ".",
        dataset="compat partial",
        schema=schema["$id"],
        partial_ingestion_percent=5,
    )
    assert partial.status == "success", partial.metrics
    mixed_landing = tmp_path_factory.mktemp("catalog-mixed")
    pq.write_table(
        profile_table(10, tenant_id=TENANT, start=200, bad={2: "gender"}),
        mixed_landing / "bad.parquet",
    )
    failed = lf.ingest(str(mixed_landing), ".", dataset="compat mixed", schema=schema["$id"])
    assert failed.status == "failed", failed.metrics
    (mixed_landing / "bad.parquet").unlink()
    pq.write_table(profile_table(7, tenant_id=TENANT, start=300), mixed_landing / "good.parquet")
    good = lf.ingest(str(mixed_landing), ".", dataset="compat mixed", schema=schema["$id"])
    assert good.status == "success", good.metrics
    flow = lf.flows.flow(lf.batches.get(str(good.batch_id)).flow_id)
    (source,) = lf.flows.source_connections(flow.source_connection_ids)
    return World(
        schema=schema,
        partial=lf.datasets.get("compat partial").id,
        partial_batch=_batch(sdk, partial.batch_id),
        mixed=lf.datasets.get("compat mixed").id,
        failed_batch=_batch(sdk, failed.batch_id),
        good_batch=_batch(sdk, good.batch_id),
        base_connection_id=source.base_connection_id,
        connection_spec_id=source.connection_spec_id,
    )


def new_dataset(sdk: httpx.Client, schema: dict[str, Any], name: str, **extra: Any) -> str:
    body = {"name": name, "schemaRef": {"id": schema["$id"], "contentType": XED_FULL}, **extra}
    (link,) = ok(sdk.post(f"{CATALOG}/dataSets", json=body), 201)
    return str(link.removeprefix("@/dataSets/"))


# --- the fields clients read ---------------------------------------------------------------


def test_a_dataset_carries_classification_tags_and_files(sdk: httpx.Client, world: World) -> None:
    tags = {"adobe/pqs/table": ["compat_tagged"], "team": ["growth"]}
    dataset_id = new_dataset(sdk, world.schema, "compat tagged", tags=tags)
    dataset = ok(sdk.get(f"{CATALOG}/dataSets/{dataset_id}"))[dataset_id]
    assert dataset["classification"] == {"dataBehavior": "record", "managedBy": "CUSTOMER"}
    assert dataset["tags"] == tags
    assert "observableSchema" not in dataset  # only on request
    listed = ok(sdk.get(f"{CATALOG}/dataSets", params={"name": "compat tagged"}))
    assert listed[dataset_id]["classification"]["dataBehavior"] == "record"
    assert "observableSchema" not in listed[dataset_id]


def test_observable_schema_on_request(sdk: httpx.Client, world: World) -> None:
    asked = {"properties": "name,observableSchema"}
    one = ok(sdk.get(f"{CATALOG}/dataSets/{world.partial}", params=asked))[world.partial]
    assert set(one) == {"name", "observableSchema"}
    observable = one["observableSchema"]
    assert observable["type"] == "object"
    assert f"_{TENANT}" in observable["properties"]  # the loyalty field group's fields
    listed = ok(sdk.get(f"{CATALOG}/dataSets", params={**asked, "limit": 100}))
    assert listed[world.partial] == one
    assert len(listed) <= 20  # Adobe's cap when observableSchema is asked for


def test_the_files_link_resolves_to_the_data_of_each_batch(sdk: httpx.Client, world: World) -> None:
    dataset = ok(sdk.get(f"{CATALOG}/dataSets/{world.mixed}"))[world.mixed]
    files = ok(sdk.get(resolve(dataset["files"])))
    good = world.good_batch["id"]
    assert list(files) == [f"{good}-1"]  # one source file; the failed batch committed nothing
    (file,) = files.values()
    assert file["dataSetId"] == world.mixed and file["batchId"] == good
    assert file["records"] == 7 and file["isValid"] is True and file["size"] > 0
    assert file["_links"]["batchFiles"]["href"] == f"{EXPORT}/batches/{good}/files"
    assert ok(sdk.get(f"{CATALOG}/dataSetFiles/{good}-1")) == files
    assert ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"batchId": good})) == files
    assert ok(sdk.get(f"{CATALOG}/dataSetFiles", params={"batchId": "nope"})) == {}
    # The links lead to the Data Access API: the Parquet data itself.
    data = sdk.get(file["_links"]["self"]["href"])
    assert data.status_code == 200, data.text
    assert data.content[:4] == b"PAR1" and len(data.content) == file["size"]
    listed = ok(sdk.get(file["_links"]["batchFiles"]["href"]))
    assert [f["dataSetFileId"] for f in listed["data"]] == [f"{good}-1"]
    refused(sdk.get(f"{CATALOG}/dataSetFiles/{world.failed_batch['id']}-1"), 404)


# --- lastBatches ---------------------------------------------------------------------------


def test_last_batches_of_datasets(sdk: httpx.Client, world: World) -> None:
    failed, good = world.failed_batch["id"], world.good_batch["id"]
    both = f"{world.mixed},{world.partial}"
    answer = ok(sdk.get(f"{CATALOG}/lastBatches", params={"dataSetId": both}))
    assert set(answer) == {world.mixed, world.partial}
    mixed = answer[world.mixed]
    assert mixed["lastBatchId"] == good and mixed["lastBatchStatus"] == "success"
    assert mixed["lastSuccessfulBatchId"] == good and mixed["lastFailedBatchId"] == failed
    assert mixed["imsOrg"] == ORG and mixed["created"] == world.failed_batch["created"]
    assert "lastFailedBatchId" not in answer[world.partial]
    one = ok(sdk.get(f"{CATALOG}/lastBatches", params={"dataSetId": world.partial}))
    assert list(one) == [world.partial]
    failing = ok(sdk.get(f"{CATALOG}/lastBatches", params={"lastFailedBatchId": failed}))
    assert list(failing) == [world.mixed]
    refused(sdk.get(f"{CATALOG}/lastBatches", params={"dataSet": world.mixed}), 400, "dataSet")


# --- PUT and PATCH -------------------------------------------------------------------------


def test_put_replaces_name_description_and_tags(sdk: httpx.Client, world: World) -> None:
    dataset_id = new_dataset(sdk, world.schema, "compat put", tags={"a": ["1"]})
    before = ok(sdk.get(f"{CATALOG}/dataSets/{dataset_id}"))[dataset_id]
    body = {**before, "name": "compat put renamed", "description": "now described"}
    del body["tags"]
    answer = ok(sdk.put(f"{CATALOG}/dataSets/{dataset_id}/", json=body))
    assert answer == [f"@/dataSets/{dataset_id}"]
    after = ok(sdk.get(f"{CATALOG}/dataSets/{dataset_id}"))[dataset_id]
    assert after["name"] == "compat put renamed" and after["description"] == "now described"
    assert after["tags"] == {} and after["schemaRef"] == before["schemaRef"]
    assert after["version"] != before["version"] and after["updated"] >= before["updated"]


def test_patch_takes_an_object_or_a_json_patch(sdk: httpx.Client, world: World) -> None:
    dataset_id = new_dataset(sdk, world.schema, "compat patch")
    url = f"{CATALOG}/dataSets/{dataset_id}"
    ok(sdk.patch(url, json={"description": "merged", "tags": {"unifiedProfile": ["enabled:true"]}}))
    ok(
        sdk.patch(
            url,
            json=[
                {"op": "add", "path": "/tags/unifiedIdentity", "value": ["enabled:true"]},
                {"op": "replace", "path": "/name", "value": "compat patched"},
            ],
        )
    )
    dataset = ok(sdk.get(url))[dataset_id]
    assert dataset["name"] == "compat patched" and dataset["description"] == "merged"
    assert dataset["tags"] == {
        "unifiedProfile": ["enabled:true"],
        "unifiedIdentity": ["enabled:true"],
    }
    # The etag, as a header or as Adobe's collection sends it: checked when given.
    refused(sdk.patch(url, json={"description": "x"}, headers={"If-Match": '"stale"'}), 412)
    refused(sdk.patch(url, params={"if-match": "stale"}, json={"description": "x"}), 412)
    ok(sdk.patch(url, json={"description": "y"}, headers={"If-Match": dataset["version"]}))
    assert ok(sdk.get(url))[dataset_id]["description"] == "y"


@pytest.mark.parametrize(
    ("method", "body", "status", "words"),
    [
        ("patch", {"schemaRef": {"id": "https://ns.adobe.com/x/schemas/other"}}, 400, ("schema",)),
        ("patch", [{"op": "replace", "path": "/schemaRef/id", "value": "x"}], 400, ("schema",)),
        ("put", {"name": "x", "schemaRef": {"id": "other"}}, 400, ("schema",)),
        ("patch", {"imsOrg": "other"}, 400, ("imsOrg", "cannot be changed")),
        ("patch", [{"op": "add", "path": "/files", "value": "x"}], 400, ("/files",)),
        ("patch", {"name": 5}, 400, ("name",)),
        ("patch", {"tags": ["a"]}, 400, ("tags",)),
        ("patch", "text", 400, ("PATCH body",)),
        ("put", {"description": "no name"}, 400, ("name",)),
        ("patch", {"name": "compat partial"}, 409, ("compat partial",)),
    ],
)
def test_what_an_update_cannot_change(
    sdk: httpx.Client, world: World, method: str, body: Any, status: int, words: tuple[str, ...]
) -> None:
    url = f"{CATALOG}/dataSets/{world.mixed}"
    before = ok(sdk.get(url))[world.mixed]
    refused(sdk.request(method.upper(), url, json=body), status, *words)
    assert ok(sdk.get(url))[world.mixed] == before


def test_updating_an_unknown_dataset_is_404(sdk: httpx.Client) -> None:
    refused(sdk.patch(f"{CATALOG}/dataSets/{'0' * 24}", json={"name": "x"}), 404)
    refused(sdk.put(f"{CATALOG}/dataSets/{'0' * 24}", json={"name": "x"}), 404)


# --- start and limit -----------------------------------------------------------------------


def test_start_and_limit_page_as_adobe_does(sdk: httpx.Client, world: World) -> None:
    for n in range(22):
        new_dataset(sdk, world.schema, f"compat page {n:02}")
    everything = ok(sdk.get(f"{CATALOG}/dataSets", params={"limit": 100}))
    assert len(everything) >= 24
    assert len(ok(sdk.get(f"{CATALOG}/dataSets"))) == 20  # the default page
    seen: list[str] = []
    start = 0
    while True:  # as clients page: start += what came back, until a short page
        page = ok(sdk.get(f"{CATALOG}/dataSets", params={"start": start, "limit": 7}))
        seen.extend(page)
        start += len(page)
        if len(page) < 7:
            break
    assert seen == list(everything)
    assert ok(sdk.get(f"{CATALOG}/dataSets", params={"start": len(seen)})) == {}
    for url in ("dataSets", "batches", "lastBatches", "dataSetFiles"):
        refused(sdk.get(f"{CATALOG}/{url}", params={"limit": 0}), 400, "limit")
        refused(sdk.get(f"{CATALOG}/{url}", params={"limit": 101}), 400, "limit")
        refused(sdk.get(f"{CATALOG}/{url}", params={"start": -1}), 400, "start")


# --- list filters --------------------------------------------------------------------------


def batch_ids(sdk: httpx.Client, **params: Any) -> set[str]:
    return set(ok(sdk.get(f"{CATALOG}/batches", params={"limit": 100, **params})))


def test_every_documented_batch_filter_filters(sdk: httpx.Client, world: World) -> None:
    partial, failed, good = world.partial_batch, world.failed_batch, world.good_batch
    everything = {partial["id"], failed["id"], good["id"]}
    assert everything <= batch_ids(sdk)
    metrics = partial["metrics"]
    assert metrics["inputRecordCount"] == 100 and metrics["failedRecordCount"] == 3
    for name, value in [
        ("recordCount", metrics["inputRecordCount"]),
        ("failedRecordCount", metrics["failedRecordCount"]),
        ("size", metrics["inputByteSize"]),
        ("started", partial["started"]),
        ("completed", partial["completed"]),
        ("created", partial["created"]),
        ("updated", partial["updated"]),
        ("batch", partial["id"]),
        ("externalId", partial["externalId"]),
        ("version", partial["version"]),
    ]:
        assert batch_ids(sdk, **{name: value}) == {partial["id"]}, name
        assert partial["id"] not in batch_ids(sdk, **{name: f"!{value}"}), name
    both = f"{failed['id']},{good['id']}"
    assert batch_ids(sdk, batch=both) == {failed["id"], good["id"]}
    assert batch_ids(sdk, dataSet=world.mixed) == {failed["id"], good["id"]}
    assert batch_ids(sdk, dataSet=world.mixed, status="failed") == {failed["id"]}
    assert batch_ids(sdk, dataSet=world.mixed, status="!failed") == {good["id"]}
    assert everything <= batch_ids(sdk, connection=world.base_connection_id) | {partial["id"]}
    assert failed["id"] in batch_ids(sdk, connection=world.base_connection_id)
    assert batch_ids(sdk, connection="nope") == set()
    assert everything <= batch_ids(sdk, connector=world.connection_spec_id)
    assert batch_ids(sdk, connector="nope") == set()
    assert batch_ids(sdk, tags="acp_partialIngestionPercent:5") == {partial["id"]}
    assert batch_ids(sdk, property="failedRecordCount") == set()  # not a top-level field
    over = batch_ids(sdk, property="metrics.failedRecordCount>0")
    assert partial["id"] in over and good["id"] not in over
    assert batch_ids(sdk, property=f"externalId=={partial['externalId']}") == {partial["id"]}
    created_before = batch_ids(sdk, createdBefore=good["created"], dataSet=world.mixed)
    assert created_before == {failed["id"]}
    newest = ok(
        sdk.get(
            f"{CATALOG}/batches",
            params={"dataSet": world.mixed, "orderBy": "desc:created,id", "limit": 1},
        )
    )
    assert list(newest) == [good["id"]]
    by_status = ok(
        sdk.get(f"{CATALOG}/batches", params={"dataSet": world.mixed, "orderBy": "status"})
    )
    assert list(by_status) == [failed["id"], good["id"]]


@pytest.mark.parametrize(
    "name", ["startAfter", "startBefore", "endAfter", "endBefore", "createdUser", "createdClient"]
)
def test_batch_filters_lakefeed_cannot_honour_are_refused_by_name(
    sdk: httpx.Client, name: str
) -> None:
    refused(sdk.get(f"{CATALOG}/batches", params={name: "1700000000000"}), 400, name)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("batches", "dataset"),
        ("batches", "sort"),
        ("batches", "colour"),
        ("dataSets", "schema"),
        ("dataSets", "orderby"),
        ("dataSets/{id}", "limit"),
        ("batches/{id}", "fields"),
        ("lastBatches", "status"),
        ("dataSetFiles", "dataSet"),
    ],
)
def test_unknown_query_parameters_are_refused_by_name(
    sdk: httpx.Client, world: World, url: str, name: str
) -> None:
    path = url.format(id=world.partial if url.startswith("dataSets") else world.good_batch["id"])
    answer = refused(sdk.get(f"{CATALOG}/{path}", params={name: "x"}), 400, repr(name))
    assert answer["report"]["code"] == "LF-1003"


def test_dataset_filters(sdk: httpx.Client, world: World) -> None:
    def names(**params: Any) -> set[str]:
        found = ok(sdk.get(f"{CATALOG}/dataSets", params={"limit": 100, **params}))
        return {d["name"] for d in found.values()}

    new_dataset(sdk, world.schema, "compat filter one", tags={"kind": ["alpha"], "x": ["1"]})
    new_dataset(
        sdk, world.schema, "compat filter two", description="second", tags={"kind": ["beta"]}
    )
    assert names(name="compat filter*") == {"compat filter one", "compat filter two"}
    assert names(name="compat filter one,compat filter two") == {
        "compat filter one",
        "compat filter two",
    }
    assert "compat filter one" not in names(name="!compat filter one")
    assert names(tags="kind:alpha") == {"compat filter one"}
    assert names(tags="kind:*,x:1") == {"compat filter one"}
    assert names(tags="kind:b*") == {"compat filter two"}
    assert names(description="second") == {"compat filter two"}
    assert names(property="name~^compat filter t") == {"compat filter two"}
    assert "compat filter one" not in names(property="name!=compat filter one")
    assert names(property="lastBatchStatus==success") == {"compat partial", "compat mixed"}
    assert names(property="!lastBatchId") & {"compat partial", "compat mixed"} == set()
    ordered = ok(
        sdk.get(
            f"{CATALOG}/dataSets",
            params={"name": "compat filter*", "orderBy": "desc:name", "properties": "name"},
        )
    )
    assert [d["name"] for d in ordered.values()] == ["compat filter two", "compat filter one"]
    for name in ("createdUser", "enableErrorDiagnostics"):
        refused(sdk.get(f"{CATALOG}/dataSets", params={name: "x"}), 400, name)
    refused(sdk.get(f"{CATALOG}/dataSets", params={"property": "name~("}), 400, "regular")
    # RE2, linear in the text: a pattern that backtracks for ever in Python's re answers at
    # once, and look-arounds (which RE2 lacks) are refused by name.
    new_dataset(sdk, world.schema, "a" * 60 + "!")
    assert names(property="name~^(a+)+$") == set()
    refused(sdk.get(f"{CATALOG}/dataSets", params={"property": "name~^(?=c)"}), 400, "RE2")
    refused(sdk.get(f"{CATALOG}/dataSets", params={"tags": "novalue"}), 400, "tags")
    refused(sdk.get(f"{CATALOG}/dataSets", params={"created": "today"}), 400, "created")


# --- what lakefeed does not offer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "words"),
    [
        ("POST", "/data/foundation/import/batches", ("Batch Ingestion",)),
        ("POST", "/data/foundation/import/batches/abc?action=COMPLETE", ("Batch Ingestion",)),
        ("PUT", "/data/foundation/import/batches/abc/datasets/def/files/a.json", ("Batch",)),
        ("GET", "/data/foundation/schemaregistry/tenant/descriptors", ("descriptors",)),
        ("POST", "/data/foundation/schemaregistry/tenant/descriptors", ("descriptors",)),
        ("GET", "/data/foundation/schemaregistry/tenant/descriptors/abc", ("descriptors",)),
        ("GET", "/data/foundation/schemaregistry/tenant/unions", ("unions",)),
        ("GET", "/data/foundation/schemaregistry/tenant/unions/", ("unions",)),
        ("POST", "/data/foundation/catalog/", ("batched Catalog requests",)),
        ("POST", "/data/foundation/catalog", ("batched Catalog requests",)),
    ],
)
def test_apis_lakefeed_does_not_offer_answer_a_clear_404(
    sdk: httpx.Client, method: str, path: str, words: tuple[str, ...]
) -> None:
    body = [{"id": "a", "resource": "/dataSets", "method": "GET"}] if "catalog" in path else {}
    answer = refused(sdk.request(method, path, json=body), 404, "lakefeed does not offer", *words)
    assert answer["report"]["code"] == "LF-1108"
    assert answer["report"]["fix"]


def test_a_schema_ref_in_either_media_type_spelling_makes_a_dataset(
    sdk: httpx.Client, world: World
) -> None:
    """Adobe's samples spell the schema's media type both ways (xed and xdm)."""
    for n, content_type in enumerate(("application/vnd.adobe.xdm-full+json;version=1", XED_FULL)):
        ref = {"id": world.schema["$id"], "contentType": content_type}
        body = {"name": f"compat spelling {n}", "schemaRef": ref}
        ok(sdk.post(f"{CATALOG}/dataSets", json=body), 201)
    ref = {"id": world.schema["$id"], "contentType": "text/csv"}
    body = {"name": "compat spelling x", "schemaRef": ref}
    refused(sdk.post(f"{CATALOG}/dataSets", json=body), 400, "contentType")
