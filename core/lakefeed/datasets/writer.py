"""A batch's rows into Iceberg data files, committed at once.

Rows are written as they arrive (a whole source file is never in memory), each batch encoded in a
writer thread while the caller prepares the next one: Parquet encoding and compression release
the GIL, so they use a second core while parsing and mapping use the first. Each source file gets
its own data files (a :class:`SourceWriter`, rolling over at the table's target file size, from
a :class:`DataFileTarget` that holds what it needs of the table as values), so a source file
that fails half-way is dropped whole, and a source can be converted apart from the batch; a
group of small source files shares one writer (:mod:`lakefeed.flows.coalesce`), each file's rows
added once the file was read whole.
:class:`BatchWriter` gathers the sources' data files. Nothing is visible to readers
until :meth:`commit`, which adds every data file in one snapshot carrying the run and batch ids.
:meth:`abort` deletes the files written so far; recovery (:func:`remove_batch_files`) does the
same for a writer that crashed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakefeed.datasets.iceberg import (
    BATCH_PROPERTY,
    RUN_PROPERTY,
    SYSTEM_COLUMN,
    snapshot_for_batch,
    watched_commit,
)
from lakefeed.datasets.warehouse import raised_by_warehouse, warehouse_error
from lakefeed.errors import CommitOutcomeUnknown

log = logging.getLogger("lakefeed.writer")

#: Roll to a new data file past this many bytes written (compressed, as on storage), unless
#: the table's :data:`TARGET_FILE_SIZE_PROPERTY` says otherwise.
TARGET_FILE_BYTES = 128 * 1024 * 1024
#: The standard Iceberg table property for the size of the data files writers aim at.
TARGET_FILE_SIZE_PROPERTY = "write.target-file-size-bytes"
COMMIT_ATTEMPTS = 5


@dataclass(frozen=True)
class DataFileTarget:
    """Where a batch's data files go and what they must hold: the table's schema, properties,
    partition spec and FileIO settings as values, so a conversion can write its source's data
    files without the catalog (in this process today; in another one later)."""

    batch_id: str
    run_id: str
    data_prefix: str
    schema: Any  # the table's Iceberg schema
    properties: dict[str, str]
    spec_id: int
    location: str
    #: The warehouse's FileIO properties: its credentials among them, so never shown.
    io_properties: dict[str, str] = field(repr=False)
    # Per-process caches (shapes, the FileIO): not part of the value.
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, table: Any, *, batch_id: str, run_id: str, data_prefix: str) -> DataFileTarget:
        target = cls(
            batch_id=batch_id,
            run_id=run_id,
            data_prefix=data_prefix.rstrip("/"),
            schema=table.schema(),
            properties=dict(table.metadata.properties),
            spec_id=table.metadata.default_spec_id,
            location=table.location(),
            io_properties=dict(table.io.properties),
        )
        target._cache["io"] = table.io  # the catalog's own FileIO, in this process
        return target

    def __getstate__(self) -> dict[str, Any]:
        """Sent elsewhere without this process's caches (its FileIO holds clients)."""
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    @property
    def target_file_bytes(self) -> int:
        """Bytes a data file of the table is rolled over at: the table's
        ``write.target-file-size-bytes``, else :data:`TARGET_FILE_BYTES`."""
        return target_file_bytes(self.properties)

    @property
    def io(self) -> Any:
        if "io" not in self._cache:
            from pyiceberg.io import load_file_io

            self._cache["io"] = load_file_io(self.io_properties, self.location)
        return self._cache["io"]

    def shape(self, present: set[int] | None) -> _Shape:
        """The columns of a source's data files (made once per set of present leaves)."""
        if "lineage" not in self._cache:
            lineage = self.schema.find_field(SYSTEM_COLUMN)
            self._cache["lineage"] = frozenset(_leaves(lineage.field_type, lineage.field_id))
        key = None if present is None else frozenset(present) | self._cache["lineage"]
        shapes = self._cache.setdefault("shapes", {})
        if key not in shapes:
            shapes[key] = _Shape.of(self.schema, key, self.properties)
        return shapes[key]


