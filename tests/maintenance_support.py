"""Helpers of the table maintenance tests: a dataset filled by many small batches, and the
ways the tests look at its table (rows with their lineage, data files, files on disk)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import duckdb_iceberg
from lakefeed import Lakefeed
from lakefeed.catalog.datasets import Dataset
from lakefeed.catalog.runs import Run
from lakefeed.testing.profiles import create_profile_schema, profile_table

LINEAGE = ("_id", "batch_id", "source_file", "source_row")


@dataclass
class SmallBatches:
    """A dataset ``profiles`` over the local folder ``landing``; each :meth:`batch` lands one
    file there and ingests it: one batch, one small data file."""

    lf: Lakefeed
    landing: Path
    schema_id: str
    files: int = 0
    flow_id: str | None = None  # the ingest chain's flow, once it ran

    @classmethod
    def make(cls, root: Path) -> SmallBatches:
        lf = Lakefeed()
        landing = root / "landing"
        landing.mkdir()
        schema = create_profile_schema(lf.schemas)
        lf.datasets.create("profiles", schema["$id"])
        return cls(lf, landing, schema["$id"])

    def put(self, rows: int, *, columns: list[str] | None = None) -> Path:
        """Land the next file of ``rows`` profiles (only ``columns`` of them, if given): ids
        from 1000 times the file's number, so ids are unique up to 1000 rows a file."""
        assert rows <= 1000, "ids of files would overlap"
        data = profile_table(rows, start=self.files * 1000, tenant_id=self.lf.schemas.tenant_id)
        if columns is not None:
            data = data.select(columns)
        path = self.landing / f"p{self.files:04d}.parquet"
        pq.write_table(data, path)
        self.files += 1
        return path

    def batch(self, rows: int = 20, **kwargs: Any) -> Run:
        """Land one file and ingest what is new: one batch."""
        self.put(rows, **kwargs)
        return self.ingest()

    def ingest(self) -> Run:
        run = self.lf.ingest(str(self.landing), "*.parquet", dataset="profiles",
                             schema=self.schema_id)  # fmt: skip
        assert run.status == "success", run.metrics
        self.flow_id = run.flow_id
        return run

    @property
    def dataset(self) -> Dataset:
        return self.lf.datasets.get("profiles")

    def table(self) -> Any:
        return self.lf.datasets.table(self.dataset)

    def rows(self) -> pa.Table:
        """Every row, lineage included, in a stable order."""
        return sorted_rows(self.lf.datasets.read(self.dataset))


def sorted_rows(table: pa.Table) -> pa.Table:
    return table.sort_by([("_id", "ascending")])


def lineage(table: pa.Table) -> list[tuple[Any, ...]]:
    """``(_id, batch_id, source_file, source_row)`` of every row, sorted."""
    system = table.column("_lakefeed").combine_chunks()
    columns = [table.column("_id").to_pylist()] + [
        system.field(name).to_pylist() for name in LINEAGE[1:]
    ]
    return sorted(zip(*columns, strict=True))


def duckdb_lineage(table: Any) -> list[tuple[Any, ...]]:
    """The same, as DuckDB reads the table from its metadata file."""
    found = duckdb_iceberg.scan(
        table.metadata_location,
        "SELECT _id, _lakefeed.batch_id, _lakefeed.source_file, _lakefeed.source_row FROM t",
    )
    return sorted(tuple(row.values()) for row in found.to_pylist())


def data_files(table: Any) -> list[Any]:
    """The data files live in the table's current snapshot."""
    return [task.file for task in table.scan().plan_files()]


def files_on_disk(table: Any) -> set[str]:
    """Every file under the table's location, as ``file://`` URIs."""
    root = Path(table.location().removeprefix("file://"))
    return {f"file://{p}" for p in root.rglob("*") if p.is_file()}


def age(path: str | Path, days: float) -> None:
    """Set a file's modification time ``days`` in the past."""
    path = Path(str(path).removeprefix("file://"))
    stat = path.stat()
    then = stat.st_mtime - days * 86400
    os.utime(path, (then, then))
