"""DuckDB's iceberg_scan reads a pyiceberg-written table exactly as pyiceberg does: the proof
that tests/duckdb_iceberg.py loads the extensions offline and can be trusted as a second reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

import duckdb_iceberg

ITEM = pa.struct([pa.field("k", pa.string(), nullable=False), pa.field("v", pa.float64())])
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("n", pa.int32()),
        pa.field("f", pa.float64()),
        pa.field("b", pa.bool_(), nullable=False),
        pa.field("d", pa.date32()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field(
            "s",
            pa.struct(
                [
                    pa.field("name", pa.string(), nullable=False),
                    pa.field("inner", pa.struct([("x", pa.int32()), ("y", pa.string())])),
                ]
            ),
        ),
        pa.field("l", pa.list_(ITEM)),
        pa.field("m", pa.map_(pa.string(), pa.list_(ITEM))),
    ]
)
FIRST, SECOND = range(0, 5), range(5, 12)


def _row(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "n": None if i == 3 else i * 10,
        "f": i / 2,
        "b": i % 2 == 0,
        "d": dt.date(2024, 1, 1) + dt.timedelta(days=i),
        "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i, microseconds=i),
        "s": {"name": f"n{i}", "inner": None if i == 4 else {"x": i, "y": f"y{i}"}},
        "l": [{"k": f"a{i}", "v": 1.5}, {"k": "b", "v": None}] if i % 2 else [],
        "m": None if i % 4 == 0 else {f"key{i}": [{"k": "z", "v": float(i)}], "empty": []},
    }


@pytest.fixture
def table(tmp_path: Path) -> tuple[Table, str]:
    """A table with two appends (two snapshots); also returns the first append's metadata."""
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/cat.db", warehouse=f"file://{tmp_path}/wh")
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.events", schema=SCHEMA)
    table.append(pa.Table.from_pylist([_row(i) for i in FIRST], schema=SCHEMA))
    first = table.metadata_location
    table.append(pa.Table.from_pylist([_row(i) for i in SECOND], schema=SCHEMA))
    return table, first


def _rows(arrow: pa.Table) -> list[dict[str, Any]]:
    # Arrow schemas differ in ways that do not matter (DuckDB: all fields nullable, list items
    # named "l", time zone "UTC" vs pyiceberg's); the values must not.
    return sorted(arrow.to_pylist(), key=lambda r: r["id"])


def test_duckdb_reads_what_pyiceberg_reads(table: tuple[Table, str]) -> None:
    tbl, _ = table
    assert len(tbl.snapshots()) == 2
    expected = tbl.scan().to_arrow()
    got = duckdb_iceberg.scan(tbl.metadata_location)

    assert got.num_rows == expected.num_rows == len(FIRST) + len(SECOND)
    assert got.column_names == expected.column_names
    assert _rows(got) == _rows(expected)

    by_id = {r["id"]: r for r in _rows(got)}
    assert by_id[7]["s"] == {"name": "n7", "inner": {"x": 7, "y": "y7"}}
    assert by_id[4]["s"]["inner"] is None and by_id[4]["m"] is None
    assert by_id[9]["l"][1] == {"k": "b", "v": None}
    assert dict(by_id[5]["m"]) == {"key5": [{"k": "z", "v": 5.0}], "empty": []}
    assert by_id[11]["ts"] == dt.datetime(2024, 1, 1, 11, 0, 0, 11, tzinfo=dt.UTC)
    assert got.schema.field("ts").type == pa.timestamp("us", tz="UTC")

    total = duckdb_iceberg.scan(
        tbl.metadata_location, "SELECT sum(n)::BIGINT AS n, count(n) AS c, count(*) AS r FROM t"
    )
    assert total.to_pylist() == [{"n": pc.sum(expected["n"]).as_py(), "c": 11, "r": 12}]
    assert total["n"][0].as_py() == sum(i * 10 for i in range(12) if i != 3)


def test_first_metadata_file_sees_first_append_only(table: tuple[Table, str]) -> None:
    tbl, first = table
    assert first != tbl.metadata_location
    got = duckdb_iceberg.scan(first, "SELECT id FROM t ORDER BY id")
    assert got["id"].to_pylist() == list(FIRST)
    # A plain local path works as well as the file:// URI pyiceberg gives.
    plain = first.removeprefix("file://")
    assert duckdb_iceberg.scan(plain, "SELECT count(*) AS c FROM t").to_pylist() == [{"c": 5}]


def test_missing_extensions_name_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb, "__version__", "0.0.0")
    with pytest.raises(RuntimeError, match="pip install duckdb-ext-iceberg duckdb-ext-avro"):
        duckdb_iceberg.extension_directory()
