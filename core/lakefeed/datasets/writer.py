"""``BatchWriter``: stream a batch's rows into Iceberg data files, then commit them at once.

Rows are written as they arrive (a whole source file is never in memory). Each source file gets
its own data files (rolling over at :data:`TARGET_FILE_BYTES` written), so a source file
that fails half-way is dropped whole with :meth:`discard_source`. Nothing is visible to readers
until :meth:`commit`, which adds every data file in one snapshot carrying the run and batch ids.
:meth:`abort` deletes the files written so far; recovery (:func:`remove_batch_files`) does the
same for a writer that crashed.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pyarrow as pa

from lakefeed.datasets.iceberg import BATCH_PROPERTY, RUN_PROPERTY

#: Roll to a new data file past this many bytes written (compressed, as on storage).
TARGET_FILE_BYTES = 128 * 1024 * 1024
COMMIT_ATTEMPTS = 5


class BatchWriter:
    def __init__(self, table: Any, *, batch_id: str, run_id: str, data_prefix: str) -> None:
        from pyiceberg.io.pyarrow import schema_to_pyarrow

        self.table = table
        self.batch_id = batch_id
        self.run_id = run_id
        self.data_prefix = data_prefix.rstrip("/")
        self.iceberg_schema = table.schema()
        self.arrow_schema = schema_to_pyarrow(self.iceberg_schema, include_field_ids=True)
        self.data_files: list[Any] = []
        self.rows = 0
        self.bytes_written = 0
        self._writer: Any = None
        self._output: Any = None
        self._statistics: tuple[Any, Any] | None = None  # the table schema's plan, made once
        self._path: str | None = None
        self._source = 0  # index of the source file being written
        self._source_part = 0
        self._source_files: list[Any] = []  # data files of the current source, until it ends
        self._source_rows = 0

    def start_source(self) -> None:
        """Begin the rows of the next source file (keeping the previous one's, if not ended)."""
        if self._writer is not None or self._source_files:
            self.end_source()
        self._source += 1
        self._source_part = 0
        self._source_files = []
        self._source_rows = 0

    def end_source(self) -> None:
        """Keep the rows of the current source file."""
        self._close_file()
        self.data_files.extend(self._source_files)
        self.rows += self._source_rows
        self._source_files = []
        self._source_rows = 0

    def discard_source(self) -> None:
        """Drop every row of the current source file (it failed part-way)."""
        self._close_file(keep=False)
        for data_file in self._source_files:
            self.table.io.delete(data_file.file_path)
        self._source_files = []
        self._source_rows = 0

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        """Append rows whose schema is the table's (by name; types are cast here)."""
        if data.num_rows == 0:
            return
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        data = data.cast(self.arrow_schema)
        if self._writer is None:
            self._open()
        self._writer.write(data)
        self._source_rows += data.num_rows
        if self._written() >= TARGET_FILE_BYTES:
            self._close_file()

    def _written(self) -> int:
        """Bytes of the open data file so far: every write ends a row group, so the stream's
        position is the file's size. (Arrow's in-memory size would overstate a wide, sparse
        schema several times over: each null string still costs an 8-byte offset.)"""
        stream = getattr(self._writer, "_fos", None)
        return int(stream.tell()) if stream is not None and hasattr(stream, "tell") else 0

    def _open(self) -> None:
        from pyiceberg.io.pyarrow import compute_statistics_plan, parquet_path_to_id_mapping

        self._path = f"{self.data_prefix}/{self._source:06d}-{self._source_part:03d}.parquet"
        self._source_part += 1
        self._output = self.table.io.new_output(self._path)
        properties = self.table.metadata.properties
        if self._statistics is None:
            self._statistics = (
                compute_statistics_plan(self.iceberg_schema, properties),
                parquet_path_to_id_mapping(self.iceberg_schema),
            )
        self._writer = _parquet_writer_class()(
            self._output, self.iceberg_schema, properties, *self._statistics
        )

    def _close_file(self, *, keep: bool = True) -> None:
        from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
        from pyiceberg.typedef import Record

        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        if not keep:
            try:
                writer.close()
            finally:
                self.table.io.delete(self._path)
            return
        stats = writer.close()
        size = len(self._output)
        self.bytes_written += size
        self._source_files.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=self._path,
                file_format=FileFormat.PARQUET,
                partition=Record(),
                file_size_in_bytes=size,
                sort_order_id=None,
                spec_id=self.table.metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **stats.to_serialized_dict(),
            )
        )

    def finish(self) -> None:
        """Close the open data file; after this the batch's files are complete on storage."""
        if self._source_files or self._writer is not None:
            self.end_source()

    def commit(self, extra_properties: dict[str, str] | None = None) -> int:
        """Add every data file in one snapshot; returns its id. The table is reloaded first, so
        commits of other batches that happened meanwhile are kept."""
        from pyiceberg.exceptions import CommitFailedException

        self.finish()
        properties = {RUN_PROPERTY: self.run_id, BATCH_PROPERTY: self.batch_id}
        properties.update(extra_properties or {})
        for attempt in range(COMMIT_ATTEMPTS):
            self.table.refresh()
            try:
                with (
                    self.table.transaction() as tx,
                    tx.update_snapshot(snapshot_properties=properties).fast_append() as append,
                ):
                    for data_file in self.data_files:
                        append.append_data_file(data_file)
                break
            except CommitFailedException:
                # Another batch committed to this table meanwhile: appends never conflict,
                # so reload and try again.
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
        snapshot = self.table.current_snapshot()
        assert snapshot is not None
        return int(snapshot.snapshot_id)

    def abort(self) -> None:
        """Forget the batch: close and delete every file it wrote."""
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the half-written file is deleted below
                self._writer.close()
            self._writer = None
        self._source_files = []
        remove_batch_files(self.table, self.data_prefix)
        self.data_files = []


def remove_batch_files(table: Any, data_prefix: str) -> int:
    """Delete the data files under ``data_prefix`` (a batch that was never committed); returns
    how many there were. ``table`` is unused today but keeps the door open for table FileIO."""
    import fsspec

    del table
    filesystem, root = fsspec.core.url_to_fs(data_prefix)
    if not filesystem.exists(root):
        return 0
    files = filesystem.find(root)
    filesystem.rm(root, recursive=True)
    return len(files)


@functools.cache
def _parquet_writer_class() -> Any:
    """Made on first use: importing pyiceberg's writer is slow, and most commands never write."""
    from pyiceberg.io.pyarrow import ParquetFormatWriter, data_file_statistics_from_parquet_metadata

    class ParquetWriter(ParquetFormatWriter):
        """pyiceberg's Parquet data-file writer, given the table schema's statistics plan and
        column mapping instead of computing them again for every data file: with a wide XDM
        schema (about 200 columns) that was 7 ms a file, a sixth of ingesting a small one."""

        def __init__(
            self, output: Any, schema: Any, properties: Any, plan: Any, mapping: Any
        ) -> None:
            super().__init__(output, schema, properties)
            self._plan, self._mapping = plan, mapping

        def close(self) -> Any:
            if self._result is not None:
                return self._result
            if self._writer is None or self._fos is None:
                raise ValueError("Cannot close a writer that was never written to")
            with self._fos:
                self._writer.close()
                self._result = data_file_statistics_from_parquet_metadata(
                    parquet_metadata=self._writer.writer.metadata,
                    stats_columns=self._plan,
                    parquet_column_mapping=self._mapping,
                )
            return self._result

    return ParquetWriter
