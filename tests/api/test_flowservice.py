"""The Flow Service sequence over HTTP with local files: base connection → source connection →
dataset → target connection → flow → on-demand run, followed to its metrics; and what source
connections, target connections, flows and runs refuse."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, busy_run_workers, created, item, refused, wait_for_run
from lakefeed.catalog.records import Scope
from lakefeed.errors import NameTaken
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import PROFILE_CLASS, create_profile_schema, profile_table

FS = "/data/foundation/flowservice"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
FLOW_SPEC = {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"}


@dataclass
class Landing:
    """A landing folder with two Parquet files (one bad row) and the parts around it."""

    root: Path
    local_spec_id: str
    schema_id: str
    dataset_id: str
    base_id: str
    dataset_base_id: str

    def source(self, name: str, **params: Any) -> dict[str, Any]:
        return {
            "name": name,
            "baseConnectionId": self.base_id,
            "data": {
                "format": "parquet_xdm",
                "schema": {"id": self.schema_id, "version": XED_FULL},
            },
            "params": {"path": "drop", "recursive": "true", **params},
            "connectionSpec": {"id": self.local_spec_id, "version": "1.0"},
        }

    def target(self, name: str, **changes: Any) -> dict[str, Any]:
        return {
            "name": name,
            "baseConnectionId": self.dataset_base_id,
            "data": {
                "format": "parquet_xdm",
                "schema": {"id": self.schema_id, "version": XED_FULL},
            },
            "params": {"dataSetId": self.dataset_id},
            "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
            **changes,
        }


@pytest.fixture(scope="module")
def landing(server: Server, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Landing:
    lf = server.lf.scoped(Scope(ORG, "prod"))
    tenant = lf.schemas.tenant_id
    root = tmp_path_factory.mktemp("landing")
    (root / "drop" / "2026" / "11").mkdir(parents=True)
    pq.write_table(profile_table(30, tenant_id=tenant), root / "drop" / "2026" / "a.parquet")
    pq.write_table(
        profile_table(20, start=30, tenant_id=tenant, bad={4: "gender"}),
        root / "drop" / "2026" / "11" / "b.parquet",
    )
    # The Catalog router is another module's subject: the dataset comes from the engine.
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create("profiles", schema["$id"])
    specs = api.get(f"{FS}/connectionSpecs", params={"property": "name==local-files"}).json()
    local_spec_id = specs["items"][0]["id"]
    base = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "landing zone",
                "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
                "connectionSpec": {"id": local_spec_id, "version": "1.0"},
            },
        )
    )
    dataset_base = created(
        api.post(
            f"{FS}/connections",
            json={"name": "data lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        )
    )
    return Landing(root, local_spec_id, schema["$id"], dataset.id, base["id"], dataset_base["id"])


def create_flow(api: httpx.Client, landing: Landing, name: str, **extra: Any) -> dict[str, Any]:
    source = created(api.post(f"{FS}/sourceConnections", json=landing.source(f"{name} source")))
    target = created(api.post(f"{FS}/targetConnections", json=landing.target(f"{name} target")))
    body = {
        "name": name,
        "flowSpec": FLOW_SPEC,
        "sourceConnectionIds": [source["id"]],
        "targetConnectionIds": [target["id"]],
        "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
        **extra,
    }
    response = api.post(f"{FS}/flows", json=body)
    flow = created(response)
    assert response.headers["location"] == f"{FS}/flows/{flow['id']}"
    return {"flow": flow, "source": source, "target": target}


# -- the sequence ------------------------------------------------------------------------------


def test_the_flow_service_sequence(server: Server, api: httpx.Client, landing: Landing) -> None:
    source = created(api.post(f"{FS}/sourceConnections", json=landing.source("drop folder")))
    shown = item(api, f"sourceConnections/{source['id']}")
    assert shown["params"] == {"path": "drop", "recursive": True}
    assert shown["data"]["format"] == "parquet_xdm" and shown["etag"] == source["etag"]
    assert shown["inheritedAttributes"]["baseConnection"] == {
        "id": landing.base_id,
        "connectionSpec": {"id": landing.local_spec_id, "version": "1.0"},
    }
    target = created(api.post(f"{FS}/targetConnections", json=landing.target("profiles")))
    assert item(api, f"targetConnections/{target['id']}")["params"] == {
        "dataSetId": landing.dataset_id
    }
    flow = created(
        api.post(
            f"{FS}/flows",
            json={
                "name": "landing to profiles",
                "description": "on demand",
                "flowSpec": FLOW_SPEC,
                "sourceConnectionIds": [source["id"]],
                "targetConnectionIds": [target["id"]],
                "scheduleParams": {"startTime": str(int(time.time()) + 60), "frequency": "once"},
                "options": {"partialIngestionPercent": 10, "errorDiagnosticsEnabled": True},
            },
        )
    )
    shown_flow = item(api, f"flows/{flow['id']}")
    assert shown_flow["state"] == "enabled" and "lastRunDetails" not in shown_flow
    assert shown_flow["options"] == {"partialIngestionPercent": 10, "errorDiagnosticsEnabled": True}
    inherited = shown_flow["inheritedAttributes"]
    assert inherited["sourceConnections"][0]["baseConnection"]["id"] == landing.base_id
    assert inherited["targetConnections"][0]["connectionSpec"]["id"] == DATASET_TARGET_SPEC_ID
    assert inherited["targetConnections"][0]["baseConnection"]["id"] == landing.dataset_base_id

    now = int(time.time())
    run_body = {
        "flowId": flow["id"],
        "params": {"startTime": str(now), "windowStartTime": "0", "windowEndTime": str(now)},
    }
    with busy_run_workers(server):
        started = created(api.post(f"{FS}/runs", json=run_body))
        (ref,) = started["items"]
        queued = item(api, f"runs/{ref['id']}")
        assert queued["state"] == "inProgress" and queued["flowId"] == flow["id"]
        assert queued["params"]["windowEndTime"] == str(now)
        refused(api.post(f"{FS}/runs", json=run_body), 409, "in progress")
        refused(api.delete(f"{FS}/flows/{flow['id']}"), 409, "in progress")

    run = wait_for_run(api, ref["id"])
    metrics = run["metrics"]
    assert metrics["statusSummary"]["status"] == "success", metrics
    assert metrics["recordSummary"] == {
        "inputRecordCount": 50,
        "outputRecordCount": 49,
        "failedRecordCount": 1,
    }
    assert metrics["fileSummary"]["inputFileCount"] == 2
    copy, promotion = run["activities"]
    assert copy["id"] == "copyActivity" and copy["sourceInfo"][0]["id"] == source["id"]
    assert promotion["targetInfo"][0]["id"] == target["id"]
    (batch_id,) = promotion["targetInfo"][0]["reference"]["ids"]
    lf = server.lf.scoped(Scope(ORG, "prod"))
    assert lf.batches.get(batch_id).dataset_id == landing.dataset_id
    assert lf.datasets.read(lf.datasets.get(landing.dataset_id)).num_rows == 49

    listed = api.get(f"{FS}/runs", params={"property": f"flowId=={flow['id']}"}).json()
    assert [r["id"] for r in listed["items"]] == [ref["id"]]
    failed = api.get(
        f"{FS}/runs",
        params=[
            ("property", f"flowId=={flow['id']}"),
            ("property", "metrics.statusSummary.status==failed"),
        ],
    )
    assert failed.json()["items"] == []
    last = item(api, f"flows/{flow['id']}")["lastRunDetails"]
    assert last["id"] == ref["id"] and last["state"] == "success"
    assert last["completedAtUTC"] >= last["startedAtUTC"]

    # Another run finds nothing new: exactly once.
    again = created(api.post(f"{FS}/runs", json=run_body))["items"][0]["id"]
    rerun = wait_for_run(api, again)
    assert rerun["metrics"]["recordSummary"]["inputRecordCount"] == 0
    assert item(api, f"flows/{flow['id']}")["lastRunDetails"]["id"] == again


# -- source and target connections -------------------------------------------------------------


def test_source_connection_rules(api: httpx.Client, landing: Landing) -> None:
    refused(
        api.post(f"{FS}/sourceConnections", json={**landing.source("x"), "baseConnectionId": "no"}),
        404,
    )
    refused(
        api.post(
            f"{FS}/sourceConnections",
            json={**landing.source("x"), "baseConnectionId": landing.dataset_base_id},
        ),
        400,
        "dataset base connection",
    )
    refused(
        api.post(f"{FS}/sourceConnections", json=landing.source("x", recursive="maybe")),
        400,
        "recursive",
    )
    wrong_format = landing.source("x")
    wrong_format["data"] = {"format": "avro"}
    refused(api.post(f"{FS}/sourceConnections", json=wrong_format), 400, "avro", "delimited")
    plain = created(
        api.post(f"{FS}/sourceConnections", json=landing.source("plain", recursive=False))
    )
    url = f"{FS}/sourceConnections/{plain['id']}"
    patched = api.patch(
        url,
        json=[
            {"op": "replace", "path": "/params/path", "value": "drop/2026"},
            {"op": "replace", "path": "/params/recursive", "value": "true"},
            {"op": "replace", "path": "/name", "value": "renamed"},
        ],
        headers={"If-Match": plain["etag"]},
    )
    assert patched.status_code == 200, patched.text
    shown = item(api, f"sourceConnections/{plain['id']}")
    assert shown["params"] == {"path": "drop/2026", "recursive": True}
    assert shown["name"] == "renamed" and shown["etag"] == patched.json()["etag"] != plain["etag"]
    etag = patched.json()["etag"]
    refused(
        api.patch(
            url,
            json=[{"op": "replace", "path": "/baseConnectionId", "value": "x"}],
            headers={"If-Match": etag},
        ),
        400,
        "/baseConnectionId",
    )
    refused(
        api.patch(
            url,
            json=[{"op": "replace", "path": "/params/path", "value": ""}],
            headers={"If-Match": etag},
        ),
        400,
        "params.path",
    )
    refused(api.patch(url, json=[{"op": "remove", "path": "/name"}]), 400, "If-Match")
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_target_connection_rules(server: Server, api: httpx.Client, landing: Landing) -> None:
    def post(body: dict[str, Any]) -> httpx.Response:
        return api.post(f"{FS}/targetConnections", json=body)

    wrong_spec = landing.target("x", connectionSpec={"id": landing.local_spec_id})
    refused(post(wrong_spec), 400, DATASET_TARGET_SPEC_ID)
    assert post(wrong_spec).json()["report"]["code"] == "LF-1307"
    refused(post(landing.target("x", params={})), 400, "dataSetId")
    other = server.lf.scoped(Scope(ORG, "prod")).schemas.create_schema("Other", PROFILE_CLASS)
    mismatch = landing.target("x", data={"schema": {"id": other["$id"], "version": XED_FULL}})
    refused(post(mismatch), 400, "not the schema of dataset")
    refused(post(landing.target("x", baseConnectionId=landing.base_id)), 400, "dataset base")
    refused(post(landing.target("x", params={"dataSetId": "0" * 24})), 404)
    bare = created(post({**landing.target("bare"), "data": {}, "baseConnectionId": None}))
    shown = item(api, f"targetConnections/{bare['id']}")
    assert shown["data"]["schema"]["id"] == landing.schema_id
    assert "inheritedAttributes" not in shown
    described = api.patch(
        f"{FS}/targetConnections/{bare['id']}",
        json=[{"op": "replace", "path": "/description", "value": "no base"}],
        headers={"If-Match": bare["etag"]},
    )
    assert described.status_code == 200
    assert item(api, f"targetConnections/{bare['id']}")["description"] == "no base"
    refused(
        api.patch(
            f"{FS}/targetConnections/{bare['id']}",
            json=[{"op": "replace", "path": "/params/dataSetId", "value": "x"}],
            headers={"If-Match": described.json()["etag"]},
        ),
        400,
        "cannot be changed",
    )


# -- flows -------------------------------------------------------------------------------------


def test_flow_create_rules(api: httpx.Client, landing: Landing) -> None:
    parts = create_flow(api, landing, "rules")
    body = {
        "name": "x",
        "flowSpec": FLOW_SPEC,
        "sourceConnectionIds": [parts["source"]["id"]],
        "targetConnectionIds": [parts["target"]["id"]],
    }
    refused(api.post(f"{FS}/flows", json={**body, "state": "disabled"}), 400, "state")
    refused(api.post(f"{FS}/flows", json={**body, "flowSpec": {"id": "x"}}), 400, "flow spec")
    refused(api.post(f"{FS}/flows", json={**body, "sourceConnectionIds": []}), 400, "exactly one")
    refused(
        api.post(f"{FS}/flows", json={**body, "scheduleParams": {"frequency": "minute"}}),
        400,
        "interval",
    )
    refused(
        api.post(f"{FS}/flows", json={**body, "options": {"partialIngestionPercent": 0}}),
        400,
        "partialIngestionPercent",
    )
    refused(api.post(f"{FS}/flows", json={**body, "sourceConnectionIds": ["nope"]}), 404)
    assert api.get(f"{FS}/flows/nope").status_code == 404


def test_the_flow_spec_name_is_accepted_as_its_id(api: httpx.Client, landing: Landing) -> None:
    """docs/reference/rest.md: ``flowSpec.id`` may be ``CloudStorageToAEP``; the flow then
    answers the spec's id, as if the id had been sent."""
    flow = create_flow(api, landing, "by spec name", flowSpec={"id": "CloudStorageToAEP"})
    stored = item(api, f"flows/{flow['flow']['id']}")
    assert stored["flowSpec"]["id"] == CLOUD_STORAGE_FLOW_SPEC_ID


