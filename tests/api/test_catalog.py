"""The Catalog over HTTP: datasets created, read, listed, paged and deleted in the Catalog's
keyed shapes; the batches an ingest wrote, with their metrics; sandbox isolation; bad input."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, refused
from lakefeed.catalog.records import Scope
from lakefeed.datasets.iceberg import namespace_for
from lakefeed.testing.profiles import create_profile_schema, profile_table

CATALOG = "/data/foundation/catalog"
TENANT = "acme0001"
XED_NOTEXT = "application/vnd.adobe.xed-full-notext+json; version=1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def create(api: httpx.Client, name: str, schema_id: str, **extra: Any) -> str:
    body = {"name": name, "schemaRef": {"id": schema_id, "contentType": XED_NOTEXT}, **extra}
    (link,) = ok(api.post(f"{CATALOG}/dataSets", json=body), 201)
    assert re.fullmatch(r"@/dataSets/[0-9a-f]{24}", link), link
    return str(link.removeprefix("@/dataSets/"))


@pytest.fixture(scope="module")
def schema(server: Server) -> dict[str, Any]:
    return create_profile_schema(server.lf.scoped(Scope(ORG, "prod")).schemas)


@pytest.fixture(scope="module")
def dev(server: Server) -> Iterator[httpx.Client]:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as client:
        yield client


@pytest.fixture(scope="module")
def ingested(
    server: Server,
    api: httpx.Client,
    schema: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """A dataset with one batch: 100 rows in two files, 3 of them bad (partial ingestion 5%)."""
    dataset_id = create(api, "ingested", schema["$id"])
    landing = tmp_path_factory.mktemp("landing")
    pq.write_table(
        profile_table(60, tenant_id=TENANT, bad={3: "gender", 17: "email"}), landing / "a.parquet"
    )
    pq.write_table(
        profile_table(40, tenant_id=TENANT, start=60, bad={5: "points"}), landing / "b.parquet"
    )
    lf = server.lf.scoped(Scope(ORG, "prod"))
    run = lf.ingest(str(landing), ".", dataset=dataset_id, partial_ingestion_percent=5)
    assert run.status == "success", run.metrics
    assert run.batch_id is not None
    return {"dataset_id": dataset_id, "batch_id": run.batch_id}


def test_create_and_get_a_dataset(api: httpx.Client, schema: dict[str, Any]) -> None:
    tags = {"adobe/pqs/table": ["members"]}
    dataset_id = create(
        api,
        "members",
        schema["meta:altId"],
        description="Loyalty members",
        tags=tags,
        enableErrorDiagnostics=True,
        fileDescription={"format": "parquet"},
    )
    body = ok(api.get(f"{CATALOG}/dataSets/{dataset_id}"))
    assert list(body) == [dataset_id]
    dataset = body[dataset_id]
    assert dataset["name"] == "members" and dataset["description"] == "Loyalty members"
    assert dataset["schemaRef"] == {"id": schema["$id"], "contentType": XED_NOTEXT}
    assert dataset["tags"] == tags and dataset["imsOrg"] == ORG
    assert dataset["files"] == f"@/dataSetFiles?dataSetId={dataset_id}"
    assert "lastBatchId" not in dataset
    projected = ok(api.get(f"{CATALOG}/dataSets/{dataset_id}", params={"properties": "name,tags"}))
    assert projected == {dataset_id: {"name": "members", "tags": tags}}


def test_list_pages_sorts_projects_and_filters(api: httpx.Client, schema: dict[str, Any]) -> None:
    ids = [create(api, f"paged-{n}", schema["$id"]) for n in range(3)]
    listed = ok(api.get(f"{CATALOG}/dataSets", params={"limit": 100}))
    assert set(ids) <= set(listed)
    everything = list(listed)
    first = ok(api.get(f"{CATALOG}/dataSets", params={"limit": 2}))
    rest = ok(api.get(f"{CATALOG}/dataSets", params={"limit": 100, "start": 2}))
    assert list(first) + list(rest) == everything and len(first) == 2
    newest_first = ok(
        api.get(f"{CATALOG}/dataSets", params={"orderBy": "desc:created", "limit": 100})
    )
    assert list(newest_first) == everything[::-1]
    by_name = ok(api.get(f"{CATALOG}/dataSets", params={"orderBy": "asc:name", "limit": 100}))
    names = [d["name"] for d in by_name.values()]
    assert names == sorted(names)
    named = ok(api.get(f"{CATALOG}/dataSets", params={"name": "paged-1", "properties": "name"}))
    assert named == {ids[1]: {"name": "paged-1"}}
    assert len(ok(api.get(f"{CATALOG}/dataSets"))) <= 20
    refused(api.get(f"{CATALOG}/dataSets", params={"limit": 0}), 400, "limit")
    refused(api.get(f"{CATALOG}/dataSets", params={"limit": 101}), 400, "limit")
    refused(api.get(f"{CATALOG}/dataSets", params={"start": "x"}), 400, "start")
    refused(api.get(f"{CATALOG}/dataSets", params={"orderBy": "desc:colour"}), 400, "orderBy")


def test_other_sandboxes_and_unknown_ids_are_404(
    api: httpx.Client, dev: httpx.Client, schema: dict[str, Any]
) -> None:
    dataset_id = create(api, "private", schema["$id"])
    refused(dev.get(f"{CATALOG}/dataSets/{dataset_id}"), 404)
    assert dataset_id not in ok(dev.get(f"{CATALOG}/dataSets"))
    refused(dev.delete(f"{CATALOG}/dataSets/{dataset_id}"), 404)
    refused(api.get(f"{CATALOG}/dataSets/{'0' * 24}"), 404)
    refused(api.get(f"{CATALOG}/batches/{'0' * 24}"), 404)


def test_delete_a_dataset(api: httpx.Client, schema: dict[str, Any]) -> None:
    dataset_id = create(api, "doomed", schema["$id"])
    assert ok(api.delete(f"{CATALOG}/dataSets/{dataset_id}")) == [f"@/dataSets/{dataset_id}"]
    refused(api.get(f"{CATALOG}/dataSets/{dataset_id}"), 404)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"name": "x", ', 400, ("malformed JSON",)),
        ({"name": "no schema"}, 400, ("schemaRef",)),
        ({"name": "", "schemaRef": {"id": "x"}}, 400, ("name",)),
        ({"name": 5, "schemaRef": {"id": "x"}}, 400, ("name",)),
        ({"name": "ghost", "schemaRef": {"id": "_acme0001.schemas.nope"}}, 400, ("schemaRef.id",)),
        ({"name": "tags", "schemaRef": {"id": "x"}, "tags": ["a"]}, 400, ("tags",)),
        (
            {"name": "csv", "schemaRef": {"id": "x", "contentType": "text/csv"}},
            400,
            ("contentType",),
        ),
    ],
)
def test_bad_dataset_bodies_answer_4xx(
    api: httpx.Client, body: Any, status: int, words: tuple[str, ...]
) -> None:
    url = f"{CATALOG}/dataSets"
    if isinstance(body, bytes):
        response = api.post(url, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.post(url, json=body)
    refused(response, status, *words)


def test_a_taken_name_is_409(api: httpx.Client, schema: dict[str, Any]) -> None:
    create(api, "once", schema["$id"])
    body = {"name": "once", "schemaRef": {"id": schema["$id"]}}
    refused(api.post(f"{CATALOG}/dataSets", json=body), 409, "once")


def test_a_schema_with_the_lineage_column_is_400_and_makes_nothing(
    server: Server, api: httpx.Client
) -> None:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    clash = lf.schemas.create_inferred_schema("clash", {"_lakefeed": {"type": "string"}})
    namespace = namespace_for(ORG, "prod")
    lf.iceberg_catalog().create_namespace_if_not_exists(namespace)
    tables_before = lf.iceberg_catalog().list_tables(namespace)
    body = {"name": "clash", "schemaRef": {"id": clash["$id"]}}
    answer = refused(api.post(f"{CATALOG}/dataSets", json=body), 400, "'_lakefeed'")
    assert answer["report"]["code"] == "LF-1203" and "Rename" in answer["report"]["fix"]
    assert all(d.name != "clash" for d in lf.datasets.list())
    assert lf.iceberg_catalog().list_tables(namespace) == tables_before


def test_batches_of_an_ingest(api: httpx.Client, ingested: dict[str, str]) -> None:
    dataset_id, batch_id = ingested["dataset_id"], ingested["batch_id"]
    listed = ok(api.get(f"{CATALOG}/batches", params={"dataSet": dataset_id}))
    assert list(listed) == [batch_id]
    batch = listed[batch_id]
    assert batch["status"] == "success"
    assert batch["relatedObjects"] == [{"type": "dataSet", "id": dataset_id}]
    assert batch["metrics"]["inputFileCount"] == 2
    assert batch["metrics"]["inputRecordCount"] == 100
    assert batch["metrics"]["outputRecordCount"] == 97
    assert batch["metrics"]["failedRecordCount"] == 3
    assert batch["tags"]["acp_partialIngestionPercent"] == 5
    assert batch["tags"]["acp_enableErrorDiagnostics"] is True
    assert ok(api.get(f"{CATALOG}/batches/{batch_id}")) == {batch_id: batch}

    dataset = ok(api.get(f"{CATALOG}/dataSets/{dataset_id}"))[dataset_id]
    assert dataset["lastBatchId"] == batch_id and dataset["lastBatchStatus"] == "success"
    assert dataset["lastSuccessfulBatch"] == batch_id and "lastFailedBatch" not in dataset


def test_batch_filters(api: httpx.Client, ingested: dict[str, str]) -> None:
    batch_id, dataset_id = ingested["batch_id"], ingested["dataset_id"]
    created = ok(api.get(f"{CATALOG}/batches/{batch_id}"))[batch_id]["created"]
    query = {"dataSet": dataset_id}
    assert ok(api.get(f"{CATALOG}/batches", params={**query, "status": "failed"})) == {}
    assert list(ok(api.get(f"{CATALOG}/batches", params={**query, "status": "success"}))) == [
        batch_id
    ]
    after = ok(api.get(f"{CATALOG}/batches", params={**query, "createdAfter": created - 1}))
    assert list(after) == [batch_id]
    assert ok(api.get(f"{CATALOG}/batches", params={**query, "createdAfter": created})) == {}
    assert ok(api.get(f"{CATALOG}/batches", params={**query, "createdBefore": created})) == {}
    newest = ok(api.get(f"{CATALOG}/batches", params={"orderBy": "desc:created", "limit": 1}))
    assert len(newest) == 1
    projected = ok(api.get(f"{CATALOG}/batches", params={**query, "properties": "status"}))
    assert projected == {batch_id: {"status": "success"}}
    assert ok(api.get(f"{CATALOG}/batches", params={"dataSet": "nope"})) == {}
    refused(api.get(f"{CATALOG}/batches", params={"orderBy": "up:created"}), 400, "orderBy")
    refused(api.get(f"{CATALOG}/batches", params={"createdAfter": "yesterday"}), 400)


def test_batches_are_private_and_a_written_dataset_stays(
    api: httpx.Client, dev: httpx.Client, ingested: dict[str, str]
) -> None:
    refused(dev.get(f"{CATALOG}/batches/{ingested['batch_id']}"), 404)
    assert ingested["batch_id"] not in ok(dev.get(f"{CATALOG}/batches"))
    # The ingest's flow writes to the dataset: deleting it is refused.
    refused(api.delete(f"{CATALOG}/dataSets/{ingested['dataset_id']}"), 400, "flows")
