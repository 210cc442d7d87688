"""``Lakefeed.ingest``: the one-shot chain a terminal user runs, again and again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed import Lakefeed
from lakefeed.config import Settings
from lakefeed.errors import (
    ConnectionNotFound,
    DatasetError,
    InvalidRequest,
    InvalidSchema,
    ReservedColumnName,
)
from lakefeed.testing.profiles import PROFILE_CLASS, create_profile_schema, profile_table


def plain(rows: int, start: int) -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array(range(start, start + rows), pa.int64()),
            "amount": pa.array([1.5] * rows),
            "placed_at": pa.array([None] * rows, pa.timestamp("ms")),
        }
    )


def test_infer_then_only_new_files(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    landing = tmp_path / "landing"
    (landing / "day=1").mkdir(parents=True)
    pq.write_table(plain(10, 0), landing / "day=1" / "a.parquet")

    first = lf.ingest(str(landing), ".", dataset="orders", infer=True, recursive=True)
    assert first.status == "success"
    assert first.metrics["recordSummary"]["outputRecordCount"] == 10
    schema = lf.schemas.get(lf.datasets.get("orders").schema_id)
    assert schema["meta:resourceType"] == "schemas"

    again = lf.ingest(str(landing), ".", dataset="orders", infer=True, recursive=True)
    assert again.metrics["fileSummary"]["inputFileCount"] == 0

    pq.write_table(plain(5, 10), landing / "day=1" / "b.parquet")
    third = lf.ingest(f"file://{landing}", str(landing), dataset="orders", recursive=True)
    assert third.metrics["fileSummary"]["inputFileCount"] == 1
    rows = lf.datasets.read(lf.datasets.get("orders"))
    assert sorted(rows.column("order_id").to_pylist()) == list(range(15))
    assert len(lf.flows.list_flows()) == 1  # the same flow every time
    assert [c.name for c in lf.connections.list()] == [f"local:{landing}"]


def test_ingest_with_a_registry_schema_and_partial_ingestion(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    landing = tmp_path / "landing"
    landing.mkdir()
    pq.write_table(profile_table(100, bad={5: "email"}), landing / "p.parquet")
    connection = lf.create_connection("landing", "local-files", None, {"rootPath": str(landing)})
    schema = create_profile_schema(lf.schemas)

    run = lf.ingest(
        connection.name, "p.parquet", dataset="p", schema=schema["meta:altId"],
        partial_ingestion_percent=5,
    )  # fmt: skip

    assert run.status == "success"
    assert run.metrics["recordSummary"]["failedRecordCount"] == 1
    other = lf.schemas.create_schema("Other", PROFILE_CLASS)
    with pytest.raises(InvalidSchema, match="exists with schema"):
        lf.ingest(connection.name, "p.parquet", dataset="p", schema=other["$id"])


def test_ingest_errors_say_what_to_do(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    with pytest.raises(ConnectionNotFound, match="connections create"):
        lf.ingest("s3://bucket/x", ".", dataset="d", infer=True)
    with pytest.raises(InvalidRequest, match="--infer"):
        lf.ingest(str(tmp_path), ".", dataset="d")
    with pytest.raises(InvalidSchema, match="No readable Parquet"):
        lf.ingest(str(tmp_path), ".", dataset="d", infer=True)


def test_resources_in_use_cannot_be_deleted(tmp_path: Path) -> None:
    from lakefeed.errors import ResourceInUse

    lf = Lakefeed(home=tmp_path / "home")
    pq.write_table(plain(3, 0), tmp_path / "a.parquet")
    lf.ingest(str(tmp_path), "a.parquet", dataset="orders", infer=True)
    (flow,) = lf.flows.list_flows()
    with pytest.raises(ResourceInUse, match=flow.name):
        lf.delete_connection(f"local:{tmp_path}")
    with pytest.raises(ResourceInUse, match=flow.name):
        lf.delete_dataset("orders")
    lf.delete_flow(flow.id)
    assert lf.ledger.entries(flow.id) == []
    lf.delete_connection(f"local:{tmp_path}")
    lf.delete_dataset("orders")
    assert lf.datasets.list() == []


def leftovers(lf: Lakefeed) -> dict[str, list[str]]:
    """What the registry, the Catalog and the Iceberg catalog hold in the default sandbox."""
    return {
        "schemas": [d["title"] for d in lf.schemas.list("schemas")],
        "classes": [d["title"] for d in lf.schemas.list("classes")],
        "datasets": [d.name for d in lf.datasets.list()],
        "tables": [
            ".".join(identifier)
            for namespace in lf.iceberg_catalog().list_namespaces()
            for identifier in lf.iceberg_catalog().list_tables(namespace)
        ],
    }


def test_a_source_column_named_like_the_lineage_column_is_refused_up_front(
    tmp_path: Path,
) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    landing = tmp_path / "landing"
    landing.mkdir()
    pq.write_table(plain(3, 0).append_column("_lakefeed", pa.array(["x"] * 3)), landing / "a.pq")
    with pytest.raises(ReservedColumnName) as refused:
        lf.ingest(str(landing), "a.pq", dataset="orders", infer=True)
    assert refused.value.code == "LF-1203"
    assert "'_lakefeed'" in refused.value.message and "Rename" in str(refused.value.fix)
    assert "writable" not in str(refused.value)
    assert leftovers(lf) == {"schemas": [], "classes": [], "datasets": [], "tables": []}


def test_a_dataset_that_cannot_be_created_leaves_no_inferred_schema_behind(
    tmp_path: Path,
) -> None:
    """The warehouse is under a regular file, so the table cannot be created after the
    schema was inferred and registered: the schema and its class go too."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = dataclasses.replace(
        Settings.load(tmp_path / "home"), warehouse=(blocker / "warehouse").as_uri()
    )
    lf = Lakefeed(settings=settings)
    landing = tmp_path / "landing"
    landing.mkdir()
    pq.write_table(plain(3, 0), landing / "a.parquet")
    with pytest.raises(DatasetError):
        lf.ingest(str(landing), "a.parquet", dataset="orders", infer=True)
    assert lf.schemas.list("schemas") == [] and lf.schemas.list("classes") == []
    assert lf.datasets.list() == []


def test_a_registry_schema_with_the_lineage_column_makes_no_dataset(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    schema = lf.schemas.create_inferred_schema("clash", {"_lakefeed": {"type": "string"}})
    with pytest.raises(ReservedColumnName, match="'_lakefeed'"):
        lf.datasets.create("clash", schema["$id"])
    assert leftovers(lf)["datasets"] == [] and leftovers(lf)["tables"] == []
