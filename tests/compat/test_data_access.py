"""The Data Access API as SDKs call it: a batch's dataSetFiles, their downloads (whole, ranged,
HEAD, one file of several), the rows a batch rejected, and a dataset's latest rows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

import lakefeed.datasets.writer as writer
from api_support import ORG, Server, refused
from compat.flowservice_parts import ok
from lakefeed.catalog.records import Scope
from lakefeed.flows import coalesce
from lakefeed.formats.parquet import ParquetFormat
from lakefeed.testing.profiles import create_profile_schema, profile_table

EXPORT = "/data/foundation/export"
TENANT = "acme0001"


def parquet_rows(content: bytes) -> list[str]:
    """The ``_id`` of every row of a Parquet file's bytes."""
    return [str(v) for v in pq.read_table(io.BytesIO(content)).column("_id").to_pylist()]


@pytest.fixture(scope="module")
def ingested(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Dataset ``exported``: a batch of two source files (30 rows with 2 rejected, 20 rows),
    then a newer batch of 5 rows; dataset ``parted``: one source of 25 rows written as data
    files of at most 10 rows (one dataSetFile of three files)."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)["$id"]
    first, second, parted = (tmp_path_factory.mktemp(n) for n in ("first", "second", "parted"))
    pq.write_table(
        profile_table(30, tenant_id=TENANT, bad={3: "gender", 7: "email"}), first / "a.parquet"
    )
    pq.write_table(profile_table(20, tenant_id=TENANT, start=100), first / "b.parquet")
    with pytest.MonkeyPatch.context() as patch:  # one data file per source (not a group)
        patch.setattr(coalesce, "MAX_GROUP_FILES", 1)
        two = lf.ingest(
            str(first), ".", dataset="exported", schema=schema, partial_ingestion_percent=10
        )
    pq.write_table(profile_table(5, tenant_id=TENANT, start=1000), second / "c.parquet")
    newer = lf.ingest(str(second), ".", dataset="exported", schema=schema)
    pq.write_table(profile_table(25, tenant_id=TENANT, start=500), parted / "d.parquet")
    original = ParquetFormat.batches

    def in_tens(self: ParquetFormat, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch in original(self, *args, **kwargs):
            yield from (batch.slice(at, 10) for at in range(0, batch.num_rows, 10))

    with pytest.MonkeyPatch.context() as patch:  # every 10 rows roll over to a new data file
        patch.setattr(writer, "TARGET_FILE_BYTES", 1)
        patch.setattr(ParquetFormat, "batches", in_tens)
        parts = lf.ingest(str(parted), ".", dataset="parted", schema=schema)
    refused_landing = tmp_path_factory.mktemp("refused")
    pq.write_table(
        profile_table(4, tenant_id=TENANT, bad={1: "gender"}), refused_landing / "e.parquet"
    )
    failed = lf.ingest(
        str(refused_landing), ".", dataset="refused", schema=schema, error_diagnostics=True
    )
    lf.datasets.create("empty", schema)
    assert two.status == newer.status == parts.status == "success"
    assert failed.status == "failed"
    return {
        "failed": failed.batch_id,
        "batch": two.batch_id,
        "newer": newer.batch_id,
        "parted": parts.batch_id,
        "dataset": lf.datasets.get("exported").id,
    }


@pytest.fixture(scope="module")
def dev(server: Server) -> Iterator[httpx.Client]:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as client:
        yield client


def files_of(sdk: httpx.Client, batch_id: str, **params: Any) -> dict[str, Any]:
    return dict(ok(sdk.get(f"{EXPORT}/batches/{batch_id}/files", params=params)))


def download(sdk: httpx.Client, href: str, **headers: str) -> httpx.Response:
    response = sdk.get(href, headers=headers)
    assert response.status_code in (200, 206), response.text
    return response


# --- a batch's dataSetFiles ------------------------------------------------------------------


def test_batch_files_list_one_dataset_file_per_source(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    body = files_of(sdk, ingested["batch"])
    assert body["_page"] == {"limit": 100, "count": 2}
    assert "_links" not in body
    for entry in body["data"]:
        assert {"dataSetFileId", "dataSetId", "version", "created", "updated", "isValid"} <= set(
            entry
        )
        assert entry["dataSetId"] == ingested["dataset"] and entry["isValid"] is True
        assert entry["_links"]["self"]["href"] == f"{EXPORT}/files/{entry['dataSetFileId']}"
    assert sorted(e["records"] for e in body["data"]) == [20, 28]


def test_downloads_are_the_parquet_files_with_their_rows(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    rows = []
    for entry in files_of(sdk, ingested["batch"])["data"]:
        response = download(sdk, entry["_links"]["self"]["href"])
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["accept-ranges"] == "bytes"
        assert int(response.headers["content-length"]) == len(response.content) == entry["length"]
        assert response.content[:4] == response.content[-4:] == b"PAR1"
        found = parquet_rows(response.content)
        assert len(found) == entry["records"]
        rows += found
    rejected = {"profile-3", "profile-7"}
    expected = {f"profile-{n}" for n in (*range(30), *range(100, 120))} - rejected
    assert sorted(rows) == sorted(expected)


def test_batch_files_page_with_start_and_limit(sdk: httpx.Client, ingested: dict[str, Any]) -> None:
    whole = [e["dataSetFileId"] for e in files_of(sdk, ingested["batch"])["data"]]
    first = files_of(sdk, ingested["batch"], limit=1)
    assert first["_page"] == {"limit": 1, "count": 1}
    following = ok(sdk.get(first["_links"]["next"]["href"]))
    assert "_links" not in following
    assert [e["dataSetFileId"] for e in first["data"] + following["data"]] == whole
    assert files_of(sdk, ingested["batch"], start=2)["data"] == []


def test_path_on_batch_files_downloads_that_file(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    listing = ok(sdk.get(f"{EXPORT}/files/{ingested['parted']}-1"))
    name = listing["data"][1]["name"]
    response = download(sdk, f"{EXPORT}/batches/{ingested['parted']}/files?path={name}")
    assert parquet_rows(response.content) == [f"profile-{n}" for n in range(510, 520)]


def test_a_failed_batch_has_no_files_but_its_rejected_rows(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    assert files_of(sdk, ingested["failed"]) == {"_page": {"limit": 100, "count": 0}, "data": []}
    (listed,) = ok(sdk.get(f"{EXPORT}/batches/{ingested['failed']}/failed"))["data"]
    (row,) = [
        json.loads(line) for line in sdk.get(listed["_links"]["self"]["href"]).text.splitlines()
    ]
    assert row["_rowIndex"] == 1 and row["_filename"].endswith("e.parquet")


# --- one dataSetFile of several files ----------------------------------------------------------


def test_a_dataset_file_of_several_files_lists_them(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    (entry,) = files_of(sdk, ingested["parted"])["data"]
    listing = ok(sdk.get(entry["_links"]["self"]["href"]))
    assert listing["_page"] == {"limit": 100, "count": 3}
    rows = []
    for item in listing["data"]:
        assert item["_links"]["self"]["href"] == (
            f"{EXPORT}/files/{entry['dataSetFileId']}?path={item['name']}"
        )
        response = download(sdk, item["_links"]["self"]["href"])
        assert int(response.headers["content-length"]) == item["length"]
        rows.append(parquet_rows(response.content))
    assert [len(r) for r in rows] == [10, 10, 5]
    assert [r for part in rows for r in part] == [f"profile-{n}" for n in range(500, 525)]

    page = ok(sdk.get(entry["_links"]["self"]["href"], params={"limit": 2}))
    assert [i["name"] for i in page["data"]] == [i["name"] for i in listing["data"][:2]]
    rest = ok(sdk.get(page["_links"]["next"]["href"]))
    assert [i["name"] for i in rest["data"]] == [listing["data"][2]["name"]]
    assert "_links" not in rest

    head = sdk.head(entry["_links"]["self"]["href"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("application/json")


# --- ranges and HEAD -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_file(sdk: httpx.Client, ingested: dict[str, Any]) -> tuple[str, bytes]:
    href = files_of(sdk, ingested["batch"])["data"][0]["_links"]["self"]["href"]
    return href, download(sdk, href).content


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=0-3", 0, 3),
        ("bytes=10-", 10, None),
        ("bytes=-8", -8, None),
        ("bytes=5-99999999999", 5, None),
        ("bytes=-99999999999", 0, None),
        ("BYTES = 4 - 4", 4, 4),
    ],
)
def test_a_range_answers_exactly_those_bytes(
    sdk: httpx.Client, one_file: tuple[str, bytes], spec: str, start: int, end: int | None
) -> None:
    href, whole = one_file
    size = len(whole)
    expected = whole[start : None if end is None else end + 1]
    first = start % size if start < 0 else start
    last = size - 1 if end is None else end
    response = sdk.get(href, headers={"Range": spec})
    assert response.status_code == 206, response.text
    assert response.content == expected
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert int(response.headers["content-length"]) == len(expected)


@pytest.mark.parametrize(
    "spec", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=" + "9" * 5000 + "-"]
)
def test_an_unsatisfiable_range_answers_416(
    sdk: httpx.Client, one_file: tuple[str, bytes], spec: str
) -> None:
    href, whole = one_file
    response = sdk.get(href, headers={"Range": spec.format(size=len(whole))})
    refused(response, 416, str(len(whole)))
    assert response.headers["content-range"] == f"bytes */{len(whole)}"


@pytest.mark.parametrize(
    "spec",
    ["bytes=abc", "items=0-1", "bytes=0-1,4-5", "bytes=9-2", "bytes=-", "bytes=" + "9" * 5000],
)
def test_a_range_header_not_understood_gives_the_whole_file(
    sdk: httpx.Client, one_file: tuple[str, bytes], spec: str
) -> None:
    href, whole = one_file
    response = sdk.get(href, headers={"Range": spec})
    assert response.status_code == 200 and response.content == whole


def test_head_gives_the_length_without_a_body(
    sdk: httpx.Client, one_file: tuple[str, bytes]
) -> None:
    href, whole = one_file
    head = sdk.head(href)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(whole)
    assert head.headers["accept-ranges"] == "bytes"
    ranged = sdk.head(href, headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b""
    assert ranged.headers["content-range"] == f"bytes 0-3/{len(whole)}"
    assert ranged.headers["content-length"] == "4"
    past = sdk.head(href, headers={"Range": f"bytes={len(whole)}-"})
    assert past.status_code == 416 and past.content == b""
    assert past.headers["content-range"] == f"bytes */{len(whole)}"


# --- the rows a batch rejected ---------------------------------------------------------------


def test_failed_lists_the_rejected_rows_with_their_reasons(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    url = f"{EXPORT}/batches/{ingested['batch']}/failed"
    listing = ok(sdk.get(url))
    assert listing["_page"] == {"limit": 100, "count": 1}
    (item,) = listing["data"]
    assert item["name"] == "conversion_errors_0.json"
    assert item["_links"]["self"]["href"] == f"{url}?path=conversion_errors_0.json"
    response = sdk.get(item["_links"]["self"]["href"])
    assert response.status_code == 200 and len(response.content) == item["length"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert sorted(r["_rowIndex"] for r in rows) == [3, 7]
    for row in rows:
        assert row["_filename"].endswith("a.parquet")
        assert row["_errors"] and all(e["code"] and e["message"] for e in row["_errors"])
    clean = ok(sdk.get(f"{EXPORT}/batches/{ingested['newer']}/failed"))
    assert clean == {"_page": {"limit": 100, "count": 0}, "data": []}
    refused(sdk.get(url, params={"path": "conversion_errors_1.json"}), 404, "conversion_errors_0")


def test_meta_honours_limit(sdk: httpx.Client, ingested: dict[str, Any]) -> None:
    url = f"{EXPORT}/batches/{ingested['batch']}/meta"
    first = ok(sdk.get(url, params={"path": "input_files", "limit": 1}))
    assert first["_page"] == {"limit": 1, "count": 1}
    following = ok(sdk.get(first["_links"]["next"]["href"]))
    assert following["_page"] == {"limit": 1, "count": 1} and "_links" not in following
    names = [i["name"].rsplit("/", 1)[-1] for i in first["data"] + following["data"]]
    assert names == ["a.parquet", "b.parquet"]
    for limit in (0, 101, "many"):
        refused(sdk.get(url, params={"path": "input_files", "limit": limit}), 400, "limit")


# --- preview ---------------------------------------------------------------------------------


def test_preview_gives_the_latest_rows_first(sdk: httpx.Client, ingested: dict[str, Any]) -> None:
    url = f"{EXPORT}/datasets/{ingested['dataset']}/preview"
    rows = ok(sdk.get(url))["data"]
    assert len(rows) == 53  # 48 + 5: all of them, under the bound of 100
    assert [r["_id"] for r in rows[:5]] == [f"profile-{n}" for n in range(1000, 1005)]
    assert all("_lakefeed" not in r for r in rows)
    assert rows[0]["personID"] == "P00001000"
    three = ok(sdk.get(url, params={"limit": 3}))["data"]
    assert [r["_id"] for r in three] == [f"profile-{n}" for n in range(1000, 1003)]
    refused(sdk.get(url, params={"limit": 101}), 400, "limit")
    assert ok(sdk.get(f"{EXPORT}/datasets/empty/preview")) == {"data": []}


# --- what clients may not reach --------------------------------------------------------------

ESCAPES = [
    "../000001-000.parquet",
    "../../../../etc/passwd",
    "/etc/passwd",
    "000001-000.parquet/../000001-000.parquet",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "./000001-000.parquet",
    "",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_path_never_leaves_the_batch_files(
    sdk: httpx.Client, server: Server, ingested: dict[str, Any], path: str
) -> None:
    for url in (
        f"{EXPORT}/files/{ingested['parted']}-1",
        f"{EXPORT}/batches/{ingested['parted']}/files",
    ):
        refused(sdk.get(url, params={"path": path}), 404, "000001-000-")  # the listing
    # The same, sent without httpx's quoting: the server decodes %2F and %2e itself.
    raw = sdk.get(f"{EXPORT}/files/{ingested['parted']}-1?path={path.replace(chr(0), '%00')}")
    assert raw.status_code == 404, raw.text


def test_a_nul_byte_in_path_is_refused(sdk: httpx.Client, ingested: dict[str, Any]) -> None:
    url = f"{EXPORT}/files/{ingested['parted']}-1"
    refused(sdk.get(url, params={"path": "000001-000.parquet\x00"}), 400, "NUL")


def test_a_data_file_location_is_no_path(
    sdk: httpx.Client, server: Server, ingested: dict[str, Any]
) -> None:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    location = lf.dataset_files.get(f"{ingested['parted']}-1").files[0].location
    for given in (location, location.removeprefix("file://")):
        refused(sdk.get(f"{EXPORT}/files/{ingested['parted']}-1", params={"path": given}), 404)


def test_unknown_ids_answer_404_saying_what_was_asked(
    sdk: httpx.Client, ingested: dict[str, Any]
) -> None:
    batch = ingested["batch"]
    refused(sdk.get(f"{EXPORT}/batches/no-such-batch/files"), 404, "no-such-batch")
    refused(sdk.get(f"{EXPORT}/batches/no-such-batch/failed"), 404, "no-such-batch")
    for file_id in ("no-such-file", f"{batch}-99", f"{batch}-x", f"{batch}", "-1"):
        refused(sdk.get(f"{EXPORT}/files/{file_id}"), 404, "dataSetFile")
        assert sdk.head(f"{EXPORT}/files/{file_id}").status_code == 404
    # An id that decodes to several path segments matches no route: a plain 404.
    assert sdk.get(f"{EXPORT}/files/..%2F..%2Fx-1").status_code == 404
    refused(sdk.get(f"{EXPORT}/datasets/no-such-dataset/preview"), 404, "no-such-dataset")
    refused(sdk.get(f"{EXPORT}/batches/{batch}/files", params={"start": -1}), 400, "start")


def test_other_sandboxes_and_orgs_reach_nothing(
    server: Server, dev: httpx.Client, ingested: dict[str, Any]
) -> None:
    with server.client(org="OTHER0001@AdobeOrg") as other:
        for client in (dev, other):
            refused(client.get(f"{EXPORT}/batches/{ingested['batch']}/files"), 404)
            refused(client.get(f"{EXPORT}/batches/{ingested['batch']}/failed"), 404)
            refused(client.get(f"{EXPORT}/files/{ingested['parted']}-1"), 404)
            assert client.head(f"{EXPORT}/files/{ingested['parted']}-1").status_code == 404
            path = {"path": "000001-000.parquet"}
            refused(client.get(f"{EXPORT}/batches/{ingested['parted']}/files", params=path), 404)
            refused(client.get(f"{EXPORT}/datasets/{ingested['dataset']}/preview"), 404)
