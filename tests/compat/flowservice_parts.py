"""Flow Service resources for the compatibility suite, made over HTTP as a client makes them
(the schema and the dataset come from the engine: other modules test those routes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from api_support import ORG, Server
from lakefeed.catalog.records import Scope
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import create_profile_schema, profile_table

FS = "/data/foundation/flowservice"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an answer that must have ``status`` (None for an empty body)."""
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error_code(response: httpx.Response, status: int) -> str:
    """The lakefeed error code of an error answer that must have ``status``."""
    assert response.status_code == status, response.text
    return str(response.json()["report"]["code"])


def local_connection(spec_id: str, root: Path, name: str, **extra: Any) -> dict[str, Any]:
    """The body of ``POST /connections`` for a local-files connection on ``root``."""
    return {
        "name": name,
        "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
        "connectionSpec": {"id": spec_id, "version": "1.0"},
        **extra,
    }


@dataclass
class Pipeline:
    """A landing folder and one of each Flow Service resource over it."""

    root: Path
    local_spec_id: str
    schema_id: str
    dataset_id: str
    base_id: str
    dataset_base_id: str
    source_id: str
    target_id: str
    flow_id: str

    def create_flow(self, sdk: httpx.Client, name: str) -> str:
        """Another flow (with its own source and target connections); its id."""
        data = {"format": "parquet_xdm", "schema": {"id": self.schema_id, "version": XED_FULL}}
        source = ok(
            sdk.post(
                f"{FS}/sourceConnections",
                json={
                    "name": f"{name} source",
                    "baseConnectionId": self.base_id,
                    "data": data,
                    "params": {"path": "drop"},
                    "connectionSpec": {"id": self.local_spec_id, "version": "1.0"},
                },
            ),
            201,
        )
        target = ok(
            sdk.post(
                f"{FS}/targetConnections",
                json={
                    "name": f"{name} target",
                    "baseConnectionId": self.dataset_base_id,
                    "data": data,
                    "params": {"dataSetId": self.dataset_id},
                    "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
                },
            ),
            201,
        )
        flow = ok(
            sdk.post(
                f"{FS}/flows",
                json={
                    "name": name,
                    "flowSpec": {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"},
                    "sourceConnectionIds": [source["id"]],
                    "targetConnectionIds": [target["id"]],
                    "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
                },
            ),
            201,
        )
        return str(flow["id"])


def build_pipeline(server: Server, sdk: httpx.Client, root: Path) -> Pipeline:
    """A landing folder at ``root`` with one Parquet file, and a flow from it to a dataset."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    (root / "drop").mkdir()
    pq.write_table(profile_table(5, tenant_id=lf.schemas.tenant_id), root / "drop" / "a.parquet")
    schema = create_profile_schema(lf.schemas, title=f"Profiles of {root.name}")
    dataset = lf.datasets.create(f"profiles of {root.name}", schema["$id"])
    specs = ok(sdk.get(f"{FS}/connectionSpecs", params={"property": "name==local-files"}))
    local_spec_id = specs["items"][0]["id"]
    base = ok(
        sdk.post(f"{FS}/connections", json=local_connection(local_spec_id, root, "landing")), 201
    )
    dataset_base = ok(
        sdk.post(
            f"{FS}/connections",
            json={"name": "data lake", "connectionSpec": {"id": DATASET_TARGET_SPEC_ID}},
        ),
        201,
    )
    pipeline = Pipeline(
        root, local_spec_id, schema["$id"], dataset.id, base["id"], dataset_base["id"], "", "", ""
    )
    pipeline.flow_id = pipeline.create_flow(sdk, "compat flow")
    (flow,) = ok(sdk.get(f"{FS}/flows/{pipeline.flow_id}"))["items"]
    pipeline.source_id = flow["sourceConnectionIds"][0]
    pipeline.target_id = flow["targetConnectionIds"][0]
    return pipeline
