"""One source file's conversion, as a self-contained task: read it in record batches, conform
each batch to the target schema, write the good rows (with their lineage) into the batch's data
files and hand rejected rows back for diagnostics.

A :class:`ConversionTask` holds plain values (the file, how to open its connection, what the
format read of it, the target schema, where data files go, the run's settings) and
:func:`convert_file` returns a :class:`ConversionResult` (data files, counts, losses, or the
file's error): an executor may run it here or in another process. While it runs it reports
:class:`BatchConverted` and :class:`RowErrors` events; a report may raise (the run is being
cancelled), and then the file's data files are deleted before the error goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.datasets.iceberg import SYSTEM_COLUMN, SYSTEM_TYPE
from lakefeed.datasets.writer import SourceWriter, present_leaf_ids
from lakefeed.errors import DatasetError, LakefeedError
from lakefeed.values import jsonable

if TYPE_CHECKING:
    from lakefeed.datasets.writer import DataFileTarget
    from lakefeed.formats import FileFormat, InspectedFile
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.storage.access import SourceAccess
    from lakefeed.storage.entries import FileEntry

#: Rows per record batch read from a source file: bounds memory per file being converted.
BATCH_ROWS = 64 * 1024
#: Rejected rows are reported in chunks of this many (never a whole file's in memory).
ROW_ERROR_CHUNK = 1000


@dataclass(frozen=True)
class ConversionTask:
    index: int  # the file's number in its batch; names its data files
    entry: FileEntry
    source: SourceAccess
    format: FileFormat
    inspected: InspectedFile  # what ``format`` read of the file while inspecting it
    target: TargetSchema
    output: DataFileTarget
    keep_row_errors: bool  # the flow's error diagnostics
    row_error_room: int  # rejected rows the batch may still keep
    batch_rows: int = BATCH_ROWS


@dataclass(frozen=True)
class BatchConverted:
    """A record batch of the file is converted (for progress, heartbeats and cancelling)."""

    index: int
    entry: FileEntry
    rows_read: int  # of the file so far
    rows_out: int  # of this batch
    rows_failed: int  # of this batch


@dataclass(frozen=True)
class RowErrors:
    """Rejected rows of the file, to keep for diagnostics (dropped if the file fails)."""

    index: int
    entry: FileEntry
    rows: list[dict[str, Any]]


TaskEvent = BatchConverted | RowErrors
Report = Callable[[TaskEvent], None]


@dataclass(frozen=True)
class ConversionResult:
    index: int
    entry: FileEntry
    records_in: int = 0
    records_out: int = 0
    records_failed: int = 0
    data_files: list[Any] = field(default_factory=list)
    bytes_written: int = 0
    losses: list[Mapping[str, Mapping[str, int]]] = field(default_factory=list)
    row_errors_dropped: int = 0  # rejected rows beyond the batch's room: counted, not kept
    error: LakefeedError | None = None  # the file failed; nothing of it is kept


class _ReportFailed(Exception):
    """``report`` raised (the run is cancelled, or its records failed): not the file's fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