def test_flow_patch_and_actions(api: httpx.Client, landing: Landing) -> None:
    flow = create_flow(api, landing, "patched flow")["flow"]
    url = f"{FS}/flows/{flow['id']}"
    changes = [
        {"op": "replace", "path": "/name", "value": "renamed flow"},
        {"op": "replace", "path": "/scheduleParams/frequency", "value": "hour"},
        {"op": "add", "path": "/scheduleParams/interval", "value": "2"},
        {"op": "add", "path": "/options/partialIngestionPercent", "value": 5},
        {"op": "replace", "path": "/transformations", "value": []},
    ]
    refused(api.patch(url, json=changes), 400, "If-Match")
    refused(api.patch(url, json=changes, headers={"If-Match": '"stale"'}), 412)
    patched = api.patch(url, json=changes, headers={"If-Match": flow["etag"]})
    assert patched.status_code == 200, patched.text
    shown = item(api, f"flows/{flow['id']}")
    assert shown["name"] == "renamed flow"
    assert shown["scheduleParams"]["frequency"] == "hour"
    assert shown["scheduleParams"]["interval"] == "2"
    assert shown["scheduleParams"]["backfill"] == "true"
    assert shown["options"] == {"partialIngestionPercent": 5}
    etag = patched.json()["etag"]
    refused(
        api.patch(
            url,
            json=[{"op": "replace", "path": "/scheduleParams/frequency", "value": "x"}],
            headers={"If-Match": etag},
        ),
        400,
        "frequency",
    )
    refused(
        api.patch(
            url,
            json=[{"op": "replace", "path": "/state", "value": "disabled"}],
            headers={"If-Match": etag},
        ),
        400,
        "/state",
    )

    now = str(int(time.time()))
    run = {"flowId": flow["id"], "params": {"startTime": now, "windowEndTime": now}}
    refused(api.post(f"{FS}/runs", json=run), 400, "frequency 'hour'")

    disabled = api.post(f"{url}/action", params={"op": "disable"})
    assert disabled.status_code == 200 and disabled.json()["etag"] != etag
    assert item(api, f"flows/{flow['id']}")["state"] == "disabled"
    refused(api.post(f"{url}/action", params={"op": "disable"}), 400, "already disabled")
    refused(api.post(f"{url}/action", params={"op": "pause"}), 400, "pause")
    enabled = api.post(f"{url}/action", params={"op": "ENABLE"})
    assert enabled.status_code == 200
    assert item(api, f"flows/{flow['id']}")["state"] == "enabled"
    assert api.post(f"{FS}/flows/nope/action", params={"op": "enable"}).status_code == 404


