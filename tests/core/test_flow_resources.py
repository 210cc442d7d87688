"""Source connections, target connections, flows and datasets: what fits together and what
is refused, with errors that name the part that does not fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.datasets.iceberg import SYSTEM_COLUMN
from lakefeed.errors import (
    ConnectionNotFound,
    InvalidFlow,
    InvalidRequest,
    NameTaken,
    ResourceNotFound,
    SchemaNotFound,
)
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID, DATASET_TARGET_SPEC_ID
from lakefeed.testing.profiles import PROFILE_CLASS, create_profile_schema

S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


@pytest.fixture
def parts(lf: Lakefeed, tmp_path: Path) -> dict[str, str]:
    connection = lf.create_connection("raw", "local-files", None, {"rootPath": str(tmp_path)})
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create("profiles", schema["$id"])
    return {"connection": connection.id, "schema": schema["$id"], "dataset": dataset.id}


def test_dataset_table_has_the_schema_and_the_lineage_column(lf: Lakefeed, parts: dict) -> None:
    dataset = lf.datasets.get("profiles")
    table = lf.datasets.table(dataset)
    names = [f.name for f in table.schema().fields]
    assert names[-1] == SYSTEM_COLUMN
    assert {"_id", "person", "identityMap", "_local"} <= set(names)
    loyalty = table.schema().find_field("_local.loyalty.loyaltyId")
    assert loyalty.required  # `required` in the field group becomes a required Iceberg field
    assert not table.schema().find_field("person.gender").required
    shape = dataset.to_dict()
    assert shape["schemaRef"]["id"] == parts["schema"]
    assert shape["files"] == f"@/dataSetFiles?dataSetId={dataset.id}"
    assert len(dataset.id) == 24


def test_dataset_errors(lf: Lakefeed, parts: dict) -> None:
    with pytest.raises(NameTaken, match="profiles"):
        lf.datasets.create("profiles", parts["schema"])
    with pytest.raises(SchemaNotFound):
        lf.datasets.create("other", "https://ns.adobe.com/local/schemas/nope")
    with pytest.raises(ResourceNotFound, match="lakefeed datasets list"):
        lf.datasets.get("nope")


def test_source_connection_validation(lf: Lakefeed, parts: dict) -> None:
    flows = lf.flows
    with pytest.raises(ConnectionNotFound):
        flows.create_source_connection(name="s", base_connection_id="nope", path="x")
    with pytest.raises(InvalidFlow, match=r"connectionSpec\.id"):
        flows.create_source_connection(
            name="s", base_connection_id=parts["connection"], path="x", connection_spec_id=S3_SPEC
        )
    with pytest.raises(InvalidFlow, match="avro"):
        flows.create_source_connection(
            name="s", base_connection_id=parts["connection"], path="x", data_format="avro"
        )
    with pytest.raises(InvalidRequest, match=r"params\.path"):
        flows.create_source_connection(name="s", base_connection_id=parts["connection"], path="")
    with pytest.raises(InvalidRequest, match="recursive"):
        flows.create_source_connection(
            name="s", base_connection_id=parts["connection"], path="x", recursive="yes"
        )
    ok = flows.create_source_connection(
        name="s", base_connection_id=parts["connection"], path="x/*.parquet", recursive="true"
    )
    shape = ok.to_dict()
    assert shape["params"] == {"path": "x/*.parquet", "recursive": True}
    assert shape["data"] == {"format": "parquet"}
    assert shape["baseConnectionId"] == parts["connection"]


def test_target_connection_validation(lf: Lakefeed, parts: dict) -> None:
    flows = lf.flows
    with pytest.raises(InvalidFlow, match=DATASET_TARGET_SPEC_ID):
        flows.create_target_connection(
            name="t", dataset_id=parts["dataset"], connection_spec_id=S3_SPEC
        )
    with pytest.raises(InvalidFlow, match="dataSetId"):
        flows.create_target_connection(name="t", dataset_id="")
    with pytest.raises(ResourceNotFound):
        flows.create_target_connection(name="t", dataset_id="0" * 24)
    other = lf.schemas.create_schema("Other", PROFILE_CLASS)
    with pytest.raises(InvalidFlow, match="not the schema of dataset"):
        flows.create_target_connection(
            name="t", dataset_id=parts["dataset"], schema_id=other["$id"]
        )
    target = flows.create_target_connection(name="t", dataset_id=parts["dataset"])
    assert target.to_dict()["params"] == {"dataSetId": parts["dataset"]}
    assert target.to_dict()["data"]["schema"]["id"] == parts["schema"]


def test_flow_validation_and_shape(lf: Lakefeed, parts: dict) -> None:
    flows = lf.flows
    other = lf.schemas.create_schema("Other", PROFILE_CLASS)
    source = flows.create_source_connection(
        name="s", base_connection_id=parts["connection"], path="x", data_format="parquet_xdm",
        schema_id=other["$id"],
    )  # fmt: skip
    good_source = flows.create_source_connection(
        name="s2", base_connection_id=parts["connection"], path="x"
    )
    target = flows.create_target_connection(name="t", dataset_id=parts["dataset"])
    with pytest.raises(InvalidFlow, match="Unknown flow spec"):
        flows.create_flow(
            name="f", source_connection_ids=[good_source.id], target_connection_ids=[target.id],
            flow_spec_id=S3_SPEC,
        )  # fmt: skip
    with pytest.raises(InvalidFlow, match="exactly one"):
        flows.create_flow(name="f", source_connection_ids=[], target_connection_ids=[target.id])
    with pytest.raises(InvalidFlow, match="schema"):
        flows.create_flow(
            name="f", source_connection_ids=[source.id], target_connection_ids=[target.id]
        )
    with pytest.raises(ResourceNotFound):
        flows.create_flow(name="f", source_connection_ids=["x"], target_connection_ids=[target.id])
    for schedule, message in [
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": "once", "interval": 5}, "interval"),
        ({"frequency": "once", "backfill": False}, "backfill"),
        ({"frequency": "minute"}, "interval is required"),
        ({"frequency": "day", "interval": "x"}, "whole number"),
    ]:
        with pytest.raises((InvalidFlow, InvalidRequest), match=message):
            flows.create_flow(
                name="f", source_connection_ids=[good_source.id],
                target_connection_ids=[target.id], schedule=schedule,
            )  # fmt: skip
    for options in ({"partialIngestionPercent": 0}, {"partialIngestionPercent": "lots"}, {"x": 1}):
        with pytest.raises(InvalidRequest):
            flows.create_flow(
                name="f", source_connection_ids=[good_source.id],
                target_connection_ids=[target.id], options=options,
            )  # fmt: skip
    flow = flows.create_flow(
        name="f",
        source_connection_ids=[good_source.id],
        target_connection_ids=[target.id],
        schedule={"startTime": "1900000000", "frequency": "minute", "interval": "30",
                  "backfill": "false"},
        options={"partialIngestionPercent": "5"},
    )  # fmt: skip
    shape = flow.to_dict()
    assert shape["flowSpec"] == {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"}
    assert shape["scheduleParams"] == {
        "startTime": "1900000000", "frequency": "minute", "interval": "30", "backfill": "false"
    }  # fmt: skip
    assert shape["options"] == {"partialIngestionPercent": 5.0}
    assert shape["state"] == "enabled"
    assert shape["runs"] == f"/runs?property=flowId=={flow.id}"
    assert flow.error_diagnostics  # forced on by partial ingestion


def test_resources_are_invisible_from_another_sandbox(lf: Lakefeed, parts: dict) -> None:
    from lakefeed.catalog.records import Scope

    other = Lakefeed(home=lf.home, scope=Scope("local", "dev"))
    with pytest.raises(ResourceNotFound):
        other.datasets.get(parts["dataset"])
    with pytest.raises(ConnectionNotFound):
        other.connection(parts["connection"])
    assert other.datasets.list() == []


def test_a_connection_a_flow_reads_or_writes_through_is_not_deleted(
    lf: Lakefeed, parts: dict
) -> None:
    from lakefeed.errors import ResourceInUse

    lake = lf.connections.create_dataset_base_connection(name="lake")
    source = lf.flows.create_source_connection(
        name="s", base_connection_id=parts["connection"], path=".", data_format="parquet_xdm"
    )
    target = lf.flows.create_target_connection(
        name="t", dataset_id=parts["dataset"], base_connection_id=lake.id
    )
    lf.flows.create_flow(
        name="f", source_connection_ids=[source.id], target_connection_ids=[target.id]
    )
    for connection in (parts["connection"], lake.id):  # read through, written through
        with pytest.raises(ResourceInUse, match="'f'"):
            lf.delete_connection(connection)
    lf.delete_flow("f")
    lf.delete_connection(lake.id)
