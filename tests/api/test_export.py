"""Batch diagnostics over HTTP: the input files a batch read and the rows it rejected, listed
and fetched as the Data Access API serves them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, refused
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema, profile_table

EXPORT = "/data/foundation/export"
TENANT = "acme0001"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def meta(batch_id: str) -> str:
    return f"{EXPORT}/batches/{batch_id}/meta"


@pytest.fixture(scope="module")
def batches(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two ingests: one with 3 bad rows of 100 in two files (partial ingestion 5%), and one
    with none."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)["$id"]
    landing = tmp_path_factory.mktemp("landing")
    (landing / "2026" / "01").mkdir(parents=True)
    a, b = landing / "2026" / "01" / "a.parquet", landing / "b.parquet"
    pq.write_table(profile_table(60, tenant_id=TENANT, bad={3: "gender", 17: "email"}), a)
    pq.write_table(profile_table(40, tenant_id=TENANT, start=60, bad={5: "points"}), b)
    run = lf.ingest(
        str(landing),
        ".",
        dataset="diagnosed",
        schema=schema,
        recursive=True,
        partial_ingestion_percent=5,
    )
    clean_landing = tmp_path_factory.mktemp("clean")
    pq.write_table(profile_table(10, tenant_id=TENANT), clean_landing / "c.parquet")
    clean = lf.ingest(str(clean_landing), ".", dataset="clean", schema=schema)
    assert run.status == clean.status == "success"
    return {
        "batch_id": run.batch_id,
        "clean_batch_id": clean.batch_id,
        "sizes": {"a.parquet": a.stat().st_size, "b.parquet": b.stat().st_size},
    }


@pytest.fixture(scope="module")
def dev(server: Server) -> Iterator[httpx.Client]:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as client:
        yield client


def test_input_files_list_what_the_batch_read(api: httpx.Client, batches: dict[str, Any]) -> None:
    listing = ok(api.get(meta(batches["batch_id"]), params={"path": "input_files"}))
    assert listing["_page"] == {"count": 2, "limit": 100}
    by_base = {item["name"].rsplit("/", 1)[-1]: item for item in listing["data"]}
    assert {k: v["length"] for k, v in by_base.items()} == batches["sizes"]
    assert by_base["a.parquet"]["name"].endswith("2026/01/a.parquet")
    href = by_base["a.parquet"]["_links"]["self"]["href"]
    assert href.startswith(f"{meta(batches['batch_id'])}?path=input_files/")
    (record,) = lines(api.get(href))
    assert (
        record["path"].endswith("2026/01/a.parquet")
        and record["length"] == batches["sizes"]["a.parquet"]
    )
    assert record["recordsIn"] == 60 and record["recordsFailed"] == 2


def test_row_errors_give_the_rejected_rows(api: httpx.Client, batches: dict[str, Any]) -> None:
    listing = ok(api.get(meta(batches["batch_id"]), params={"path": "row_errors"}))
    assert listing["_page"]["count"] == 1
    (listed,) = listing["data"]
    assert listed["name"] == "conversion_errors_0.json"
    response = api.get(listed["_links"]["self"]["href"])
    rows = lines(response)
    assert listed["length"] == len(response.content)
    rows.sort(key=lambda r: (r["_filename"].rsplit("/", 1)[-1], r["_rowIndex"]))
    assert [(r["_filename"].rsplit("/", 1)[-1], r["_rowIndex"]) for r in rows] == [
        ("a.parquet", 3),
        ("a.parquet", 17),
        ("b.parquet", 5),
    ]
    for row in rows:
        assert row["_errors"] and all(e["code"].startswith("INGEST-") for e in row["_errors"])
        assert all(e["message"] for e in row["_errors"])
    gender = json.loads(rows[0]["_corrupt_record"])
    assert gender["person"]["gender"] == "robot" and gender["_id"] == "profile-3"
    assert "person.gender" in rows[0]["_errors"][0]["message"]
    assert json.loads(rows[1]["_corrupt_record"])["personalEmail"]["address"] == "not-an-email"
    assert json.loads(rows[2]["_corrupt_record"])[f"_{TENANT}"]["loyalty"]["points"] == -5

    samples = ok(api.get(meta(batches["batch_id"]), params={"path": "row_error_samples.json"}))
    assert sorted(map(json.dumps, samples)) == sorted(map(json.dumps, rows))


def test_a_batch_without_rejected_rows(api: httpx.Client, batches: dict[str, Any]) -> None:
    url = meta(batches["clean_batch_id"])
    assert ok(api.get(url, params={"path": "row_errors"})) == {
        "_page": {"count": 0, "limit": 100},
        "data": [],
    }
    refused(api.get(url, params={"path": "row_errors/conversion_errors_0.json"}), 404, "none")
    assert ok(api.get(url, params={"path": "row_error_samples.json"})) == []


def test_unknown_batches_paths_and_files(
    api: httpx.Client, dev: httpx.Client, batches: dict[str, Any]
) -> None:
    url = meta(batches["batch_id"])
    refused(api.get(meta("no-such-batch"), params={"path": "input_files"}), 404, "no-such-batch")
    refused(dev.get(url, params={"path": "input_files"}), 404)
    refused(api.get(url, params={"path": "failed_files"}), 400, "failed_files")
    refused(api.get(url), 400, "input_files")
    refused(api.get(url, params={"path": "input_files/nope.parquet"}), 404, "a.parquet")
    refused(api.get(url, params={"path": "row_errors/parsing_errors_0.json"}), 404)
    refused(api.get(url, params={"path": "row_errors", "start": -1}), 400, "start")
