"""docs/tutorials/rest-api-csv-mapping.md, step by step: gzip-compressed, semicolon-separated CSV
files of customers from the S3 test server (moto) into a Profile dataset through a Data Prep
mapping set, over HTTP against a real uvicorn server.

The CSV files and the mapping set are read from the tutorial itself, so the page and the test
cannot drift apart; the other bodies are the tutorial's, with the test's bucket and folder.
The sequence runs once per module (it takes a few seconds); each test checks one part of
what the tutorial shows."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api_support import ORG, created, refused, running_server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.contract import ensure_folder, put
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, loyalty_field_group
from tests_support import server_env

pytestmark = pytest.mark.servers

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "rest-api-csv-mapping.md"
FS = "/data/foundation/flowservice"
DP = "/data/foundation/conversion"
S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
DATASET_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
#: api_support's org has this tenant; the tutorial's is "acme".
TENANT = "acme0001"
MAPPER_ERROR = "MAPPER-3700-400"

#: What the tutorial says lands in the dataset: _id -> (first, last, full name, email,
#: loyalty id, tier, points, member since).
LANDED = {
    "c-1001": ("ADA", "Lovelace", "Ada Lovelace", "ada.lovelace@example.com",
               "L88001", "gold", 1200, "2021-03-04"),
    "c-1002": ("GRACE", "Hopper", "Grace Hopper", "grace.hopper@example.com",
               "L88002", "silver", 450, "2022-05-06"),
    "c-1003": ("ALAN", "Turing", "Alan Turing", "alan.turing@example.com",
               "L88003", "bronze", 0, "2019-11-30"),
    "c-1004": ("EDSGER", "Dijkstra", "Edsger Dijkstra", "edsger.dijkstra@example.com",
               "L88004", "bronze", 15, "2020-01-31"),
    "c-1005": ("BARBARA", "Liskov", "Barbara Liskov", "barbara.liskov@example.com",
               "L88005", "gold", 3100, "2018-07-01"),
    "c-1009": ("RADIA", "Perlman", "Radia Perlman", "radia.perlman@example.com",
               "L88009", "silver", 640, "2023-09-12"),
}  # fmt: skip


def heredoc(name: str) -> str:
    """The text the tutorial writes to ``name`` with ``cat > name <<EOF``."""
    found = re.search(
        rf"^cat > {re.escape(name)} <<'?EOF'?\n(?P<body>.*?)^EOF$",
        TUTORIAL.read_text(encoding="utf-8"),
        re.M | re.S,
    )
    assert found is not None, f"{TUTORIAL.name} writes no {name}"
    return found["body"]


def mapping_set(schema_id: str) -> dict[str, Any]:
    """The tutorial's mapping-set.json, for the test's schema and tenant."""
    text = heredoc("mapping-set.json").replace("$SCHEMA_ID", schema_id)
    body: dict[str, Any] = json.loads(text.replace('"_acme.', f'"_{TENANT}.'))
    return body


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class Tutorial:
    """What the tutorial's sequence left: the ids it made, what it read back at the end."""

    api: httpx.Client
    bucket: str
    folder: str
    mapping_body: dict[str, Any]  # the tutorial's mapping-set.json
    mapping_id: str
    flow_id: str
    run: dict[str, Any]
    batch_id: str
    rows: list[dict[str, Any]]