def convert_file(task: ConversionTask, report: Report) -> ConversionResult:
    """Convert one file; its failure is the result's ``error`` (a changed file is reported as
    the change). An error ``report`` raises is the run's, not the file's: the file's data
    files are deleted and the error is raised as it came."""

    def emit(event: TaskEvent) -> None:
        try:
            report(event)
        except BaseException as exc:
            raise _ReportFailed(exc) from None

    entry, session = task.entry, task.source.session()
    writer = SourceWriter(
        task.output,
        task.index,
        present_leaf_ids(task.output.schema, task.inspected.schema),
    )
    rows_in = rows_out = rows_failed = 0
    room, dropped = task.row_error_room, 0
    pending: list[dict[str, Any]] = []
    losses: list[Mapping[str, Mapping[str, int]]] = []
    try:
        # The listed version, or FileChangedWhileReading (pinned, or re-statted around it).
        with session.reading(entry) as source:
            for batch in task.format.batches(source, task.inspected, batch_rows=task.batch_rows):
                conformed = task.target.conform(batch)
                good = conformed.data
                if good.num_rows:
                    _write(writer, _with_lineage(good, conformed.good, rows_in, entry, task))
                if conformed.losses:
                    losses.append(conformed.losses)
                if conformed.errors and task.keep_row_errors:
                    kept = conformed.errors[: max(room, 0)]
                    dropped += len(conformed.errors) - len(kept)
                    room -= len(kept)
                    pending.extend(_row_errors(batch, kept, rows_in, entry))
                rows_in += batch.num_rows
                rows_out += good.num_rows
                rows_failed += len(conformed.errors)
                if len(pending) >= ROW_ERROR_CHUNK:
                    emit(RowErrors(task.index, entry, pending))
                    pending = []
                emit(
                    BatchConverted(task.index, entry, rows_in, good.num_rows, len(conformed.errors))
                )
    except _ReportFailed as failed:
        writer.discard()
        original = failed.original
        raise original from original.__cause__
    except Exception as exc:
        writer.discard()
        error = session.translate(exc, f"reading {entry.path!r}")
        # session.reading() already told a changed file from a broken one; a failure of the
        # dataset's writer (DatasetError) says nothing about the source file.
        error = task.format.read_error(entry, exc, error)
        return ConversionResult(task.index, entry, row_errors_dropped=dropped, error=error)
    data_files = writer.finish()
    if pending:
        report(RowErrors(task.index, entry, pending))  # its error, if any, goes on as it is
    return ConversionResult(
        task.index,
        entry,
        records_in=rows_in,
        records_out=rows_out,
        records_failed=rows_failed,
        data_files=data_files,
        bytes_written=writer.bytes_written,
        losses=losses,
        row_errors_dropped=dropped,
    )


def _with_lineage(
    good: pa.RecordBatch, indexes: pa.Array, offset: int, entry: FileEntry, task: ConversionTask
) -> pa.Table:
    import pyarrow.compute as pc

    n = good.num_rows
    now = pa.scalar(datetime.now(tz=UTC), pa.timestamp("us", tz="UTC"))
    lineage = pa.StructArray.from_arrays(
        [
            pa.repeat(pa.scalar(entry.path, pa.string()), n),
            pc.add(indexes.cast(pa.int64()), offset),
            pa.repeat(pa.scalar(task.output.batch_id, pa.string()), n),
            pa.repeat(now, n),
        ],
        fields=list(SYSTEM_TYPE),
    )
    table = pa.Table.from_batches([good])
    return table.append_column(pa.field(SYSTEM_COLUMN, SYSTEM_TYPE, nullable=False), lineage)


def _row_errors(
    batch: pa.RecordBatch, errors: list[Any], offset: int, entry: FileEntry
) -> list[dict[str, Any]]:
    if not errors:
        return []
    originals = batch.take(pa.array([e.row for e in errors], pa.int64())).to_pylist()
    return [
        {
            "source_file": entry.path,
            "row_index": offset + error.row,
            "errors": [f.to_dict() for f in error.errors],
            "record": jsonable(_maps_as_objects(original)),
        }
        for error, original in zip(errors, originals, strict=True)
    ]


def _maps_as_objects(value: Any) -> Any:
    """pyarrow gives map values as lists of (key, value) tuples; diagnostics show objects."""
    if isinstance(value, dict):
        return {k: _maps_as_objects(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _maps_as_objects(v) for k, v in value}
        return [_maps_as_objects(v) for v in value]
    return value


def _write(writer: SourceWriter, data: pa.Table) -> None:
    """Rows into the source's data files. A failure there (the warehouse full or unreachable)
    is the dataset's, not the source file's: the file fails for this run only."""
    try:
        writer.write(data)
    except Exception as exc:
        raise DatasetError(
            f"Writing the batch's data files failed: {type(exc).__name__}: {exc}",
            fix="Check that the warehouse (LAKEFEED_WAREHOUSE) is writable and has room.",
        ) from exc
