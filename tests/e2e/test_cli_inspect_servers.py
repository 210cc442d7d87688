"""`lakefeed inspect` through the real CLI against each of the five servers: the schemas and row
counts it prints are the ones the test wrote."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakefeed import Lakefeed
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from tests_support import lakefeed, server_env, sftp_params

pytestmark = pytest.mark.servers

SCHEMA = pa.schema([("customer_id", pa.int64()), ("country_code", pa.string())])


def backends() -> dict[str, tuple[str, str, dict[str, Any], str]]:
    """name → (spec, auth spec, params, folder the test writes to)."""
    run = uuid.uuid4().hex[:8]
    return {
        "s3-moto": (
            "amazon-s3",
            "Access Key",
            {
                "s3AccessKey": "testing",
                "s3SecretKey": "testing",
                "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
            },
            f"/cli-{run}",
        ),
        "s3-rgw": (
            "amazon-s3",
            "Access Key",
            {
                "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
                "s3SecretKey": server_env("LAKEFEED_TEST_RGW_SECRET_KEY"),
                "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
            },
            f"/cli-{run}",
        ),
        "azure-blob": (
            "azure-blob",
            "ConnectionString",
            {"connectionString": server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")},
            f"/cli-{run}",
        ),
        "adls-gen2": (
            "adls-gen2",
            "Account Key Authentication for adls-gen2",
            {
                "url": f"http://127.0.0.1:10000/{server_env('LAKEFEED_TEST_AZURE_ACCOUNT_NAME')}",
                "accountKey": server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY"),
            },
            f"/cli-adls-{run}",
        ),
        "gcs": (
            "google-cloud",
            "Anonymous Access for google-cloud",
            {"serviceUrl": server_env("LAKEFEED_TEST_GCS_ENDPOINT")},
            f"/cli-{run}",
        ),
        "sftp": (
            "sftp",
            "Basic Authentication for sftp",
            sftp_params(),
            f"{server_env('LAKEFEED_TEST_SFTP_ROOT')}/cli-{run}",
        ),
    }


@pytest.mark.parametrize("name", ["s3-moto", "s3-rgw", "azure-blob", "adls-gen2", "gcs", "sftp"])
def test_inspect_prints_what_was_written(name: str, tmp_path: Path) -> None:
    spec, auth, params, folder = backends()[name]
    session = Lakefeed(home=tmp_path / "writer").session_for(spec, params, auth)
    ensure_folder(session.fs, session.resolve(folder.rsplit("/", 1)[0] or folder))
    ensure_folder(session.fs, session.resolve(folder))
    rows = {"a.parquet": 120, "b.parquet": 35}
    put(
        session,
        {
            f"{folder}/in/{file}": parquet_bytes(
                pa.table({"customer_id": list(range(n)), "country_code": ["CH"] * n}, schema=SCHEMA)
            )
            for file, n in rows.items()
        },
    )
    home = tmp_path / "home"
    created = lakefeed(
        home,
        "connections",
        "create",
        name,
        "--spec",
        spec,
        "--auth-spec",
        auth,
        "--params-file",
        "-",
        "--test",
        input=json.dumps(params),
    )
    assert created.returncode == 0, created.stderr
    report = lakefeed(home, "inspect", name, f"{folder}/in", "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert {Path(f["path"]).name: f["numRows"] for f in data["files"]} == rows
    assert data["schemasAgree"] and data["totalRows"] == 155
    assert [c["name"] for c in data["files"][0]["schema"]] == ["customer_id", "country_code"]
    human = lakefeed(home, "inspect", name, f"{folder}/in")
    assert human.returncode == 0, human.stderr
    for text in ("a.parquet", "120", "35", "customer_id", "country_code", "int64", "155 rows"):
        assert text in human.stdout, (text, human.stdout)