def target_file_bytes(properties: Mapping[str, str]) -> int:
    """The data file size a table's ``properties`` ask for (:data:`TARGET_FILE_BYTES` when
    they do not say, or say something that is not a positive number of bytes)."""
    text = properties.get(TARGET_FILE_SIZE_PROPERTY)
    try:
        size = int(text) if text is not None else 0
    except ValueError:
        size = 0
    return size if size > 0 else TARGET_FILE_BYTES


class SourceWriter:
    """The data files of one source file (or of a group of small ones), numbered ``index`` in
    its batch: rows stream in, files roll over at the table's target size
    (:attr:`DataFileTarget.target_file_bytes`), and the source's files are kept whole
    (:meth:`finish`) or dropped whole (:meth:`discard`).

    :meth:`write` hands its rows to a writer thread and returns; one batch at most is in
    flight (the next :meth:`write` waits for it), so memory holds two batches, not more. A
    failed write is raised by the next call (:meth:`write`, :meth:`checkpoint`,
    :meth:`rollback` or :meth:`finish`); :meth:`discard` waits and drops it. A source writer
    is finished or discarded before its batch is committed or aborted."""

    def __init__(
        self,
        target: DataFileTarget,
        index: int,
        present: set[int] | None = None,
        *,
        file_bytes: int | None = None,
    ):
        """``present`` holds the ids of the table's leaf fields the source file has (see
        :func:`present_leaf_ids`): its data files then hold only those columns, plus the
        lineage. The others are null in every row of it, and Iceberg readers read a column a
        data file lacks as null, so writing 25 columns of a 200-column schema costs what 25 do.
        ``file_bytes``: roll over there instead of at the table's target size (compaction).
        """
        self.target = target
        self.index = index
        self._file_bytes = file_bytes
        self.data_files: list[Any] = []
        self.rows = 0
        self.bytes_written = 0
        self._shape = target.shape(present)
        self._part = 0
        # Every writer names its files afresh: a task converted again (its worker died) never
        # overwrites a file the dead attempt may still be writing.
        self._token = os.urandom(4).hex()
        self._writer: Any = None
        self._output: Any = None
        self._path: str | None = None
        self._pending: Future[None] | None = None

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        """Append rows whose schema is the table's (by name; types are cast here). They are
        written by the writer thread; the previous batch's failure is raised here."""
        if data.num_rows == 0:
            return
        self._wait()
        self.rows += data.num_rows
        self._pending = _write_pool().submit(self._write_now, data)

    def finish(self) -> list[Any]:
        """Close the open data file; returns the source's data files, complete on storage."""
        self._wait()
        self._close_file()
        return self.data_files

    def checkpoint(self) -> int:
        """Close the open data file and mark where the source's data files stand, for
        :meth:`rollback` (an archive's member begins)."""
        self._wait()
        self._close_file()
        return len(self.data_files)

    def rollback(self, mark: int) -> None:
        """Drop the data files written since :meth:`checkpoint` answered ``mark`` (that
        member failed part-way); the rows before it stay."""
        self._wait()
        self._close_file(keep=False)
        for data_file in self.data_files[mark:]:
            self._drop(data_file.file_path)
        del self.data_files[mark:]
        self.rows = sum(f.record_count for f in self.data_files)
        self.bytes_written = sum(f.file_size_in_bytes for f in self.data_files)

    def discard(self) -> None:
        """Drop every row of the source (it failed part-way; so may its last write have).
        Never raises: it runs while another error is handled, and that error is the one to
        report."""
        self._wait(raising=False)
        self._close_file(keep=False)
        for data_file in self.data_files:
            self._drop(data_file.file_path)
        self.data_files = []
        self.rows = 0
        self.bytes_written = 0

    def _write_now(self, data: pa.Table | pa.RecordBatch) -> None:
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        data = data.select(self._shape.arrow.names)
        if not data.schema.equals(self._shape.arrow, check_metadata=True):
            # (Rows already in the shape skip it: a cast refuses a null struct whose field is
            # required, which a compaction reads where a data file lacked the struct.)
            data = data.cast(self._shape.arrow)
        if self._writer is None:
            self._open()
        self._writer.write(data)
        limit = self.target.target_file_bytes if self._file_bytes is None else self._file_bytes
        if self._written() >= limit:
            self._close_file()

    def _wait(self, *, raising: bool = True) -> None:
        """Until the batch in flight is written; its failure raised (or dropped)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        error = pending.exception()
        if error is not None and raising:
            raise error

    def _drop(self, path: str | None) -> None:
        """Delete a data file that will never be committed. A failure leaves it unreferenced
        under the batch's prefix (never read: only committed files are), so it is not raised:
        the warehouse that failed the write may well refuse the delete too."""
        if path is None:
            return
        with contextlib.suppress(Exception):
            self.target.io.delete(path)

    def _written(self) -> int:
        """Bytes of the open data file so far: every write ends a row group, so the stream's
        position is the file's size. (Arrow's in-memory size would overstate a wide, sparse
        schema several times over: each null string still costs an 8-byte offset.)"""
        stream = getattr(self._writer, "_fos", None)
        return int(stream.tell()) if stream is not None and hasattr(stream, "tell") else 0

    def _open(self) -> None:
        target = self.target
        self._path = f"{target.data_prefix}/{self.index:06d}-{self._part:03d}-{self._token}.parquet"
        self._part += 1
        self._output = target.io.new_output(self._path)
        shape = self._shape
        self._writer = _parquet_writer_class()(
            self._output, shape.iceberg, target.properties, shape.plan, shape.mapping
        )

    def _close_file(self, *, keep: bool = True) -> None:
        from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
        from pyiceberg.typedef import Record

        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        if not keep:
            with contextlib.suppress(Exception):  # dropped anyway; its write may have failed
                writer.close()
            self._drop(self._path)
            return
        stats = writer.close()
        size = len(self._output)
        self.bytes_written += size
        self.data_files.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=self._path,
                file_format=FileFormat.PARQUET,
                partition=Record(),
                file_size_in_bytes=size,
                sort_order_id=None,
                spec_id=self.target.spec_id,
                equality_ids=None,
                key_metadata=None,
                **stats.to_serialized_dict(),
            )
        )


class BatchWriter:
    """A batch's data files: each source's, as its :class:`SourceWriter` finished them
    (:meth:`keep`), committed in one snapshot or aborted whole."""

    def __init__(self, table: Any, *, batch_id: str, run_id: str, data_prefix: str) -> None:
        self.table = table
        self.target = DataFileTarget.of(
            table, batch_id=batch_id, run_id=run_id, data_prefix=data_prefix
        )
        self.data_files: list[Any] = []
        self.rows = 0
        self.bytes_written = 0
        self._sources = 0  # the index of the last source started
        #: True while a commit that may have landed is not settled (:meth:`settle`): the
        #: batch's files may be in the table, so :meth:`abort` keeps them.
        self.unsettled = False

    def next_index(self) -> int:
        """The number of the next source file of the batch (names its data files)."""
        self._sources += 1
        return self._sources

    def keep(self, data_files: list[Any], *, rows: int, size: int) -> None:
        """Add a source's finished data files to the batch."""
        self.data_files.extend(data_files)
        self.rows += rows
        self.bytes_written += size

    def commit(self, extra_properties: dict[str, str] | None = None) -> int:
        """Add every data file in one snapshot; returns its id. The table is reloaded first, so
        commits of other batches that happened meanwhile are kept.

        A commit that fails once the catalog was asked to record it (the database dropped the
        connection during ``COMMIT``) may have landed all the same: the table is read again,
        and the batch's snapshot, if it is there, is the commit's (:meth:`settle`). When the
        table cannot be read, :class:`~lakefeed.errors.CommitOutcomeUnknown` is raised and
        :attr:`unsettled` stays True: the files must be kept for recovery to decide."""
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        properties = {RUN_PROPERTY: self.target.run_id, BATCH_PROPERTY: self.target.batch_id}
        properties.update(extra_properties or {})
        for attempt in range(COMMIT_ATTEMPTS):
            head = None
            with watched_commit(self.table) as watch:
                try:
                    self.table.refresh()
                    head = self.table.metadata.current_snapshot_id
                    with (
                        self.table.transaction() as tx,
                        tx.update_snapshot(snapshot_properties=properties).fast_append() as append,
                    ):
                        for data_file in self.data_files:
                            append.append_data_file(data_file)
                    break
                except (CommitFailedException, ValidationException):
                    # Another commit changed the table meanwhile (a batch, or maintenance: a
                    # compaction, or an expiry that removed the snapshot this attempt began
                    # from). Neither exception lands anything, and appends never conflict:
                    # reload and try again.
                    if attempt == COMMIT_ATTEMPTS - 1:
                        raise
                    continue
                except Exception as exc:
                    if watch.reached_catalog:
                        self.unsettled = True
                        landed = self.settle(exc)
                        if landed is not None:
                            return landed
                    if (
                        isinstance(exc, FileNotFoundError)
                        and attempt < COMMIT_ATTEMPTS - 1
                        and self._moved_on(head)
                    ):
                        continue  # an expiry deleted the manifests of the snapshot it began from
                    # The manifests and the metadata file are written before the catalog
                    # points at them: a warehouse that fails them leaves the table as it was.
                    if not raised_by_warehouse(exc):
                        raise
                    raise self._warehouse_error(exc, "committing the batch") from exc
                except BaseException:
                    self.unsettled = self.unsettled or watch.reached_catalog  # an interrupt
                    raise
        snapshot = self.table.current_snapshot()
        assert snapshot is not None
        return int(snapshot.snapshot_id)

    def settle(self, failure: BaseException) -> int | None:
        """After ``failure`` of a commit that may have landed: the id of the batch's snapshot
        when the table has it (the commit happened), None when it has not (nothing landed; the
        files may go). :class:`~lakefeed.errors.CommitOutcomeUnknown` when the table cannot be
        read again (the catalog's database still away): then nobody knows, and the batch's
        files must stay."""
        try:
            self.table.refresh()
        except Exception as exc:
            raise CommitOutcomeUnknown(
                f"The commit of batch {self.target.batch_id} failed after the catalog was asked "
                f"to record it ({type(failure).__name__}), and the table could not be read "
                f"again to see whether it did ({type(exc).__name__}). Its data files are kept "
                "and nothing is ledgered: the run is left to recovery, which rolls the batch "
                "forward if the table has its snapshot and back if not.",
                fix="Check that the catalog's database (LAKEFEED_ICEBERG_CATALOG_URL, by "
                "default LAKEFEED_DATABASE_URL) answers; the next run of the flow, or a "
                "starting `lakefeed serve` or `lakefeed scheduler`, then recovers the run.",
            ) from exc
        self.unsettled = False
        snapshot = snapshot_for_batch(self.table, self.target.batch_id)
        return None if snapshot is None else int(snapshot.snapshot_id)

    def _moved_on(self, head: int | None) -> bool:
        """Whether the table's current snapshot is no longer ``head`` (reloaded to see)."""
        try:
            self.table.refresh()
        except Exception:
            return False
        return self.table.metadata.current_snapshot_id != head

    def abort(self) -> None:
        """Forget the batch: delete every file written under its prefix. Never raises: it runs
        while another error is handled (often the warehouse's own), and files left behind
        are never read (only committed files are); recovery and orphan removal find them.
        The files of a commit that may have landed (:attr:`unsettled`) are kept."""
        if self.unsettled:
            log.warning(
                "batch %s: its commit may have landed; its data files are kept for recovery",
                self.target.batch_id,
            )
            return
        try:
            remove_batch_files(self.table, self.target.data_prefix)
        except Exception as exc:
            error = self._warehouse_error(exc, "removing the data files of an aborted batch")
            log.warning("%s", error)
        self.data_files = []

    def _warehouse_error(self, exc: Exception, action: str) -> Exception:
        return warehouse_error(
            exc,
            action=action,
            properties=self.target.io_properties,
            location=self.target.data_prefix,
        )


