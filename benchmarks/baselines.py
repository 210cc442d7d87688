"""The other tools lakefeed is measured against, each loading the same generated Parquet folder
(``manifest.json`` and its files, see ``ingest_throughput.generate_rows``) into a fresh temp
folder; the runner calls each in a fresh process (``run.py --child baselines:NAME``).

- ``pyiceberg_append``: a SQLite ``SqlCatalog`` and a local warehouse; the files read with
  ``pq.read_table`` and appended ``files_per_append`` at a time (one commit per append).
- ``dlt_iceberg``: a dlt pipeline to the filesystem destination (a local folder) with
  ``table_format="iceberg"``, its resource yielding each file's Arrow record batches.
- ``duckdb_copy``: ``COPY (SELECT * FROM read_parquet(files)) TO 'out.parquet'`` (zstd),
  DuckDB's default threads (all cores).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.measure import timer


def _files(folder: str) -> tuple[list[Path], int]:
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    return [Path(folder) / f["path"] for f in manifest["files"]], int(manifest["rows"])


def _outcome(seconds: float, rows: int, output: Path) -> dict[str, Any]:
    """What a baseline reports: its time, the rows it wrote and the Parquet under ``output``."""
    written = list(output.rglob("*.parquet"))
    return {
        "seconds": seconds,
        "rows": rows,
        "out_bytes": sum(p.stat().st_size for p in written),
        "out_files": len(written),
    }


def pyiceberg_append(folder: str, files_per_append: int = 25) -> dict[str, Any]:
    from pyiceberg.catalog.sql import SqlCatalog

    paths, rows = _files(folder)
    work = Path(tempfile.mkdtemp(prefix="lakefeed-bench-pyiceberg-"))
    try:
        catalog = SqlCatalog(
            "bench", uri=f"sqlite:///{work / 'catalog.db'}", warehouse=f"file://{work / 'wh'}"
        )
        catalog.create_namespace("bench")
        schema = pq.read_schema(paths[0])
        with timer() as took:
            table = catalog.create_table("bench.profiles", schema=schema)
            for start in range(0, len(paths), files_per_append):
                group = paths[start : start + files_per_append]
                table.append(pa.concat_tables(pq.read_table(p) for p in group))
        written = table.scan().to_arrow().num_rows if len(paths) <= 50 else rows
        return _outcome(took["seconds"], written, work / "wh")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def dlt_iceberg(folder: str) -> dict[str, Any]:
    paths, rows = _files(folder)
    work = Path(tempfile.mkdtemp(prefix="lakefeed-bench-dlt-"))
    os.environ["DLT_DATA_DIR"] = str(work / "dlt-data")
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    try:
        import dlt

        @dlt.resource(name="profiles", table_format="iceberg", write_disposition="append")
        def profiles() -> Iterator[pa.RecordBatch]:
            for path in paths:
                yield from pq.ParquetFile(path).iter_batches(64 * 1024)

        pipeline = dlt.pipeline(
            pipeline_name="bench",
            pipelines_dir=str(work / "pipelines"),
            destination=dlt.destinations.filesystem(bucket_url=(work / "lake").as_uri()),
            dataset_name="bench",
        )
        with timer() as took:
            pipeline.run(profiles())
        return _outcome(took["seconds"], rows, work / "lake")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def duckdb_copy(folder: str) -> dict[str, Any]:
    import duckdb

    paths, _rows = _files(folder)
    work = Path(tempfile.mkdtemp(prefix="lakefeed-bench-duckdb-"))
    try:
        connection = duckdb.connect()
        files = [str(p) for p in paths]
        with timer() as took:
            connection.execute(
                "COPY (SELECT * FROM read_parquet($files)) TO "
                f"'{work / 'out.parquet'}' (FORMAT parquet, COMPRESSION zstd)",
                {"files": files},
            )
        return _outcome(took["seconds"], pq.read_metadata(work / "out.parquet").num_rows, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
