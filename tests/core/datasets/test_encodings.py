"""Dictionary encoding only where values repeat: the choice per leaf column (structs, lists,
maps by their Parquet paths), and the data files a ``SourceWriter`` writes following it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakefeed.config import Settings
from lakefeed.datasets.encodings import dictionary_columns
from lakefeed.datasets.iceberg import open_catalog, table_schema
from lakefeed.datasets.writer import BatchWriter, SourceWriter


def test_columns_whose_values_repeat_are_chosen_by_their_parquet_paths() -> None:
    n = 100
    data = pa.table(
        {
            "id": [f"u{i}" for i in range(n)],
            "country": ["US", "DE"] * (n // 2),
            "person": pa.array([{"tier": i % 3, "email": f"a{i}@x.io"} for i in range(n)]),
            "tags": pa.array([[i, 1] for i in range(n)]),
            "ids": pa.array(
                [[("email", f"v{i}")] for i in range(n)], pa.map_(pa.string(), pa.string())
            ),
            "empty": pa.nulls(n, pa.string()),
        }
    )
    assert dictionary_columns(data) == [
        "country",
        "person.tier",
        "tags.list.element",  # 100 distinct of 200: half
        "ids.key_value.key",
        "empty",  # nothing to hash
    ]
    # Judged on the first rows only: here every id repeats
    repeated = pa.table({"id": ["same"] * 70_000 + [f"u{i}" for i in range(70_000)]})
    assert dictionary_columns(repeated) == ["id"]


def test_a_data_file_is_plain_where_values_are_distinct_and_dictionary_where_they_repeat(
    tmp_path: Path,
) -> None:
    target = pa.schema([pa.field("id", pa.string()), pa.field("country", pa.string())])
    catalog = open_catalog(Settings.load(tmp_path / "home"))
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.t", schema=table_schema(target))
    writer = BatchWriter(table, batch_id="b", run_id="r", data_prefix=f"{table.location()}/data/b")
    lineage = {
        "source_file": "f.parquet",
        "source_row": 0,
        "batch_id": "b",
        "ingested_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    rows = pa.Table.from_pylist(
        [{"id": f"id-{i}", "country": "DE" if i % 2 else "US", "_lakefeed": lineage}
         for i in range(5000)],
        schema=table_schema(target),
    )  # fmt: skip
    source = SourceWriter(writer.target, writer.next_index(), None)
    source.write(rows)
    (data_file,) = source.finish()
    meta = pq.ParquetFile(data_file.file_path.removeprefix("file://")).metadata.row_group(0)
    dictionary = {
        meta.column(i).path_in_schema: meta.column(i).has_dictionary_page
        for i in range(meta.num_columns)
    }
    assert dictionary["id"] is False
    assert dictionary["country"] is True
    assert dictionary["_lakefeed.source_file"] is True
    written = pq.read_table(data_file.file_path.removeprefix("file://"))
    assert written.column("id").to_pylist() == rows.column("id").to_pylist()
    assert written.column("country").to_pylist() == rows.column("country").to_pylist()
