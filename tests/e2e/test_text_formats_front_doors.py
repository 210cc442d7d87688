"""CSV and JSON files on the S3 and SFTP test servers through the two other front doors: the CLI
(inspect, preview, ingest with --infer, with a mapping file) and REST (explore, a delimited
source connection, a mapping set, a flow that applies it, a run). The Python API runs the same
files in ``tests/text_formats_suite.py`` on every backend."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from api_support import FS, ORG, created, running_server, wait_for_run
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.cli import _register_commands, cli
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID
from lakefeed.testing.contract import ensure_folder, put
from lakefeed.testing.profiles import create_profile_schema
from tests_support import server_env, sftp_params

pytestmark = pytest.mark.servers

PREP = "/data/foundation/conversion"
PEOPLE = (
    "member;first;pts;joined\n"
    "m1; ada ;120;2021-03-04\n"
    "m2;Grace;lots;2022-05-06\n"  # pts is not a number: a mapper error
    "m3;Alan;7;2020-01-31\n"
)
EVENTS = "".join(
    json.dumps({"id": n, "kind": "click", "at": {"page": f"/p/{n}", "ms": n * 10}}) + "\n"
    for n in range(5)
)


def backend(name: str) -> tuple[str, str, dict[str, Any], str]:
    """(spec, auth spec, params, folder the test writes to)."""
    run = uuid.uuid4().hex[:8]
    if name == "s3":
        params = {
            "s3AccessKey": "testing",
            "s3SecretKey": "testing",
            "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        }
        return "amazon-s3", "Access Key", params, f"/text-{run}"
    root = server_env("LAKEFEED_TEST_SFTP_ROOT")
    return "sftp", "Basic Authentication for sftp", sftp_params(), f"{root}/text-{run}"


@pytest.fixture(params=["s3", "sftp"])
def landed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, ...]]:
    spec, auth, params, folder = backend(request.param)
    session = Lakefeed(home=tmp_path / "writer").session_for(spec, params, auth)
    ensure_folder(session.fs, session.resolve(folder))
    put(
        session,
        {
            f"{folder}/people.csv.gz": gzip.compress(PEOPLE.encode()),
            f"{folder}/events.jsonl": EVENTS.encode(),
        },
    )
    yield spec, auth, params, folder


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("LAKEFEED_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("COLUMNS", "250")
    _register_commands()

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
        return result

    return run


def test_the_cli_reads_csv_and_json_on_the_server(
    landed: tuple[Any, ...], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    spec, auth, params, folder = landed
    lf = Lakefeed(home=tmp_path / "cli-home")
    lf.create_connection("drop", spec, auth, params)
    csv = f"{folder}/people.csv.gz"

    inspected = json.loads(
        run_cli("inspect", "drop", csv, "-o", "columnDelimiter=;", "--json").stdout
    )
    (file,) = inspected["files"]
    assert {f["name"]: f["type"] for f in file["schema"]}["joined"] == "date32[day]"
    preview = json.loads(run_cli("preview", "drop", f"{folder}/events.jsonl", "--json").stdout)
    assert preview["data"][1] == {"id": 1, "kind": "click", "at": {"page": "/p/1", "ms": 10}}

    events = json.loads(
        run_cli(
            "ingest", "drop", f"{folder}/*.jsonl", "--dataset", "events", "--infer", "--json"
        ).stdout
    )
    assert events["metrics"]["recordSummary"]["outputRecordCount"] == 5, events["metrics"]
    rows = lf.datasets.read(lf.datasets.get("events")).to_pylist()
    assert sorted(r["at"]["ms"] for r in rows) == [0, 10, 20, 30, 40]

    schema = create_profile_schema(lf.schemas)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "mappings": [
                    {"sourceType": "ATTRIBUTE", "source": "member", "destination": "_id"},
                    {
                        "sourceType": "EXPRESSION",
                        "source": "upper(trim(first))",
                        "destination": "person.name.firstName",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "concat('L-', member)",
                        "destination": "_local.loyalty.loyaltyId",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "to_integer(pts)",
                        "destination": "_local.loyalty.points",
                    },
                ]
            }
        )
    )
    args = ("ingest", "drop", f"{folder}/*.csv.gz", "--dataset", "members")
    members = json.loads(
        run_cli(
            *args, "--schema", schema["$id"], "-o", "columnDelimiter=;", "--mapping", str(mapping),
            "--partial-ingestion-percent", "50", "--json", code=3,
        ).stdout
    )  # fmt: skip
    assert members["metrics"]["recordSummary"]["failedRecordCount"] == 1, members["metrics"]
    people = {r["_id"]: r for r in lf.datasets.read(lf.datasets.get("members")).to_pylist()}
    assert sorted(people) == ["m1", "m3"]
    assert people["m1"]["person"]["name"]["firstName"] == "ADA"


def test_rest_explores_maps_and_ingests_csv_on_the_server(
    landed: tuple[Any, ...], tmp_path: Path
) -> None:
    spec, auth, params, folder = landed
    with running_server(tmp_path / "server", allow_endpoints=["127.0.0.1"]) as server:
        lf = server.lf.scoped(Scope(ORG, "prod"))
        schema = create_profile_schema(lf.schemas)
        dataset = lf.datasets.create("members", schema["$id"])
        with server.client() as api:
            tenant = f"_{lf.schemas.tenant_id}"
            rest_sequence(api, spec, auth, params, folder, schema["$id"], dataset.id, tenant)
        rows = {r["_id"]: r for r in lf.datasets.read(lf.datasets.get(dataset.id)).to_pylist()}
        assert sorted(rows) == ["m1", "m3"]
        assert rows["m3"][tenant]["loyalty"]["points"] == 7


def rest_sequence(
    api: httpx.Client,
    spec: str,
    auth: str,
    params: dict[str, Any],
    folder: str,
    schema_id: str,
    dataset_id: str,
    tenant: str,
) -> None:
    specs = api.get(f"{FS}/connectionSpecs", params={"property": f"name=={spec}"}).json()
    spec_id = specs["items"][0]["id"]
    base = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "partner drop",
                "auth": {"specName": auth, "params": params},
                "connectionSpec": {"id": spec_id, "version": "1.0"},
            },
        )
    )
    explored = api.get(
        f"{FS}/connections/{base['id']}/explore",
        params={
            "objectType": "file",
            "object": f"{folder}/people.csv.gz",
            "fileType": "delimited",
            "preview": "true",
            "columnDelimiter": ";",
            "compressionType": "gzip",
        },
    )
    assert explored.status_code == 200, explored.text
    assert explored.json()["data"][0] == {
        "member": "m1",
        "first": " ada ",
        "pts": "120",
        "joined": "2021-03-04",
    }
    mapping_set = created(
        api.post(
            f"{PREP}/mappingSets",
            json={
                "outputSchema": {"schemaRef": {"id": schema_id}},
                "mappings": [
                    {"sourceType": "ATTRIBUTE", "source": "member", "destination": "_id"},
                    {
                        "sourceType": "EXPRESSION",
                        "source": "concat('L-', member)",
                        "destination": f"{tenant}.loyalty.loyaltyId",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "to_integer(pts)",
                        "destination": f"{tenant}.loyalty.points",
                    },
                ],
            },
        )
    )
    source = created(
        api.post(
            f"{FS}/sourceConnections",
            json={
                "name": "people csv",
                "baseConnectionId": base["id"],
                "data": {
                    "format": "delimited",
                    "properties": {"columnDelimiter": ";", "compressionType": "gzip"},
                },
                "params": {"path": folder, "fileExtension": "csv.gz"},
                "connectionSpec": {"id": spec_id, "version": "1.0"},
            },
        )
    )
    dataset_base = created(
        api.post(
            f"{FS}/connections",
            json={"name": "lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        )
    )
    target = created(
        api.post(
            f"{FS}/targetConnections",
            json={
                "name": "members target",
                "baseConnectionId": dataset_base["id"],
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset_id},
                "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
            },
        )
    )
    now = int(time.time())
    flow = created(
        api.post(
            f"{FS}/flows",
            json={
                "name": "members",
                "flowSpec": {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source["id"]],
                "targetConnectionIds": [target["id"]],
                "transformations": [
                    {
                        "name": "Mapping",
                        "params": {"mappingId": mapping_set["id"], "mappingVersion": 0},
                    }
                ],
                "scheduleParams": {"startTime": str(now), "frequency": "once"},
                "options": {"partialIngestionPercent": 50, "errorDiagnosticsEnabled": True},
            },
        )
    )
    window = {"startTime": str(now), "windowStartTime": "0", "windowEndTime": str(now + 60)}
    (ref,) = created(api.post(f"{FS}/runs", json={"flowId": flow["id"], "params": window}))["items"]
    run = wait_for_run(api, ref["id"])
    assert run["metrics"]["recordSummary"] == {
        "inputRecordCount": 3,
        "outputRecordCount": 2,
        "failedRecordCount": 1,
    }, run["metrics"]
