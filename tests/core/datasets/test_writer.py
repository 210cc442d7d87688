"""``SourceWriter`` and ``BatchWriter``: data files per source file, rolled by size, dropped
whole, committed once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pyarrow as pa
import pytest

from lakefeed.config import Settings
from lakefeed.datasets import writer as writer_module
from lakefeed.datasets.iceberg import (
    BATCH_PROPERTY,
    RUN_PROPERTY,
    open_catalog,
    snapshot_for_batch,
    table_schema,
)
from lakefeed.datasets.writer import BatchWriter, SourceWriter

TARGET = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])


def rows(start: int, count: int) -> pa.Table:
    lineage = {
        "source_file": "f",
        "source_row": 0,
        "batch_id": "b",
        "ingested_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return pa.Table.from_pylist(
        [{"id": i, "name": f"n{i}", "_lakefeed": lineage} for i in range(start, start + count)],
        schema=table_schema(TARGET),
    )


def source(writer: BatchWriter, present: set[int] | None = None) -> SourceWriter:
    """The next source file of ``writer``'s batch."""
    return SourceWriter(writer.target, writer.next_index(), present)


def kept(writer: BatchWriter, source: SourceWriter) -> None:
    """Finish ``source`` and add its data files to the batch."""
    writer.keep(source.finish(), rows=source.rows, size=source.bytes_written)


def files_under(prefix: str) -> list[str]:
    fs, root = fsspec.core.url_to_fs(prefix)
    return sorted(fs.find(root)) if fs.exists(root) else []


@pytest.fixture
def table(tmp_path: Path) -> object:
    catalog = open_catalog(Settings.load(tmp_path / "home"))
    catalog.create_namespace("ns")
    return catalog.create_table("ns.t", schema=table_schema(TARGET))


def test_rolls_files_discards_a_failed_source_and_commits_once(
    table: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "TARGET_FILE_BYTES", 1)  # every write ends a file
    prefix = f"{table.location()}/data/lakefeed-batch-b1"  # type: ignore[attr-defined]
    writer = BatchWriter(table, batch_id="b1", run_id="r1", data_prefix=prefix)
    first = source(writer)
    for start in (0, 10, 20):
        first.write(rows(start, 10))
    kept(writer, first)
    second = source(writer)
    second.write(rows(100, 5))
    second.write(rows(105, 5))
    second.discard()  # the second source failed half-way
    assert len(files_under(prefix)) == 3

    snapshot_id = writer.commit()

    assert writer.rows == 30 and len(writer.data_files) == 3
    scanned = table.scan().to_arrow()  # type: ignore[attr-defined]
    assert sorted(scanned.column("id").to_pylist()) == list(range(30))
    snapshot = snapshot_for_batch(table, "b1")
    assert snapshot is not None and snapshot.snapshot_id == snapshot_id
    assert snapshot.summary.get(RUN_PROPERTY) == "r1"
    assert snapshot.summary.get(BATCH_PROPERTY) == "b1"


def test_abort_leaves_nothing(table: object) -> None:
    prefix = f"{table.location()}/data/lakefeed-batch-b2"  # type: ignore[attr-defined]
    writer = BatchWriter(table, batch_id="b2", run_id="r2", data_prefix=prefix)
    written = source(writer)
    written.write(rows(0, 10))
    written.finish()  # on storage, never kept in the batch
    assert files_under(prefix)
    writer.abort()
    assert files_under(prefix) == []
    assert table.current_snapshot() is None  # type: ignore[attr-defined]


def test_data_files_carry_column_statistics_that_prune_scans(table: object) -> None:
    """The statistics plan is computed once per batch (not per file) and still lands in every
    data file: a scan for one source's ids plans only that source's file."""
    prefix = f"{table.location()}/data/b2"  # type: ignore[attr-defined]
    writer = BatchWriter(table, batch_id="b2", run_id="r2", data_prefix=prefix)
    for start in (0, 1000, 2000):
        each = source(writer)
        each.write(rows(start, 10))
        kept(writer, each)
    writer.commit()
    (data_file,) = [f for f in writer.data_files if "/000002-000-" in f.file_path]
    assert data_file.record_count == 10 and data_file.value_counts
    scan = table.scan(row_filter="id >= 1000 and id < 1010")  # type: ignore[attr-defined]
    planned = list(scan.plan_files())
    assert [task.file.file_path for task in planned] == [data_file.file_path]


def test_a_sources_data_files_hold_only_its_columns(table: object) -> None:
    import pyarrow.parquet as pq

    from lakefeed.datasets.writer import present_leaf_ids

    schema = table.schema()  # type: ignore[attr-defined]
    file_schema = pa.schema([pa.field("id", pa.int64())])  # the source has no "name" column
    present = present_leaf_ids(schema, file_schema)
    assert present == {schema.find_field("id").field_id}
    prefix = f"{table.location()}/data/b3"  # type: ignore[attr-defined]
    writer = BatchWriter(table, batch_id="b3", run_id="r3", data_prefix=prefix)
    only_ids = source(writer, present)
    only_ids.write(rows(0, 5).set_column(1, "name", pa.nulls(5, pa.string())))
    kept(writer, only_ids)
    writer.commit()
    (data_file,) = writer.data_files
    fs, path = fsspec.core.url_to_fs(data_file.file_path)
    with fs.open(path, "rb") as handle:
        assert pq.read_schema(handle).names == ["id", "_lakefeed"]
    read = table.scan().to_arrow()  # type: ignore[attr-defined]
    assert read.column("name").to_pylist() == [None] * 5  # a column the file lacks: null
    assert sorted(read.column("id").to_pylist()) == [0, 1, 2, 3, 4]


def test_present_leaf_ids_follow_structs_lists_and_maps_by_name() -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import (
        ListType,
        LongType,
        MapType,
        NestedField,
        StringType,
        StructType,
    )

    from lakefeed.datasets.writer import leaf_ids, present_leaf_ids

    def opt(id: int, name: str, kind: object) -> NestedField:
        return NestedField(id, name, kind, required=False)  # type: ignore[arg-type]

    schema = Schema(
        opt(1, "id", LongType()),
        opt(2, "person", StructType(opt(3, "first", StringType()), opt(4, "middle", StringType()))),
        opt(5, "emails", ListType(6, StructType(opt(7, "address", StringType()),
                                                opt(8, "primary", LongType())),
                                  element_required=False)),
        opt(9, "tags", ListType(10, StringType(), element_required=False)),
        opt(11, "ids", MapType(12, StringType(), 13, StructType(opt(14, "id", StringType()),
                                                                opt(15, "primary", LongType())),
                               value_required=False)),
    )  # fmt: skip
    file_schema = pa.schema([
        pa.field("person", pa.struct([pa.field("first", pa.string())])),
        pa.field("emails", pa.list_(pa.struct([pa.field("address", pa.string())]))),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("ids", pa.map_(pa.string(), pa.struct([pa.field("id", pa.string())]))),
        pa.field("unknown", pa.int64()),
    ])  # fmt: skip
    assert present_leaf_ids(schema, file_schema) == {3, 7, 10, 12, 14}
    assert leaf_ids(schema.as_struct()) == {1, 3, 4, 7, 8, 10, 12, 14, 15}
