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
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lakefeed.datasets.iceberg import BATCH_PROPERTY, RUN_PROPERTY, SYSTEM_COLUMN

#: Roll to a new data file past this many bytes written (compressed, as on storage).
TARGET_FILE_BYTES = 128 * 1024 * 1024
COMMIT_ATTEMPTS = 5


class BatchWriter:
    def __init__(self, table: Any, *, batch_id: str, run_id: str, data_prefix: str) -> None:
        self.table = table
        self.batch_id = batch_id
        self.run_id = run_id
        self.data_prefix = data_prefix.rstrip("/")
        self.iceberg_schema = table.schema()
        self.data_files: list[Any] = []
        self.rows = 0
        self.bytes_written = 0
        self._writer: Any = None
        self._output: Any = None
        lineage = self.iceberg_schema.find_field(SYSTEM_COLUMN)
        self._lineage_ids = frozenset(_leaves(lineage.field_type, lineage.field_id))
        self._shapes: dict[frozenset[int] | None, _Shape] = {}
        self._shape = self._shape_for(None)
        self._path: str | None = None
        self._source = 0  # index of the source file being written
        self._source_part = 0
        self._source_files: list[Any] = []  # data files of the current source, until it ends
        self._source_rows = 0

    def start_source(self, present: set[int] | None = None) -> None:
        """Begin the rows of the next source file (keeping the previous one's, if not ended).

        ``present`` holds the ids of the table's leaf fields the source file has (see
        :func:`present_leaf_ids`): its data files then hold only those columns, plus the
        lineage. The others are null in every row of it, and Iceberg readers read a column a
        data file lacks as null, so writing 25 columns of a 200-column schema costs what 25 do.
        """
        if self._writer is not None or self._source_files:
            self.end_source()
        self._source += 1
        self._source_part = 0
        self._source_files = []
        self._source_rows = 0
        self._shape = self._shape_for(present)

    def _shape_for(self, present: set[int] | None) -> _Shape:
        key = None if present is None else frozenset(present) | self._lineage_ids
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _Shape.of(self.iceberg_schema, key, self.table)
        return shape

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
        data = data.select(self._shape.arrow.names).cast(self._shape.arrow)
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
        self._path = f"{self.data_prefix}/{self._source:06d}-{self._source_part:03d}.parquet"
        self._source_part += 1
        self._output = self.table.io.new_output(self._path)
        shape = self._shape
        self._writer = _parquet_writer_class()(
            self._output, shape.iceberg, self.table.metadata.properties, shape.plan, shape.mapping
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


@dataclass(frozen=True)
class _Shape:
    """The columns of a source's data files: the table schema, or the part of it (by leaf
    field ids) the source has; with its Arrow form and pyiceberg's statistics plan, made once
    per shape instead of once per data file."""

    iceberg: Any
    arrow: pa.Schema
    plan: Any
    mapping: Any

    @classmethod
    def of(cls, schema: Any, leaves: frozenset[int] | None, table: Any) -> _Shape:
        from pyiceberg.io.pyarrow import (
            compute_statistics_plan,
            parquet_path_to_id_mapping,
            schema_to_pyarrow,
        )
        from pyiceberg.schema import prune_columns

        if leaves is not None:
            schema = prune_columns(schema, set(leaves), select_full_types=False)
        return cls(
            iceberg=schema,
            arrow=schema_to_pyarrow(schema, include_field_ids=True),
            plan=compute_statistics_plan(schema, table.metadata.properties),
            mapping=parquet_path_to_id_mapping(schema),
        )


def leaf_ids(field_type: Any) -> set[int]:
    """The ids of the primitive fields inside an Iceberg type (list elements and map keys and
    values included)."""
    return _leaves(field_type, None)


def present_leaf_ids(schema: Any, file_schema: pa.Schema) -> set[int]:
    """Ids of the table's leaf fields that a source file has, matched by name into structs,
    lists and maps as conforming matches them."""
    return _leaves(schema.as_struct(), None, pa.struct(list(file_schema)))


def _leaves(
    iceberg_type: Any, own_id: int | None, arrow_type: pa.DataType | None = None
) -> set[int]:
    """Leaf ids under ``iceberg_type`` (whose own id is ``own_id``); with ``arrow_type``, only
    those the Arrow type has too, by name."""
    from pyiceberg.types import ListType, MapType, StructType

    if iceberg_type.is_primitive:
        return set() if own_id is None else {own_id}
    ids: set[int] = set()
    if isinstance(iceberg_type, StructType):
        if arrow_type is not None and not pa.types.is_struct(arrow_type):
            return ids
        names = None if arrow_type is None else {f.name: f.type for f in arrow_type}
        for field in iceberg_type.fields:
            if names is None:
                ids |= _leaves(field.field_type, field.field_id)
            elif field.name in names:
                ids |= _leaves(field.field_type, field.field_id, names[field.name])
    elif isinstance(iceberg_type, ListType):
        if arrow_type is not None and not (
            pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
        ):
            return ids
        value = None if arrow_type is None else arrow_type.value_type
        ids |= _leaves(iceberg_type.element_type, iceberg_type.element_id, value)
    elif isinstance(iceberg_type, MapType):
        if arrow_type is not None and not pa.types.is_map(arrow_type):
            return ids
        ids.add(iceberg_type.key_id)
        value = None if arrow_type is None else arrow_type.item_type
        ids |= _leaves(iceberg_type.value_type, iceberg_type.value_id, value)
    return ids
