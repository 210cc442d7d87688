"""Delimited and JSON sources over HTTP: ``data.format``, ``data.properties`` and
``params.fileExtension`` are honoured or refused (never dropped), explore previews CSV and JSON
files with their properties, and a flow over gzip CSV and JSON Lines files ingests their rows."""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_support import FS, ORG, Server, created, item, refused, wait_for_run
from lakefeed.catalog.records import Scope
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID

FLOW_SPEC = {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"}

#: Semicolon-separated, gzip-compressed: 3 good rows and one whose age is not a number.
PEOPLE_1 = "id;name;age\n1;Ada;36\n2;Grace;45\n3;Linus;not-a-number\n4;Alan;41\n"
PEOPLE_2 = "id;name;age\n5;Edsger;72\n6;Barbara;\n"


@dataclass
class Drop:
    root: Path
    spec_id: str
    base_id: str
    dataset_base_id: str
    dataset_id: str

    def source(self, name: str, data: dict[str, Any], **params: Any) -> dict[str, Any]:
        return {
            "name": name,
            "baseConnectionId": self.base_id,
            "data": data,
            "params": {"path": "drop", **params},
            "connectionSpec": {"id": self.spec_id, "version": "1.0"},
        }


@pytest.fixture(scope="module")
def drop(server: Server, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Drop:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    root = tmp_path_factory.mktemp("formats")
    folder = root / "drop"
    folder.mkdir()
    (folder / "people-1.csv.gz").write_bytes(gzip.compress(PEOPLE_1.encode()))
    (folder / "people-2.csv.gz").write_bytes(gzip.compress(PEOPLE_2.encode()))
    # Not read: params.fileExtension is csv.gz.
    (folder / "notes.txt").write_text("id;name;age\n99;Nobody;1\n")
    (folder / "events.jsonl").write_text(
        "\n".join(json.dumps(r) for r in ({"id": 7, "name": "Ken", "age": 80},)) + "\n"
    )
    schema = lf.schemas.create_inferred_schema(
        "csv people",
        {
            "id": {"type": "integer", "meta:xdmType": "long"},
            "name": {"type": "string"},
            "age": {"type": "integer", "meta:xdmType": "int"},
        },
        required=["id"],
    )
    dataset = lf.datasets.create("csv-people", schema["$id"])
    specs = api.get(f"{FS}/connectionSpecs", params={"property": "name==local-files"}).json()
    spec_id = specs["items"][0]["id"]
    base = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "csv drop",
                "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
                "connectionSpec": {"id": spec_id, "version": "1.0"},
            },
        )
    )
    dataset_base = created(
        api.post(
            f"{FS}/connections",
            json={"name": "csv lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        )
    )
    return Drop(root, spec_id, base["id"], dataset_base["id"], dataset.id)


def run_flow(api: httpx.Client, drop: Drop, source_id: str, name: str) -> dict[str, Any]:
    target = created(
        api.post(
            f"{FS}/targetConnections",
            json={
                "name": f"{name} target",
                "baseConnectionId": drop.dataset_base_id,
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": drop.dataset_id},
                "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
            },
        )
    )
    now = int(time.time())
    flow = created(
        api.post(
            f"{FS}/flows",
            json={
                "name": name,
                "flowSpec": FLOW_SPEC,
                "sourceConnectionIds": [source_id],
                "targetConnectionIds": [target["id"]],
                "scheduleParams": {"startTime": str(now), "frequency": "once"},
                "options": {"partialIngestionPercent": 50, "errorDiagnosticsEnabled": True},
            },
        )
    )
    params = {"startTime": str(now), "windowStartTime": "0", "windowEndTime": str(now + 60)}
    started = created(api.post(f"{FS}/runs", json={"flowId": flow["id"], "params": params}))
    (ref,) = started["items"]
    return wait_for_run(api, ref["id"])


def test_a_gzip_csv_flow_ingests_the_selected_files(
    server: Server, api: httpx.Client, drop: Drop
) -> None:
    body = drop.source(
        "people csv",
        {"format": "delimited", "properties": {"columnDelimiter": ";"}},
        fileExtension="csv.gz",
        compressionType="gzip",  # clients send it in params too: it means data.properties
    )
    source = created(api.post(f"{FS}/sourceConnections", json=body))
    shown = item(api, f"sourceConnections/{source['id']}")
    assert shown["data"]["format"] == "delimited"
    assert shown["data"]["properties"]["columnDelimiter"] == ";"
    assert shown["data"]["properties"]["compressionType"] == "gzip"
    assert shown["params"]["fileExtension"] == "csv.gz"

    run = run_flow(api, drop, source["id"], "people csv flow")
    metrics = run["metrics"]
    assert metrics["fileSummary"]["inputFileCount"] == 2, metrics  # notes.txt is not read
    assert metrics["recordSummary"] == {
        "inputRecordCount": 6,
        "outputRecordCount": 5,
        "failedRecordCount": 1,
    }
    lf = server.lf.scoped(Scope(ORG, "prod"))
    table = lf.datasets.read(lf.datasets.get(drop.dataset_id))
    rows = sorted((r["id"], r["name"], r["age"]) for r in table.to_pylist())
    assert rows == [
        (1, "Ada", 36),
        (2, "Grace", 45),
        (4, "Alan", 41),
        (5, "Edsger", 72),
        (6, "Barbara", None),
    ]
    (batch_id,) = run["activities"][1]["targetInfo"][0]["reference"]["ids"]
    (rejected,) = list(lf.row_errors.list(batch_id))
    assert rejected.source_file.endswith("people-1.csv.gz") and rejected.row_index == 2
    assert rejected.errors[0]["field"] == "age"
    assert rejected.record == {"id": "3", "name": "Linus", "age": "not-a-number"}


def test_a_json_lines_flow_ingests_its_rows(server: Server, api: httpx.Client, drop: Drop) -> None:
    body = drop.source("events json", {"format": "json"}, fileExtension="jsonl")
    source = created(api.post(f"{FS}/sourceConnections", json=body))
    run = run_flow(api, drop, source["id"], "events json flow")
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == 1, run["metrics"]
    lf = server.lf.scoped(Scope(ORG, "prod"))
    table = lf.datasets.read(lf.datasets.get(drop.dataset_id))
    assert {"id": 7, "name": "Ken", "age": 80} in [
        {k: r[k] for k in ("id", "name", "age")} for r in table.to_pylist()
    ]


@pytest.mark.parametrize(
    ("data", "params", "words"),
    [
        ({"format": "delimited", "colour": "red"}, {}, ("data.colour",)),
        ({"format": "delimited"}, {"depth": 3}, ("params.depth",)),
        (
            {"format": "delimited", "properties": {"columnDelimiter": ";;"}},
            {},
            ("columnDelimiter",),
        ),
        ({"format": "delimited", "properties": {"shade": "blue"}}, {}, ("shade",)),
        ({"format": "delimited", "properties": {"encoding": "EBCDIC-42"}}, {}, ("encoding",)),
        ({"format": "delimited", "properties": {"encoding": "idna"}}, {}, ("encoding",)),
        ({"format": "delimited", "properties": {"skipRows": "²"}}, {}, ("skipRows",)),
        ({"format": "delimited", "properties": {"skipRows": 10**30}}, {}, ("skipRows",)),
        ({"format": "json", "properties": {"compressionType": "rar"}}, {}, ("compressionType",)),
        ({"format": "parquet", "properties": {"compressionType": "gzip"}}, {}, ("compression",)),
        (
            {"format": "delimited", "properties": {"columnDelimiter": ";"}},
            {"columnDelimiter": ","},
            ("columnDelimiter", "differ"),
        ),
        ({"format": "delimited"}, {"fileExtension": "../csv"}, ("fileExtension",)),
        ({"format": "delimited"}, {"fileExtension": ""}, ("fileExtension",)),
        ({"format": "avro"}, {}, ("avro",)),
    ],
)
def test_source_fields_are_honoured_or_refused(
    api: httpx.Client, drop: Drop, data: dict[str, Any], params: dict[str, Any], words: tuple[str]
) -> None:
    body = drop.source("refused", data, **params)
    refused(api.post(f"{FS}/sourceConnections", json=body), 400, *words)


def test_explore_previews_a_compressed_csv_with_its_properties(
    api: httpx.Client, drop: Drop
) -> None:
    query = {
        "objectType": "file",
        "object": "drop/people-1.csv.gz",
        "fileType": "delimited",
        "preview": "true",
        "columnDelimiter": ";",
        "compressionType": "gzip",
    }
    response = api.get(f"{FS}/connections/{drop.base_id}/explore", params=query)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert [c["name"] for c in shown["schema"]["columns"]] == ["id", "name", "age"]
    assert shown["data"][0] == {"id": "1", "name": "Ada", "age": "36"}
    assert len(shown["data"]) == 4

    json_query = {"objectType": "file", "object": "drop/events.jsonl", "fileType": "json"}
    shown = api.get(
        f"{FS}/connections/{drop.base_id}/explore", params={**json_query, "preview": "true"}
    ).json()
    assert shown["data"] == [{"id": 7, "name": "Ken", "age": 80}]
    # Every property of the format is taken from the query, and one it does not take refused.
    skipped = api.get(
        f"{FS}/connections/{drop.base_id}/explore",
        params={**query, "skipRows": "2", "header": "false", "nullValues": '["45"]'},
    )
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["data"][0] == {"_c0": "2", "_c1": "Grace", "_c2": None}
    assert skipped.json()["data"][-1]["_c2"] == "41"
    refused(
        api.get(f"{FS}/connections/{drop.base_id}/explore", params={**query, "shade": "blue"}),
        400,
        "shade",
    )
    for value in ("²", str(2**40), "-1"):
        refused(
            api.get(
                f"{FS}/connections/{drop.base_id}/explore", params={**query, "skipRows": value}
            ),
            400,
            "skipRows",
        )
    for value in ("idna", "undefined", "base64", "e" * 6_000):
        response = api.get(
            f"{FS}/connections/{drop.base_id}/explore", params={**query, "encoding": value}
        )
        refused(response, 400, "encoding")
        assert len(response.text) < 5000, "a huge value is not echoed whole"
    bad = {**query, "columnDelimiter": "ab"}
    refused(api.get(f"{FS}/connections/{drop.base_id}/explore", params=bad), 400, "columnDelimiter")
    refused(
        api.get(
            f"{FS}/connections/{drop.base_id}/explore", params={**json_query, "encoding": "nope"}
        ),
        400,
        "encoding",
    )