def remove_batch_files(table: Any, data_prefix: str) -> int:
    """Delete the data files under ``data_prefix`` (a batch that was never committed) through
    the table's FileIO, with the warehouse's own credentials; returns how many there were.
    A file that cannot be deleted raises :class:`~lakefeed.errors.WarehouseError`."""
    from lakefeed.datasets.table_files import list_files

    io = table.io
    properties = dict(io.properties)
    try:
        locations = [stored.location for stored in list_files(io, data_prefix)]
        for location in locations:
            with contextlib.suppress(FileNotFoundError):  # gone already: as good as deleted
                io.delete(location)
        _remove_folder(io, data_prefix)
    except Exception as exc:
        if not raised_by_warehouse(exc):
            raise
        action = "removing the data files of a batch that was not committed"
        raise warehouse_error(
            exc, action=action, properties=properties, location=data_prefix
        ) from exc
    return len(locations)


def _remove_folder(io: Any, data_prefix: str) -> None:
    """The batch's emptied folder: a local one, or the marker object pyarrow's S3 filesystem
    leaves when it deletes a folder's last file (fsspec's object stores have no folders)."""
    from urllib.parse import unquote, urlparse

    if hasattr(io, "fs_by_scheme"):  # pyiceberg's PyArrowFileIO
        scheme, netloc, path = io.parse_location(data_prefix, io.properties)
        with contextlib.suppress(FileNotFoundError):
            io.fs_by_scheme(scheme, netloc).delete_dir(path)
        return
    parsed = urlparse(data_prefix)
    if parsed.scheme in ("", "file") and not parsed.netloc:
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(unquote(parsed.path) if parsed.scheme else data_prefix)


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _write_pool() -> ThreadPoolExecutor:
    """The writer threads of this process (made again in a forked child, whose copy of the
    parent's threads does not run)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        workers = max(2, os.cpu_count() or 2)
        _POOL = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="lakefeed-write"))
    return _POOL[1]


def load_parquet_writer() -> None:
    """Import pyiceberg's data file writer now (a worker process does so as it starts)."""
    _parquet_writer_class()


@functools.cache
def _parquet_writer_class() -> Any:
    """Made on first use: importing pyiceberg's writer is slow, and most commands never write."""
    from pyiceberg.io.pyarrow import ParquetFormatWriter, data_file_statistics_from_parquet_metadata

    from lakefeed.datasets.encodings import dictionary_columns

    class ParquetWriter(ParquetFormatWriter):
        """pyiceberg's Parquet data-file writer, given the table schema's statistics plan and
        column mapping instead of computing them again for every data file: with a wide XDM
        schema (about 200 columns) that was 7 ms a file, a sixth of ingesting a small one."""

        def __init__(
            self, output: Any, schema: Any, properties: Any, plan: Any, mapping: Any
        ) -> None:
            super().__init__(output, schema, properties)
            self._plan, self._mapping = plan, mapping

        def write(self, table: pa.Table) -> None:
            if self._writer is None:  # the file's encodings, from its first rows
                self._parquet_writer_kwargs["use_dictionary"] = dictionary_columns(table)
            super().write(table)

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
    def of(cls, schema: Any, leaves: frozenset[int] | None, properties: Any) -> _Shape:
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
            plan=compute_statistics_plan(schema, properties),
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
