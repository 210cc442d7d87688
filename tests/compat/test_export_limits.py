"""The Data Access diagnostics of a batch with more rejected rows than one
``conversion_errors_<n>.json`` holds: listed lengths are the files' real sizes, the files are
streamed, and "not listed" messages name the first few files."""

from __future__ import annotations

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, refused
from compat.flowservice_parts import ok
from lakefeed.api.export import ROWS_PER_FILE
from lakefeed.catalog.records import Scope
from lakefeed.catalog.row_errors import RowError
from lakefeed.datasets.dataset_files import first_names
from lakefeed.testing.profiles import create_profile_schema, profile_table

EXPORT = "/data/foundation/export"
TENANT = "acme0001"
REJECTED = ROWS_PER_FILE + 7


@pytest.fixture(scope="module")
def batch_id(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    landing = tmp_path_factory.mktemp("export-limits")
    pq.write_table(profile_table(3, tenant_id=TENANT), landing / "a.parquet")
    run = lf.ingest(str(landing), ".", dataset="export limits", schema=schema["$id"])
    assert run.status == "success", run.metrics
    errors = (
        RowError(
            source_file="landing/a.parquet",
            row_index=n,
            errors=[{"code": "INGEST-1", "message": f"row {n} é wrong", "field": "x"}],
            record={"n": n, "text": "ü" * (n % 7)},
        )
        for n in range(REJECTED)
    )
    assert lf.row_errors.add(str(run.batch_id), 0, errors) == REJECTED
    return str(run.batch_id)


@pytest.mark.parametrize("route", ["failed", "meta"])
def test_listed_lengths_are_the_streamed_files_sizes(
    sdk: httpx.Client, batch_id: str, route: str
) -> None:
    url = f"{EXPORT}/batches/{batch_id}/{route}"
    listing = ok(sdk.get(url, params={"path": "row_errors"} if route == "meta" else {}))
    assert [f["name"] for f in listing["data"]] == [
        "conversion_errors_0.json",
        "conversion_errors_1.json",
    ]
    for listed, rows in zip(listing["data"], (ROWS_PER_FILE, 7), strict=True):
        response = sdk.get(listed["_links"]["self"]["href"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        # Streamed a line at a time: no Content-Length, chunked.
        assert "content-length" not in response.headers
        assert response.headers.get("transfer-encoding") == "chunked"
        assert listed["length"] == len(response.content)
        assert len(response.content.splitlines()) == rows


def test_a_file_not_listed_names_the_first_ones(sdk: httpx.Client, batch_id: str) -> None:
    url = f"{EXPORT}/batches/{batch_id}/failed"
    refused(
        sdk.get(url, params={"path": "nope.json"}),
        404,
        "(listed: conversion_errors_0.json, conversion_errors_1.json)",
    )


def test_first_names_shows_five_then_an_ellipsis() -> None:
    assert first_names([]) == "none"
    assert first_names(["a", "b"]) == "a, b"
    assert first_names([str(n) for n in range(5)]) == "0, 1, 2, 3, 4"
    assert first_names([str(n) for n in range(6)]) == "0, 1, 2, 3, 4, …"
    assert first_names(["a", "b", "c"], shown=2) == "a, b, …"
