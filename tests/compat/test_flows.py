"""Flows as Adobe returns and accepts them: ``inheritedAttributes`` (connection ids, their specs
and base connections, ``properties.isSourceFlow``) on every flow answer and filterable with
``property=``; ``scheduleParams`` fields lakefeed does not use kept and echoed exactly as sent
(create and PATCH), bounded in size; ``interval: 0`` with ``frequency: once`` accepted; the
schedule rules answering their Flow Service codes as before."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api_support import ORG, Server, created, item, refused
from compat.flowservice_parts import local_connection
from lakefeed.catalog.records import Scope
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import create_profile_schema

FS = "/data/foundation/flowservice"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
S3_SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"


@dataclass
class Parts:
    """The connections a flow needs: a local-files base connection, a dataset base connection,
    a schema and a dataset."""

    local_spec_id: str
    schema_id: str
    dataset_id: str
    base_id: str
    dataset_base_id: str


@pytest.fixture(scope="module")
def parts(server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Parts:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    root = tmp_path_factory.mktemp("flows-landing")
    (root / "drop").mkdir()
    # The Catalog and Schema Registry routes are other modules' subjects.
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create("flow compat profiles", schema["$id"])
    specs = sdk.get(f"{FS}/connectionSpecs", params={"property": "name==local-files"}).json()
    local_spec_id = specs["items"][0]["id"]
    base = created(
        sdk.post(
            f"{FS}/connections", json=local_connection(local_spec_id, root, "flow compat landing")
        )
    )
    dataset_base = created(
        sdk.post(
            f"{FS}/connections",
            json={"name": "flow compat lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        )
    )
    return Parts(local_spec_id, schema["$id"], dataset.id, base["id"], dataset_base["id"])


def connections(sdk: httpx.Client, parts: Parts, name: str) -> tuple[str, str]:
    """A new source and target connection pair: (source id, target id)."""
    source = {
        "name": f"{name} source",
        "baseConnectionId": parts.base_id,
        "data": {"format": "parquet_xdm", "schema": {"id": parts.schema_id, "version": XED_FULL}},
        "params": {"path": "drop", "recursive": "true"},
        "connectionSpec": {"id": parts.local_spec_id, "version": "1.0"},
    }
    target = {
        "name": f"{name} target",
        "baseConnectionId": parts.dataset_base_id,
        "data": {"format": "parquet_xdm", "schema": {"id": parts.schema_id, "version": XED_FULL}},
        "params": {"dataSetId": parts.dataset_id},
        "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
    }
    source_id = created(sdk.post(f"{FS}/sourceConnections", json=source))["id"]
    target_id = created(sdk.post(f"{FS}/targetConnections", json=target))["id"]
    return source_id, target_id


def post_flow(
    sdk: httpx.Client, parts: Parts, name: str, schedule: Any
) -> tuple[httpx.Response, str, str]:
    source_id, target_id = connections(sdk, parts, name)
    body = {
        "name": name,
        "flowSpec": {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [source_id],
        "targetConnectionIds": [target_id],
        "scheduleParams": schedule,
    }
    return sdk.post(f"{FS}/flows", json=body), source_id, target_id


def soon() -> str:
    return str(int(time.time()) + 600)


def patch(sdk: httpx.Client, flow_id: str, operations: list[dict[str, Any]]) -> httpx.Response:
    etag = item(sdk, f"flows/{flow_id}")["etag"]
    return sdk.patch(f"{FS}/flows/{flow_id}", json=operations, headers={"If-Match": etag})


def flow_type(response: httpx.Response, code: int) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith(f"FLOW-{code}-400"), response.json()


# -- inheritedAttributes -----------------------------------------------------------------------


def test_every_flow_answer_carries_inherited_attributes_as_adobe_returns_them(
    sdk: httpx.Client, parts: Parts
) -> None:
    response, source_id, target_id = post_flow(
        sdk, parts, "inherited", {"startTime": soon(), "frequency": "once"}
    )
    flow = created(response)
    expected = {
        "sourceConnections": [
            {
                "id": source_id,
                "connectionSpec": {"id": parts.local_spec_id, "version": "1.0"},
                "baseConnection": {
                    "id": parts.base_id,
                    "connectionSpec": {"id": parts.local_spec_id, "version": "1.0"},
                },
            }
        ],
        "targetConnections": [
            {
                "id": target_id,
                "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
                "baseConnection": {
                    "id": parts.dataset_base_id,
                    "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
                },
            }
        ],
        "properties": {"isSourceFlow": True},
    }
    assert item(sdk, f"flows/{flow['id']}")["inheritedAttributes"] == expected
    listed = sdk.get(f"{FS}/flows", params={"property": f"id=={flow['id']}"}).json()["items"]
    assert [f["inheritedAttributes"] for f in listed] == [expected]


def test_flows_filter_on_inherited_attributes(sdk: httpx.Client, parts: Parts) -> None:
    response, source_id, _ = post_flow(
        sdk, parts, "filtered", {"startTime": soon(), "frequency": "once"}
    )
    flow_id = created(response)["id"]

    def ids(*filters: str) -> list[str]:
        answer = sdk.get(f"{FS}/flows", params=[("property", f) for f in filters])
        assert answer.status_code == 200, answer.text
        return [f["id"] for f in answer.json()["items"]]

    by_spec = "inheritedAttributes.sourceConnections[].connectionSpec.id"
    assert flow_id in ids(f"{by_spec}=={parts.local_spec_id}")
    assert flow_id not in ids(f"{by_spec}=={S3_SPEC_ID}")
    assert ids(f"{by_spec}=={parts.local_spec_id}", f"sourceConnectionIds[]=={source_id}") == [
        flow_id
    ]
    by_base = "inheritedAttributes.targetConnections[].baseConnection.id"
    assert flow_id in ids(f"{by_base}=={parts.dataset_base_id}")
    assert flow_id in ids("inheritedAttributes.properties.isSourceFlow==true")
    assert ids("inheritedAttributes.properties.isSourceFlow==false") == []


# -- scheduleParams ----------------------------------------------------------------------------


def test_schedule_fields_lakefeed_does_not_use_are_kept_and_returned_as_sent(
    sdk: httpx.Client, parts: Parts
) -> None:
    unknown = {"timezone": "UTC", "startTimeOffset": 0, "custom": {"a": [1, "2", None, True]}}
    schedule = {"startTime": soon(), "frequency": "hour", "interval": 1, **unknown}
    response, _, _ = post_flow(sdk, parts, "kept", schedule)
    flow_id = created(response)["id"]
    shown = item(sdk, f"flows/{flow_id}")["scheduleParams"]
    assert shown == {
        "startTime": schedule["startTime"],
        "frequency": "hour",
        "interval": "1",
        "backfill": "true",
        **unknown,
    }

    # A PATCH of the schedule keeps what it does not touch, and changes what it names.
    assert patch(
        sdk,
        flow_id,
        [
            {"op": "replace", "path": "/scheduleParams/interval", "value": "2"},
            {"op": "replace", "path": "/scheduleParams/timezone", "value": "Europe/Paris"},
            {"op": "add", "path": "/scheduleParams/cronLike", "value": "0 * * * *"},
            {"op": "remove", "path": "/scheduleParams/startTimeOffset"},
        ],
    ).is_success
    shown = item(sdk, f"flows/{flow_id}")["scheduleParams"]
    assert shown == {
        "startTime": schedule["startTime"],
        "frequency": "hour",
        "interval": "2",
        "backfill": "true",
        "timezone": "Europe/Paris",
        "custom": unknown["custom"],
        "cronLike": "0 * * * *",
    }
    # Other changes leave them alone.
    assert patch(sdk, flow_id, [{"op": "replace", "path": "/name", "value": "kept 2"}]).is_success
    assert item(sdk, f"flows/{flow_id}")["scheduleParams"] == shown


def test_an_unknown_schedule_field_changes_after_the_start_has_passed(
    sdk: httpx.Client, parts: Parts
) -> None:
    """Only the rules about the fields lakefeed uses lock a started schedule."""
    started = {"startTime": int(time.time()), "frequency": "day", "interval": 1, "backfill": False}
    response, _, _ = post_flow(sdk, parts, "started", started)
    flow_id = created(response)["id"]
    assert patch(sdk, flow_id, [{"op": "add", "path": "/scheduleParams/note", "value": "x"}])
    shown = item(sdk, f"flows/{flow_id}")["scheduleParams"]
    assert (shown["note"], shown["backfill"]) == ("x", "false")
    locked = {"op": "replace", "path": "/scheduleParams/backfill", "value": "true"}
    flow_type(patch(sdk, flow_id, [locked]), 1366)


@pytest.mark.parametrize("interval", [0, "0"])
def test_interval_zero_with_frequency_once_is_accepted(
    sdk: httpx.Client, parts: Parts, interval: Any
) -> None:
    schedule = {"startTime": soon(), "frequency": "once", "interval": interval}
    response, _, _ = post_flow(sdk, parts, f"once zero {interval!r}", schedule)
    flow = item(sdk, f"flows/{created(response)['id']}")
    assert flow["scheduleParams"]["frequency"] == "once"
    assert flow["scheduleParams"]["interval"] == "0"  # echoed, never silently dropped
    # Adobe's own collection PATCHes the schedule of such a flow the same way.
    new_start = str(int(soon()) + 60)
    again = patch(
        sdk,
        flow["id"],
        [
            {
                "op": "replace",
                "path": "/scheduleParams",
                "value": {**schedule, "startTime": new_start},
            }
        ],
    )
    assert again.is_success, again.text
    assert item(sdk, f"flows/{flow['id']}")["scheduleParams"]["startTime"] == new_start


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        ({"startTime": str(int(time.time()) - 3600), "frequency": "once"}, 1360),
        ({"frequency": "once", "interval": 15}, 1361),
        ({"frequency": "once", "interval": "1"}, 1361),
        ({"frequency": "minute", "interval": 5}, 1362),
        ({"frequency": "hour", "interval": 0}, 1362),
        ({"frequency": "once", "backfill": True}, 1364),
        ({"frequency": "hourly", "interval": 1}, 1397),
        ({"frequency": "day"}, 1397),
    ],
)
def test_schedule_rules_keep_their_flow_service_codes(
    sdk: httpx.Client, parts: Parts, schedule: dict[str, Any], code: int
) -> None:
    response, _, _ = post_flow(sdk, parts, f"rule {code}", {"startTime": soon(), **schedule})
    flow_type(response, code)


def test_unknown_schedule_fields_are_bounded(sdk: httpx.Client, parts: Parts) -> None:
    big = {"startTime": soon(), "frequency": "once", "blob": "x" * 20_000}
    response, _, _ = post_flow(sdk, parts, "too big", big)
    body = refused(response, 400, "scheduleParams", "blob", "bytes")
    assert body["type"].endswith("FLOW-1397-400")
    assert "x" * 100 not in response.text  # the value is not echoed back

    response, _, _ = post_flow(sdk, parts, "bounded", {"startTime": soon(), "frequency": "once"})
    flow_id = created(response)["id"]
    grow = {"op": "add", "path": "/scheduleParams/blob", "value": ["y" * 1000] * 20}
    refused(patch(sdk, flow_id, [grow]), 400, "scheduleParams", "blob")
    # JSON can spell half a surrogate pair, which no answer could carry: refused, not kept.
    etag = item(sdk, f"flows/{flow_id}")["etag"]
    half = json.dumps([{"op": "add", "path": "/scheduleParams/half", "value": "\ud800"}])
    answer = sdk.patch(f"{FS}/flows/{flow_id}", content=half, headers={"If-Match": etag})
    refused(answer, 400, "scheduleParams", "half")
    assert set(item(sdk, f"flows/{flow_id}")["scheduleParams"]) == {"startTime", "frequency"}