def row_errors(tutorial: Tutorial) -> dict[str, dict[str, Any]]:
    """The batch's rejected rows, as the tutorial fetches them, by customer id (Ken Thompson's
    row, whose record is its text, as "c-1008")."""
    meta = f"/data/foundation/export/batches/{tutorial.batch_id}/meta"
    response = tutorial.api.get(meta, params={"path": "row_errors/conversion_errors_0.json"})
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return {json.loads(x["_corrupt_record"]).get("customer_id", "c-1008"): x for x in lines}


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tutorial]:
    """Every step of the tutorial, asserting each answer it shows on the way."""
    tmp = tmp_path_factory.mktemp("rest-csv")
    s3 = {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    # "Before you start": the two files, gzipped, and a file the source must not read.
    bucket, folder = "lakefeed-rest", f"customers/{uuid.uuid4().hex[:8]}"
    november = f"{folder}/2026/11/customers-1.csv.gz"
    december = f"{folder}/2026/12/customers-2.csv.gz"
    writer = Lakefeed(home=tmp / "writer").session_for("amazon-s3", s3, "Access Key")
    ensure_folder(writer.fs, bucket)
    put(
        writer,
        {
            f"/{bucket}/{november}": gzip.compress(heredoc("customers-1.csv").encode()),
            f"/{bucket}/{december}": gzip.compress(heredoc("customers-2.csv").encode()),
            f"/{bucket}/{folder}/README.txt": b"customer_id;note\nc-0000;not a customer file\n",
        },
    )

    allowed = urlsplit(s3["serviceUrl"]).netloc
    with (
        running_server(tmp / "server", allow_endpoints=[allowed]) as server,
        server.client() as api,
    ):
        # 1. The schema and the S3 base connection, as in the Parquet tutorial.
        assert ok(api.get("/data/foundation/schemaregistry/stats"))["tenantId"] == TENANT
        group = created(
            api.post(
                "/data/foundation/schemaregistry/tenant/fieldgroups",
                json=loyalty_field_group(TENANT),
            )
        )
        schema_id = created(
            api.post(
                "/data/foundation/schemaregistry/tenant/schemas",
                json={
                    "type": "object",
                    "title": "Partner customers",
                    "description": "Customers delivered by partners as CSV",
                    "allOf": [
                        {"$ref": ref}
                        for ref in (PROFILE_CLASS, *PROFILE_FIELD_GROUPS, group["$id"])
                    ],
                },
            )
        )["$id"]
        base_id = created(
            api.post(
                f"{FS}/connections",
                json={
                    "name": "S3 base connection",
                    "description": "partner drop bucket",
                    "auth": {"specName": "Access Key", "params": {**s3, "bucketName": bucket}},
                    "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                },
            )
        )["id"]

        # 2. Look at a file: the tutorial's query, ";" unencoded as curl sends it.
        explored = ok(
            api.get(
                f"{FS}/connections/{base_id}/explore?objectType=file&object={december}"
                "&fileType=delimited&preview=true&columnDelimiter=;&compressionType=gzip"
            )
        )
        assert explored["format"] == "delimited"
        assert [c["name"] for c in explored["schema"]["columns"]] == [
            "customer_id", "first_name", "last_name", "email",
            "loyalty_number", "points", "tier", "member_since",
        ]  # fmt: skip
        assert {c["type"] for c in explored["schema"]["columns"]} == {"string"}
        rows = explored["data"]
        assert rows[0] == {
            "customer_id": "c-1005",
            "first_name": "Barbara",
            "last_name": "Liskov",
            "email": "barbara.liskov@example.com",
            "loyalty_number": "88005",
            "points": "3100",
            "tier": "gold",
            "member_since": "2018-07-01",
        }
        # Four rows, not five: Ken Thompson's row is left out.
        assert [r["customer_id"] for r in rows] == ["c-1005", "c-1006", "c-1007", "c-1009"]

        # 3. The mapping set: validate, preview, store.
        body = mapping_set(schema_id)
        validation = ok(
            api.post(f"{DP}/mappingSets/validate", json={"mappingSet": body, "data": rows})
        )
        assert validation["status"] == "SUCCESS" and validation["sourceSchemaChecked"], validation
        assert all(m["status"] == "SUCCESS" for m in validation["validationResponse"])
        # "A mapping that reads a column the rows do not have, such as loyalty_no" fails.
        typo = json.loads(json.dumps(body).replace('loyalty_number)"', 'loyalty_no)"'))
        failed = ok(api.post(f"{DP}/mappingSets/validate", json={"mappingSet": typo, "data": rows}))
        assert failed["status"] == "FAILED"
        (problem,) = [m for m in failed["validationResponse"] if m["status"] == "FAILED"]
        assert "loyalty_no" in problem["errors"][0]["exception"]

        preview = ok(api.post(f"{DP}/mappingSets/preview", json={"mappingSet": body, "data": rows}))
        assert preview["data"][0] == {
            "_id": "c-1005",
            "person": {
                "name": {"firstName": "BARBARA", "lastName": "Liskov", "fullName": "Barbara Liskov"}
            },
            "personalEmail": {"address": "barbara.liskov@example.com"},
            f"_{TENANT}": {
                "loyalty": {
                    "loyaltyId": "L88005",
                    "tier": "gold",
                    "points": 3100,
                    "memberSince": "2018-07-01",
                }
            },
        }
        assert [
            {k: e[k] for k in ("row", "destination", "exception")} for e in preview["errors"]
        ] == [
            {
                "row": 1,
                "destination": f"_{TENANT}.loyalty.points",
                "exception": "to_integer(): 'lots' is not a number",
            },
            {
                "row": 2,
                "destination": f"_{TENANT}.loyalty.memberSince",
                "exception": "date(): '31/02/2022' does not match the format 'yyyy-MM-dd'",
            },
        ]

        mapping_id = created(api.post(f"{DP}/mappingSets", json=body))["id"]
        assert re.fullmatch(r"[0-9a-f]{32}", mapping_id)
        stored = ok(api.get(f"{DP}/mappingSets/{mapping_id}"))
        assert (stored["id"], stored["version"], stored["name"], len(stored["mappings"])) == (
            mapping_id,
            0,
            "Partner customers",
            9,
        )

        # 4. The source connection: delimited, ";" and gzip, only *.csv.gz.
        source_id = created(
            api.post(
                f"{FS}/sourceConnections",
                json={
                    "name": "Source Connection S3 CSV",
                    "baseConnectionId": base_id,
                    "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                    "data": {
                        "format": "delimited",
                        "properties": {"columnDelimiter": ";", "compressionType": "gzip"},
                    },
                    "params": {"path": folder, "recursive": "true", "fileExtension": "csv.gz"},
                },
            )
        )["id"]
        (source,) = ok(api.get(f"{FS}/sourceConnections/{source_id}"))["items"]
        assert source["data"] == {
            "format": "delimited",
            "properties": {"columnDelimiter": ";", "compressionType": "gzip"},
        }
        assert source["params"] == {"path": folder, "recursive": True, "fileExtension": "csv.gz"}
        # "columnDelimiter with format json answers 400 and names it".
        refused(
            api.post(
                f"{FS}/sourceConnections",
                json={
                    "name": "Source Connection S3 JSON",
                    "baseConnectionId": base_id,
                    "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                    "data": {"format": "json", "properties": {"columnDelimiter": ";"}},
                    "params": {"path": folder},
                },
            ),
            400,
            "columnDelimiter",
        )

        # 5. The dataset, the target connection and the flow applying the mapping set.
        (ref,) = created(
            api.post(
                "/data/foundation/catalog/dataSets",
                json={
                    "name": "Partner customers",
                    "schemaRef": {
                        "id": schema_id,
                        "contentType": "application/vnd.adobe.xed-full-notext+json; version=1",
                    },
                },
            )
        )
        dataset_id = ref.removeprefix("@/dataSets/")
        dataset_base_id = created(
            api.post(
                f"{FS}/connections",
                json={
                    "name": "Dataset base connection",
                    "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
                },
            )
        )["id"]
        target_id = created(
            api.post(
                f"{FS}/targetConnections",
                json={
                    "name": "Target connection",
                    "baseConnectionId": dataset_base_id,
                    "data": {
                        "format": "parquet_xdm",
                        "schema": {"id": schema_id, "version": XED_FULL},
                    },
                    "params": {"dataSetId": dataset_id},
                    "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
                },
            )
        )["id"]

        def flow_body(mapping: str) -> dict[str, Any]:
            return {
                "name": "Cloud Storage CSV flow",
                "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
                "sourceConnectionIds": [source_id],
                "targetConnectionIds": [target_id],
                "transformations": [
                    {"name": "Mapping", "params": {"mappingId": mapping, "mappingVersion": 0}}
                ],
                "scheduleParams": {"startTime": str(int(time.time()) + 60), "frequency": "once"},
                "options": {"partialIngestionPercent": 50, "errorDiagnosticsEnabled": True},
            }

        # "The mapping set's output schema must be the dataset's schema": a 400 naming both.
        other_schema = created(
            api.post(
                "/data/foundation/schemaregistry/tenant/schemas",
                json={"type": "object", "title": "Other", "allOf": [{"$ref": PROFILE_CLASS}]},
            )
        )["$id"]
        other_mapping = created(
            api.post(
                f"{DP}/mappingSets",
                json={
                    "outputSchema": {"schemaRef": {"id": other_schema}},
                    "mappings": [
                        {"sourceType": "ATTRIBUTE", "source": "customer_id", "destination": "_id"}
                    ],
                },
            )
        )["id"]
        refused(
            api.post(f"{FS}/flows", json=flow_body(other_mapping)), 400, other_schema, schema_id
        )

        flow_id = created(api.post(f"{FS}/flows", json=flow_body(mapping_id)))["id"]

        now = str(int(time.time()))
        started = created(
            api.post(
                f"{FS}/runs",
                json={
                    "flowId": flow_id,
                    "params": {"startTime": now, "windowStartTime": "0", "windowEndTime": now},
                },
            )
        )
        run_id = started["items"][0]["id"]
        deadline = time.monotonic() + 120
        while True:
            (run,) = ok(api.get(f"{FS}/runs/{run_id}"))["items"]
            if run["state"] == "completed":
                break
            assert time.monotonic() < deadline, f"run {run_id} still {run['state']}"
            time.sleep(0.1)
        promotion = next(a for a in run["activities"] if a["id"] == "promotionActivity")
        batch_id = promotion["targetInfo"][0]["reference"]["ids"][0]

        lf = server.lf.scoped(Scope(ORG, "prod"))
        landed = lf.datasets.read(lf.datasets.get(dataset_id)).to_pylist()
        yield Tutorial(api, bucket, folder, body, mapping_id, flow_id, run, batch_id, landed)


def test_the_run_reads_the_csv_files_and_lands_the_mapped_rows(tutorial: Tutorial) -> None:
    metrics = tutorial.run["metrics"]
    december = f"{tutorial.bucket}/{tutorial.folder}/2026/12/customers-2.csv.gz"
    assert metrics["statusSummary"] == {
        "status": "success",
        "errors": [
            {
                "code": "INGEST-1212-400",
                "message": "Encountered 3 errors in the data. Successfully ingested 6 rows. "
                f"Rejected rows by file: {december} (3).",
            }
        ],
        "extensions": {"outcome": "partial", "fileErrors": []},
    }
    assert metrics["recordSummary"] == {
        "inputRecordCount": 9,
        "outputRecordCount": 6,
        "failedRecordCount": 3,
    }
    # README.txt is not read: the source's fileExtension is csv.gz.
    assert metrics["fileSummary"] == {
        "inputFileCount": 2,
        "outputFileCount": 2,
        "failedFileCount": 0,
        "skippedFileCount": 0,
    }

    landed = {}
    for row in tutorial.rows:
        name, email, loyalty = row["person"]["name"], row["personalEmail"], row[f"_{TENANT}"]
        landed[row["_id"]] = (
            name["firstName"],
            name["lastName"],
            name["fullName"],
            email["address"],
            loyalty["loyalty"]["loyaltyId"],
            loyalty["loyalty"]["tier"],
            loyalty["loyalty"]["points"],
            loyalty["loyalty"]["memberSince"].isoformat(),
        )
        # "The schema's other fields are null: no mapping fills them."
        assert row["person"]["birthDate"] is None and row["homeAddress"] is None
    assert landed == LANDED


def test_the_rejected_rows_say_what_failed(tutorial: Tutorial) -> None:
    api, batch_id = tutorial.api, tutorial.batch_id
    meta = f"/data/foundation/export/batches/{batch_id}/meta"
    listing = ok(api.get(meta, params={"path": "row_errors"}))
    assert [f["name"] for f in listing["data"]] == ["conversion_errors_0.json"]
    by_id = row_errors(tutorial)
    assert set(by_id) == {"c-1006", "c-1007", "c-1008"}
    december = f"{tutorial.bucket}/{tutorial.folder}/2026/12/customers-2.csv.gz"
    assert {line["_filename"] for line in by_id.values()} == {december}

    points, since, short = by_id["c-1006"], by_id["c-1007"], by_id["c-1008"]
    for line, index, failure in (
        (points, 1, "to_integer(): 'lots' is not a number"),
        (since, 2, "date(): '31/02/2022' does not match the format 'yyyy-MM-dd'"),
    ):
        assert line["_rowIndex"] == index
        (error,) = line["_errors"]
        assert error["code"] == MAPPER_ERROR, line
        assert f"mapping set {tutorial.mapping_id}" in error["message"], line
        assert failure in error["message"], line
    assert json.loads(points["_corrupt_record"])["points"] == "lots"
    assert short["_errors"] == [
        {
            "code": "INGEST-1401-400",
            "message": "has 6 fields but the header has 8: give every row 8, and quote values "
            "that hold the delimiter",
            "line": 5,
        }
    ]
    assert json.loads(short["_corrupt_record"]) == {
        "_text": "c-1008;Ken;Thompson;ken.thompson@example.com;88008;20"
    }


def test_rejected_and_landed_rows_keep_their_place_in_the_file(tutorial: Tutorial) -> None:
    """The tutorial: "_rowIndex is the row's position in the file, from 0, not counting the
    header" — Ken Thompson's row is the fourth (3), Radia Perlman's the fifth (4)."""
    short_row = row_errors(tutorial)["c-1008"]
    lineage = {row["_id"]: row["_lakefeed"]["source_row"] for row in tutorial.rows}
    assert (short_row["_rowIndex"], lineage["c-1009"]) == (3, 4)


def test_a_mapping_row_error_names_the_destination_over_rest(tutorial: Tutorial) -> None:
    points = row_errors(tutorial)["c-1006"]
    (error,) = points["_errors"]
    assert error["code"] == "MAPPER-3700-400"
    assert error["field"] == f"_{TENANT}.loyalty.points"
    assert tutorial.mapping_id in error["message"]


def test_the_flow_moves_to_a_new_mapping_version(tutorial: Tutorial) -> None:
    """The tutorial's "What next": a PUT of the edited mapping-set.json stores version 1, and
    a PATCH points the flow at it."""
    api = tutorial.api
    body = json.loads(json.dumps(tutorial.mapping_body))
    body["mappings"][1]["source"] = "trim(first_name)"
    newer = ok(api.put(f"{DP}/mappingSets/{tutorial.mapping_id}", json=body))
    assert newer["version"] == 1
    (flow,) = ok(api.get(f"{FS}/flows/{tutorial.flow_id}"))["items"]
    patched = api.patch(
        f"{FS}/flows/{tutorial.flow_id}",
        headers={"If-Match": flow["etag"]},
        json=[{"op": "replace", "path": "/transformations/0/params/mappingVersion", "value": 1}],
    )
    assert patched.status_code == 200, patched.text
    (flow,) = ok(api.get(f"{FS}/flows/{tutorial.flow_id}"))["items"]
    assert flow["transformations"] == [
        {"name": "Mapping", "params": {"mappingId": tutorial.mapping_id, "mappingVersion": 1}}
    ]
