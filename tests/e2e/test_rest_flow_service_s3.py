"""The whole Flow Service sequence over HTTP against a real uvicorn server, with the request
bodies a Flow Service user sends, ingesting Parquet from the S3 test server (moto)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api_support import ORG, created, running_server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from lakefeed.testing.profiles import (
    PROFILE_CLASS,
    PROFILE_FIELD_GROUPS,
    loyalty_field_group,
    profile_table,
)
from tests_support import server_env

pytestmark = pytest.mark.servers

FS = "/data/foundation/flowservice"
S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
DATASET_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"


def test_flow_service_sequence_over_http(tmp_path: Path) -> None:
    s3 = {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    bucket, folder = "lakefeed-rest", f"partners/{uuid.uuid4().hex[:8]}"
    writer = Lakefeed(home=tmp_path / "writer").session_for("amazon-s3", s3, "Access Key")
    ensure_folder(writer.fs, bucket)
    files = {
        f"/{bucket}/{folder}/2026/11/a.parquet": profile_table(400, tenant_id="acme0001"),
        f"/{bucket}/{folder}/2026/12/b.parquet": profile_table(
            100, start=400, tenant_id="acme0001", bad={7: "gender"}
        ),
    }
    put(writer, {path: parquet_bytes(table) for path, table in files.items()})

    # The S3 test server is on loopback: the server must be told it may reach it.
    allowed = urlsplit(s3["serviceUrl"]).netloc
    with (
        running_server(tmp_path / "server", allow_endpoints=[allowed]) as server,
        server.client() as api,
    ):
        # 1. The target schema: the Profile class, standard field groups and a tenant one.
        group = created(
            api.post(
                "/data/foundation/schemaregistry/tenant/fieldgroups",
                json=loyalty_field_group("acme0001"),
            )
        )
        schema = created(
            api.post(
                "/data/foundation/schemaregistry/tenant/schemas",
                json={
                    "type": "object",
                    "title": "Partner profiles",
                    "description": "Profiles delivered by partners as Parquet",
                    "allOf": [
                        {"$ref": ref}
                        for ref in (PROFILE_CLASS, *PROFILE_FIELD_GROUPS, group["$id"])
                    ],
                },
            )
        )
        schema_id = schema["$id"]
        assert schema_id.startswith("https://ns.adobe.com/acme0001/schemas/")

        # 2. A base connection to the S3 test server.
        base = created(
            api.post(
                f"{FS}/connections",
                json={
                    "name": "S3 base connection",
                    "description": "partner drop bucket",
                    "auth": {"specName": "Access Key", "params": {**s3, "bucketName": bucket}},
                    "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                },
            )
        )
        assert api.get(f"{FS}/connections/{base['id']}/test").status_code == 200
        shown = api.get(f"{FS}/connections/{base['id']}").json()["items"][0]
        assert "testing" not in str(shown["auth"]["params"].get("s3SecretKey"))

        # 3. A parquet_xdm source connection on the folder, recursive.
        source = created(
            api.post(
                f"{FS}/sourceConnections",
                json={
                    "name": "Source Connection S3",
                    "baseConnectionId": base["id"],
                    "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
                    "data": {
                        "format": "parquet_xdm",
                        "schema": {"id": schema_id, "version": XED_FULL},
                    },
                    "params": {"path": folder, "recursive": "true"},
                },
            )
        )

        # 4. A dataset with that schema.
        dataset_ref = created(
            api.post(
                "/data/foundation/catalog/dataSets",
                json={
                    "name": "Partner profiles",
                    "schemaRef": {
                        "id": schema_id,
                        "contentType": "application/vnd.adobe.xed-full-notext+json; version=1",
                    },
                },
            )
        )
        (ref,) = dataset_ref
        dataset_id = ref.removeprefix("@/dataSets/")

        # 5. The dataset base connection and 6. the target connection.
        dataset_base = created(
            api.post(
                f"{FS}/connections",
                json={
                    "name": "Dataset base connection",
                    "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
                },
            )
        )
        target = created(
            api.post(
                f"{FS}/targetConnections",
                json={
                    "name": "Target connection",
                    "baseConnectionId": dataset_base["id"],
                    "data": {
                        "format": "parquet_xdm",
                        "schema": {"id": schema_id, "version": XED_FULL},
                    },
                    "params": {"dataSetId": dataset_id},
                    "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
                },
            )
        )

        # 7. A dataflow, run once on demand with partial ingestion.
        flow = created(
            api.post(
                f"{FS}/flows",
                json={
                    "name": "Cloud Storage flow",
                    "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
                    "sourceConnectionIds": [source["id"]],
                    "targetConnectionIds": [target["id"]],
                    "scheduleParams": {
                        "startTime": str(int(time.time()) + 60),
                        "frequency": "once",
                    },
                    "options": {"partialIngestionPercent": 5, "errorDiagnosticsEnabled": True},
                },
            )
        )
        now = str(int(time.time()))
        run_ref = created(
            api.post(
                f"{FS}/runs",
                json={
                    "flowId": flow["id"],
                    "params": {"startTime": now, "windowStartTime": "0", "windowEndTime": now},
                },
            )
        )
        run_id = run_ref["items"][0]["id"] if "items" in run_ref else run_ref["id"]

        # 8. Monitoring: poll the run, follow it to the batch and the diagnostics.
        deadline = time.monotonic() + 120
        while True:
            runs = api.get(f"{FS}/runs", params={"property": f"flowId=={flow['id']}"}).json()
            (run,) = [r for r in runs["items"] if r["id"] == run_id]
            if run["state"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        metrics = run["metrics"]
        assert metrics["statusSummary"]["status"] == "success", metrics
        assert metrics["recordSummary"] == {
            "inputRecordCount": 500,
            "outputRecordCount": 499,
            "failedRecordCount": 1,
        }
        assert metrics["fileSummary"]["inputFileCount"] == 2
        promotion = next(a for a in run["activities"] if a["id"] == "promotionActivity")
        batch_id = promotion["targetInfo"][0]["reference"]["ids"][0]

        batch = api.get(f"/data/foundation/catalog/batches/{batch_id}").json()[batch_id]
        assert batch["status"] == "success"
        assert batch["metrics"]["outputRecordCount"] == 499
        assert batch["relatedObjects"] == [{"type": "dataSet", "id": dataset_id}]
        listed = api.get("/data/foundation/catalog/batches", params={"dataSet": dataset_id}).json()
        assert list(listed) == [batch_id]
        dataset = api.get(f"/data/foundation/catalog/dataSets/{dataset_id}").json()[dataset_id]
        assert dataset["schemaRef"]["id"] == schema_id

        meta = f"/data/foundation/export/batches/{batch_id}/meta"
        inputs = api.get(meta, params={"path": "input_files"}).json()
        assert inputs["_page"]["count"] == 2
        errors = api.get(meta, params={"path": "row_errors"}).json()
        (error_file,) = errors["data"]
        lines = api.get(meta, params={"path": f"row_errors/{error_file['name']}"}).text
        (line,) = [x for x in lines.splitlines() if x.strip()]
        assert '"_errors"' in line and "person.gender" in line and "robot" in line

        # The rows themselves, as any Iceberg reader sees them.
        lf = server.lf.scoped(Scope(ORG, "prod"))
        rows = lf.datasets.read(lf.datasets.get(dataset_id))
        assert rows.num_rows == 499
        assert sorted(rows.column("_id").to_pylist())[:2] == ["profile-0", "profile-1"]
        assert rows.column("_acme0001").to_pylist()[0]["loyalty"]["loyaltyId"].startswith("L")