def test_runs_only_for_enabled_once_flows(api: httpx.Client, landing: Landing) -> None:
    flow = create_flow(api, landing, "run rules")["flow"]
    now = int(time.time())
    params = {"startTime": now, "windowStartTime": now, "windowEndTime": now - 10}
    refused(api.post(f"{FS}/runs", json={"flowId": flow["id"], "params": params}), 400, "before")
    bad = {"windowStartTime": "yesterday"}
    refused(api.post(f"{FS}/runs", json={"flowId": flow["id"], "params": bad}), 400, "epoch")
    refused(api.post(f"{FS}/runs", json={"flowId": "nope"}), 404)
    assert api.post(f"{FS}/flows/{flow['id']}/action", params={"op": "disable"}).is_success
    refused(api.post(f"{FS}/runs", json={"flowId": flow["id"]}), 400, "enabled")
    assert api.get(f"{FS}/runs/nope").status_code == 404


# -- deletes and isolation ---------------------------------------------------------------------


def test_deletes_wait_for_the_flows(api: httpx.Client, landing: Landing, tmp_path: Path) -> None:
    base = created(
        api.post(
            f"{FS}/connections",
            json={
                "name": "short-lived",
                "auth": {"specName": "Local Path", "params": {"rootPath": str(tmp_path)}},
                "connectionSpec": {"id": landing.local_spec_id},
            },
        )
    )
    dataset_base = created(
        api.post(
            f"{FS}/connections",
            json={"name": "short-lived lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        )
    )
    source = created(
        api.post(
            f"{FS}/sourceConnections",
            json={**landing.source("short-lived source"), "baseConnectionId": base["id"]},
        )
    )
    target = created(
        api.post(
            f"{FS}/targetConnections",
            json=landing.target("short-lived target", baseConnectionId=dataset_base["id"]),
        )
    )
    flow = created(
        api.post(
            f"{FS}/flows",
            json={
                "name": "short-lived flow",
                "flowSpec": FLOW_SPEC,
                "sourceConnectionIds": [source["id"]],
                "targetConnectionIds": [target["id"]],
            },
        )
    )
    in_use = [
        f"connections/{base['id']}",
        f"connections/{dataset_base['id']}",
        f"sourceConnections/{source['id']}",
        f"targetConnections/{target['id']}",
    ]
    for path in in_use:
        response = api.delete(f"{FS}/{path}")
        refused(response, 400, "short-lived flow")
        assert response.json()["report"]["code"] == "LF-1418"
    assert api.delete(f"{FS}/flows/{flow['id']}").status_code == 204
    assert api.get(f"{FS}/flows/{flow['id']}").status_code == 404
    for path in reversed(in_use):
        assert api.delete(f"{FS}/{path}").status_code == 204, path
        assert api.get(f"{FS}/{path}").status_code == 404


def test_other_sandboxes_and_orgs_see_nothing(
    server: Server, api: httpx.Client, landing: Landing
) -> None:
    parts = create_flow(api, landing, "private")
    with contextlib.suppress(NameTaken):  # another test may have made it
        server.lf.auth.create_sandbox(ORG, "dev")
    paths = [
        f"flows/{parts['flow']['id']}",
        f"sourceConnections/{parts['source']['id']}",
        f"targetConnections/{parts['target']['id']}",
        f"connections/{landing.base_id}",
    ]
    with server.client(sandbox="dev") as dev, server.client(org="OTHER0001@AdobeOrg") as other:
        for client in (dev, other):
            for path in paths:
                assert client.get(f"{FS}/{path}").status_code == 404, path
                assert client.delete(f"{FS}/{path}").status_code == 404, path
            for listing in ("flows", "sourceConnections", "targetConnections", "runs"):
                assert client.get(f"{FS}/{listing}").json()["items"] == []
            run = {"flowId": parts["flow"]["id"]}
            assert client.post(f"{FS}/runs", json=run).status_code == 404
            action = client.post(f"{FS}/flows/{parts['flow']['id']}/action?op=disable")
            assert action.status_code == 404
            source = {**landing.source("stolen"), "baseConnectionId": landing.base_id}
            assert client.post(f"{FS}/sourceConnections", json=source).status_code == 404
    assert item(api, paths[0])["state"] == "enabled"


def test_lists_of_flows_and_connections(api: httpx.Client, landing: Landing) -> None:
    parts = create_flow(api, landing, "listed")
    flows = api.get(f"{FS}/flows", params={"property": "name==listed"}).json()["items"]
    assert [f["id"] for f in flows] == [parts["flow"]["id"]]
    assert flows[0]["inheritedAttributes"]["sourceConnections"][0]["id"] == parts["source"]["id"]
    by_source = api.get(
        f"{FS}/flows", params={"property": f"sourceConnectionIds[]=={parts['source']['id']}"}
    )
    assert [f["id"] for f in by_source.json()["items"]] == [parts["flow"]["id"]]
    sources = api.get(
        f"{FS}/sourceConnections", params={"property": f"baseConnectionId=={landing.base_id}"}
    ).json()["items"]
    assert parts["source"]["id"] in [s["id"] for s in sources]
    targets = api.get(
        f"{FS}/targetConnections",
        params={"property": f"params.dataSetId=={landing.dataset_id}", "count": "true"},
    ).json()
    assert targets["count"] >= 1


# -- schedules, run now, re-trigger, backlog, /metrics -----------------------------------------


def post_flow(api: httpx.Client, landing: Landing, name: str, schedule: Any) -> httpx.Response:
    source = created(api.post(f"{FS}/sourceConnections", json=landing.source(f"{name} source")))
    target = created(api.post(f"{FS}/targetConnections", json=landing.target(f"{name} target")))
    body = {"name": name, "flowSpec": FLOW_SPEC, "sourceConnectionIds": [source["id"]],
            "targetConnectionIds": [target["id"]], "scheduleParams": schedule}  # fmt: skip
    return api.post(f"{FS}/flows", json=body)


def flow_type(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"].endswith(f"FLOW-{code}-{status}"), response.json()


def test_schedule_rules_answer_their_flow_service_codes(
    api: httpx.Client, landing: Landing
) -> None:
    past = {"startTime": str(int(time.time()) - 3600), "frequency": "once"}
    flow_type(post_flow(api, landing, "sched rules", past), 400, 1360)
    minute = {"startTime": int(time.time()), "frequency": "minute", "interval": "5"}
    flow_type(post_flow(api, landing, "sched rules 2", minute), 400, 1362)
    hourly = {"startTime": int(time.time()), "frequency": "hour", "interval": 1}
    flow = create_flow(api, landing, "sched rules 3", scheduleParams=hourly)["flow"]
    time.sleep(1.1)  # the start has passed: no switch to once, no backfill change
    url = f"{FS}/flows/{flow['id']}"
    etag = item(api, f"flows/{flow['id']}")["etag"]
    for op, code in (
        ({"op": "replace", "path": "/scheduleParams/frequency", "value": "once"}, 1366),
        ({"op": "add", "path": "/scheduleParams/backfill", "value": "false"}, 1366),
    ):
        flow_type(api.patch(url, json=[op], headers={"If-Match": etag}), 400, code)
    # A once flow whose start has passed may become recurring (the tutorial's next step).
    once = create_flow(api, landing, "sched rules 4")["flow"]
    once_url = f"{FS}/flows/{once['id']}"
    recurring = [
        {"op": "replace", "path": "/scheduleParams/frequency", "value": "hour"},
        {"op": "add", "path": "/scheduleParams/interval", "value": "1"},
    ]
    etag = item(api, f"flows/{once['id']}")["etag"]
    assert api.patch(once_url, json=recurring, headers={"If-Match": etag}).status_code == 200
    shown = item(api, f"flows/{once['id']}")["scheduleParams"]
    assert (shown["frequency"], shown["interval"], shown["backfill"]) == ("hour", "1", "true")


def test_on_demand_runs_refuse_with_their_codes(api: httpx.Client, landing: Landing) -> None:
    hourly = {"startTime": int(time.time()) + 600, "frequency": "hour", "interval": 1}
    scheduled = create_flow(api, landing, "codes hourly", scheduleParams=hourly)["flow"]
    flow_type(api.post(f"{FS}/runs", json={"flowId": scheduled["id"]}), 400, 1386)
    once = create_flow(api, landing, "codes once")["flow"]
    window = {"windowStartTime": 100, "windowEndTime": 50}
    flow_type(api.post(f"{FS}/runs", json={"flowId": once["id"], "params": window}), 400, 1381)
    huge = {"windowEndTime": 10**15}  # milliseconds sent as seconds
    flow_type(api.post(f"{FS}/runs", json={"flowId": once["id"], "params": huge}), 400, 1384)
    assert api.post(f"{FS}/flows/{once['id']}/action", params={"op": "disable"}).is_success
    flow_type(api.post(f"{FS}/runs", json={"flowId": once["id"]}), 400, 1388)
    flow_type(api.post(f"{FS}/flows/{once['id']}/runs"), 400, 1388)


def test_an_on_demand_window_takes_only_the_files_modified_in_it(
    api: httpx.Client, landing: Landing
) -> None:
    once = create_flow(api, landing, "old window")["flow"]
    window = {"startTime": int(time.time()), "windowStartTime": 0, "windowEndTime": 1_000_000}
    ref = created(api.post(f"{FS}/runs", json={"flowId": once["id"], "params": window}))
    run = wait_for_run(api, ref["items"][0]["id"])
    assert run["metrics"]["fileSummary"]["inputFileCount"] == 0
    assert run["metrics"]["fileSummary"]["skippedFileCount"] == 2
    assert run["params"]["windowEndTime"] == "1000000"


def test_run_now_retrigger_and_backlog(api: httpx.Client, landing: Landing) -> None:
    hourly = {"startTime": int(time.time()) + 600, "frequency": "hour", "interval": 1}
    flow = create_flow(api, landing, "run now", scheduleParams=hourly)["flow"]
    url = f"{FS}/flows/{flow['id']}"
    never = api.get(f"{url}/backlog").json()["items"][0]
    assert never["files"] is None and never["observedAt"] is None
    listed = api.get(f"{url}/backlog", params={"refresh": "true"}).json()["items"][0]
    assert listed["files"] == 2 and listed["bytes"] > 0 and listed["oldestAgeMs"] >= 0
    files = list((landing.root / "drop").rglob("*.parquet"))
    assert listed["bytes"] == sum(f.stat().st_size for f in files)
    oldest = min(f.stat().st_mtime for f in files) * 1000
    assert abs(listed["oldestModifiedAt"] - oldest) <= 1
    assert listed["oldestAgeMs"] <= listed["observedAt"] - listed["oldestModifiedAt"] + 1000

    first = wait_for_run(api, created(api.post(f"{url}/runs"))["items"][0]["id"])
    assert first["metrics"]["statusSummary"]["status"] == "failed"  # a bad row, no partial
    flow_type(api.post(f"{FS}/runs/{first['id']}/action", params={"op": "PAUSE"}), 400, 1001)
    again = api.post(f"{FS}/runs/{first['id']}/action", params={"op": "RE_TRIGGER"})
    assert again.status_code == 200, again.text
    rerun = wait_for_run(api, again.json()["items"][0]["id"])
    assert rerun["params"]["retriggerOf"] == first["id"]
    assert rerun["metrics"]["fileSummary"]["inputFileCount"] == 2  # nothing was committed
    after = api.get(f"{url}/backlog").json()["items"][0]
    assert after["files"] == 2  # the batch failed: both files still wait

    assert api.post(f"{url}/action", params={"op": "disable"}).is_success
    flow_type(api.post(f"{FS}/runs/{rerun['id']}/action", params={"op": "RE_TRIGGER"}), 400, 1388)
    assert api.post(f"{url}/action", params={"op": "enable"}).is_success
    once = create_flow(api, landing, "run now once")["flow"]
    fine = {"startTime": int(time.time()), "windowStartTime": 0, "windowEndTime": 1_000_000}
    started = created(api.post(f"{FS}/runs", json={"flowId": once["id"], "params": fine}))
    ok = wait_for_run(api, started["items"][0]["id"])
    assert ok["metrics"]["statusSummary"]["status"] == "success"
    flow_type(api.post(f"{FS}/runs/{ok['id']}/action", params={"op": "RE_TRIGGER"}), 400, 1387)


def test_metrics_are_prometheus_text_without_credentials(
    server: Server, api: httpx.Client, landing: Landing
) -> None:
    flow = create_flow(api, landing, "metrics")["flow"]
    api.get(f"{FS}/flows/{flow['id']}/backlog", params={"refresh": "true"})
    response = httpx.get(f"{server.url}/metrics")  # no Platform headers
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE lakefeed_flow_backlog_files gauge" in text
    line = next(
        line for line in text.splitlines()
        if line.startswith("lakefeed_flow_backlog_files{") and flow["id"] in line
    )  # fmt: skip
    assert line.endswith(" 2") and 'flow="metrics"' in line
    assert "lakefeed_runs_total{" in text and 'status="success"' in text
    assert "secret" not in text.lower() and str(landing.root) not in text


def test_an_on_demand_run_for_later_is_scheduled(api: httpx.Client, landing: Landing) -> None:
    once = create_flow(api, landing, "later")["flow"]
    later = int(time.time()) + 3600
    body = {"flowId": once["id"], "params": {"startTime": later, "windowStartTime": 0,
                                             "windowEndTime": later}}  # fmt: skip
    ref = created(api.post(f"{FS}/runs", json=body))["items"][0]
    run = item(api, f"runs/{ref['id']}")
    assert run["state"] == "scheduled"
    assert run["metrics"]["statusSummary"]["status"] == "scheduled"
    assert run["params"]["startTime"] == str(later)
