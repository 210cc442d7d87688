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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.datasets.iceberg import SYSTEM_COLUMN, SYSTEM_TYPE
from lakefeed.datasets.warehouse import warehouse_error
from lakefeed.datasets.writer import SourceWriter, present_leaf_ids
from lakefeed.errors import DatasetError, LakefeedError
from lakefeed.formats.base import PartFailed, PartStarted, RejectedRows, RowItem
from lakefeed.schema.conform import INVALID_VALUE
from lakefeed.values import jsonable

if TYPE_CHECKING:
    from lakefeed.datasets.writer import DataFileTarget
    from lakefeed.formats import FileFormat, InspectedFile
    from lakefeed.mappings import CompiledMappingSet
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.storage.access import SourceAccess
    from lakefeed.storage.entries import FileEntry

#: Rows per record batch read from a source file: bounds memory per file being converted.
BATCH_ROWS = 64 * 1024
#: Rejected rows are reported in chunks of this many (never a whole file's in memory).
ROW_ERROR_CHUNK = 1000
#: A value a mapping's function failed on (Data Prep's code).
MAPPER_ERROR = "MAPPER-3700-400"


@dataclass(frozen=True)
class SourceFile:
    """One file of a task: its number in the batch (its events and outcome carry it), the
    listed entry and what inspecting it told."""

    index: int
    entry: FileEntry
    inspected: InspectedFile


@dataclass(frozen=True)
class ConversionTask:
    """One file to convert into data files of its own, or (with :attr:`also`) a group of small
    files converted into shared data files (:mod:`lakefeed.flows.coalesce`)."""

    index: int  # the (first) file's number in its batch; names the task's data files
    entry: FileEntry
    source: SourceAccess
    format: FileFormat
    inspected: InspectedFile  # what ``format`` read of the file while inspecting it
    target: TargetSchema
    output: DataFileTarget
    keep_row_errors: bool  # the flow's error diagnostics
    row_error_room: int  # rejected rows the batch may still keep
    batch_rows: int = BATCH_ROWS
    #: the flow's mapping set (``transformations``), applied to every batch before conforming
    mapping: CompiledMappingSet | None = None
    mapping_id: str | None = None
    #: the small files after the first whose rows go into the same data files; each is read
    #: whole before its rows are added, so one that fails adds nothing
    also: tuple[SourceFile, ...] = ()

    @property
    def files(self) -> tuple[SourceFile, ...]:
        """Every file of the task, the first one first."""
        return (SourceFile(self.index, self.entry, self.inspected), *self.also)


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
    #: an archive's members, each a file of its own (empty for a plain file)
    parts: list[PartOutcome] = field(default_factory=list)
    #: a group's outcome per file, in the task's order (empty for a one-file task): each a
    #: result of its own whose ``data_files`` are empty, as the group's files are this
    #: result's ``data_files`` (and its ``losses`` the group's)
    files: list[ConversionResult] = field(default_factory=list)


class _ReportFailed(Exception):
    """``report`` raised (the run is cancelled, or its records failed): not the file's fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


def convert_file(task: ConversionTask, report: Report) -> ConversionResult:
    """Convert one file; its failure is the result's ``error`` (a changed file is reported as
    the change). An error ``report`` raises is the run's, not the file's: the file's data
    files are deleted and the error is raised as it came.

    An archive's members are files of their own: each gets a :class:`PartOutcome`, and a
    member that cannot be read loses only its own rows. A group of small files
    (:attr:`ConversionTask.also`) is :func:`lakefeed.flows.coalesce.convert_group`'s;
    :func:`lakefeed.flows.tasks.convert` takes either.
    """
    state = _Conversion(task, report)
    entry, session = task.entry, task.source.session()
    try:
        # The listed version, or FileChangedWhileReading (pinned, or re-statted around it).
        with session.reading(entry) as source:
            items = task.format.read_rows(source, task.inspected, batch_rows=task.batch_rows)
            for item in items:
                state.take(item)
        with _writing(task.output):
            data_files = state.writer.finish()
    except _ReportFailed as failed:
        state.writer.discard()
        original = failed.original
        raise original from original.__cause__
    except BaseException as exc:
        state.writer.discard()  # the write in flight, too: nothing left behind
        if not isinstance(exc, Exception):
            raise
        error = session.translate(exc, f"reading {entry.path!r}")
        # session.reading() already told a changed file from a broken one; a failure of the
        # dataset's writer (DatasetError) says nothing about the source file.
        error = task.format.read_error(entry, exc, error)
        if state.part is not None and not isinstance(error, DatasetError):
            error = _in_member(error, state.part.name, entry)
        return ConversionResult(task.index, entry, row_errors_dropped=state.dropped, error=error)
    return state.finish(data_files)


@dataclass
class PartOutcome:
    """One member of an archive: what it gave, or why it gave nothing."""

    name: str  # inside the archive
    path: str  # ``<archive path>!/<name>``: how metrics, errors and lineage name it
    records_in: int = 0
    records_out: int = 0
    records_failed: int = 0
    error: LakefeedError | None = None


def member_path(entry: FileEntry, name: str) -> str:
    """How an archive member is named in metrics, row errors and lineage."""
    return f"{entry.path}!/{name}"


class _Conversion:
    """The running state of one file's conversion: counts, rejected rows waiting to be
    reported, the current archive member."""

    def __init__(self, task: ConversionTask, report: Report) -> None:
        self.task = task
        self.report = report
        present = (
            present_leaf_ids(task.output.schema, task.inspected.schema)
            if task.mapping is None and not task.format.compressible
            else None  # rows of text formats and mapped rows may have any of the fields
        )
        self.writer = SourceWriter(task.output, task.index, present)
        self.rows_in = self.rows_out = self.rows_failed = 0
        self.room, self.dropped = task.row_error_room, 0
        self.pending: list[dict[str, Any]] = []
        self.losses: list[Mapping[str, Mapping[str, int]]] = []
        self.parts: list[PartOutcome] = []
        self.part: PartOutcome | None = None
        self.mark = 0
        self.part_rows = 0  # rows read of the current member (its row indexes)
        self.now = datetime.now(tz=UTC)

    @property
    def source_name(self) -> str:
        return self.part.path if self.part is not None else self.task.entry.path

    def emit(self, event: TaskEvent) -> None:
        try:
            self.report(event)
        except BaseException as exc:
            raise _ReportFailed(exc) from None

    def take(self, item: RowItem) -> None:
        if isinstance(item, PartStarted):
            self._flush_row_errors()  # the member before it is done: its rejected rows stand
            self.part = PartOutcome(item.name, member_path(self.task.entry, item.name))
            self.parts.append(self.part)
            with _writing(self.task.output):
                self.mark = self.writer.checkpoint()
            self.part_rows = 0
        elif isinstance(item, PartFailed):
            self._part_failed(item)
        elif isinstance(item, RejectedRows):
            self._rejected(item)
        else:
            self._batch(item)

    def _part_failed(self, item: PartFailed) -> None:
        part = self.part
        if part is None or part.name != item.name:
            part = PartOutcome(item.name, member_path(self.task.entry, item.name))
            self.parts.append(part)
        else:  # its rows so far are dropped: a member goes in whole or not at all
            with _writing(self.task.output):
                self.writer.rollback(self.mark)
            self.rows_in -= part.records_in
            self.rows_out -= part.records_out
            self.rows_failed -= part.records_failed
            # Its rejected rows are all still pending (held until the member ends): drop them.
            kept = [r for r in self.pending if r["source_file"] != part.path]
            self.room += len(self.pending) - len(kept)
            self.pending = kept
        part.records_in = part.records_out = part.records_failed = 0
        part.error = _in_member(item.error, item.name, self.task.entry)
        self.part = None

    def _rejected(self, item: RejectedRows) -> None:
        rows = [
            {
                "source_file": self.source_name,
                "row_index": self.part_rows + i,
                "errors": [
                    {
                        "code": INVALID_VALUE,
                        "message": row.message,
                        "field": None,
                        "line": row.number,
                    }
                ],
                "record": {} if row.text is None else {"_text": row.text},
            }
            for i, row in enumerate(item.rows)
        ]
        self._count(len(rows), 0, len(rows))
        self._keep_errors(rows)
        self.emit(BatchConverted(self.task.index, self.task.entry, self.rows_in, 0, len(rows)))

    def _batch(self, batch: pa.RecordBatch) -> None:
        task = self.task
        mapped_failures: dict[int, list[dict[str, Any]]] = {}
        shaped, kept = batch, None
        if task.mapping is not None:
            shaped, kept, mapped_failures = _apply_mapping(task, batch, self.now)
        conformed = task.target.conform(shaped)
        good = conformed.data
        good_rows = conformed.good if kept is None else kept.take(conformed.good)
        if good.num_rows:
            with _writing(self.task.output):
                self.writer.write(_with_lineage(good, good_rows, self.part_rows, self))
        if conformed.losses:
            self.losses.append(conformed.losses)
        failures = dict(mapped_failures)
        rows = [error.row for error in conformed.errors]
        if kept is not None and rows:  # indexes in the mapped rows → in the batch read
            rows = kept.take(pa.array(rows, pa.int64())).to_pylist()
        for row, error in zip(rows, conformed.errors, strict=True):
            failures.setdefault(row, []).extend(f.to_dict() for f in error.errors)
        if failures:
            self._keep_errors(_row_errors(batch, failures, self.part_rows, self.source_name))
        self._count(batch.num_rows, good.num_rows, len(failures))
        if len(self.pending) >= ROW_ERROR_CHUNK and self.part is None:
            self._flush_row_errors()  # an archive member's wait for its end (it may fail)
        self.emit(
            BatchConverted(task.index, task.entry, self.rows_in, good.num_rows, len(failures))
        )

    def _count(self, rows_in: int, rows_out: int, rows_failed: int) -> None:
        self.rows_in += rows_in
        self.rows_out += rows_out
        self.rows_failed += rows_failed
        self.part_rows += rows_in
        if self.part is not None:
            self.part.records_in += rows_in
            self.part.records_out += rows_out
            self.part.records_failed += rows_failed

    def _flush_row_errors(self) -> None:
        if self.pending:
            self.emit(RowErrors(self.task.index, self.task.entry, self.pending))
            self.pending = []

    def _keep_errors(self, rows: list[dict[str, Any]]) -> None:
        if not self.task.keep_row_errors:
            return
        kept = rows[: max(self.room, 0)]
        self.dropped += len(rows) - len(kept)
        self.room -= len(kept)
        self.pending.extend(kept)

    def finish(self, data_files: list[Any]) -> ConversionResult:
        task = self.task
        if self.pending:
            self.report(RowErrors(task.index, task.entry, self.pending))  # its error goes on
        return ConversionResult(
            task.index,
            task.entry,
            records_in=self.rows_in,
            records_out=self.rows_out,
            records_failed=self.rows_failed,
            data_files=data_files,
            bytes_written=self.writer.bytes_written,
            losses=self.losses,
            row_errors_dropped=self.dropped,
            parts=self.parts,
        )


def _apply_mapping(
    task: ConversionTask, batch: pa.RecordBatch, now: datetime
) -> tuple[pa.RecordBatch, pa.Array | None, dict[int, list[dict[str, Any]]]]:
    """The batch mapped by the flow's mapping set: the rows no mapping failed on (and their
    indexes in ``batch``), and the failures by row."""
    assert task.mapping is not None
    mapped = task.mapping.apply(batch, now)
    failures: dict[int, list[dict[str, Any]]] = {}
    for row, destination, message in mapped.failures:
        failures.setdefault(row, []).append(
            {
                "code": MAPPER_ERROR,
                "message": f"mapping set {task.mapping_id}: {message}",
                "field": destination,
            }
        )
    if not failures:
        return mapped.data, None, failures
    import pyarrow.compute as pc

    rows = pa.array(range(batch.num_rows), pa.int64())
    keep = pc.invert(pc.is_in(rows, value_set=pa.array(sorted(failures), pa.int64())))
    return mapped.data.filter(keep), rows.filter(keep), failures


def _in_member(error: LakefeedError, name: str, entry: FileEntry) -> LakefeedError:
    """``error`` said of the archive member ``name`` (when it does not name it already)."""
    path = member_path(entry, name)
    if name in error.message:  # the format named the member already
        return error
    return error.with_message(f"{path}: {error.message}")


def _with_lineage(
    good: pa.RecordBatch, indexes: pa.Array, offset: int, state: _Conversion
) -> pa.Table:
    """``good`` with the lineage column: its source file (or member), row, batch and the time
    the file's conversion began (what ``now()`` of its mapping says too)."""
    import pyarrow.compute as pc

    n = good.num_rows
    now = pa.scalar(state.now, pa.timestamp("us", tz="UTC"))
    lineage = pa.StructArray.from_arrays(
        [
            pa.repeat(pa.scalar(state.source_name, pa.string()), n),
            pc.add(indexes.cast(pa.int64()), offset),
            pa.repeat(pa.scalar(state.task.output.batch_id, pa.string()), n),
            pa.repeat(now, n),
        ],
        fields=list(SYSTEM_TYPE),
    )
    table = pa.Table.from_batches([good])
    return table.append_column(pa.field(SYSTEM_COLUMN, SYSTEM_TYPE, nullable=False), lineage)


def _row_errors(
    batch: pa.RecordBatch, failures: Mapping[int, list[dict[str, Any]]], offset: int, name: str
) -> list[dict[str, Any]]:
    rows = sorted(failures)
    originals = batch.take(pa.array(rows, pa.int64())).to_pylist()
    return [
        {
            "source_file": name,
            "row_index": offset + row,
            "errors": failures[row],
            "record": jsonable(_maps_as_objects(original)),
        }
        for row, original in zip(rows, originals, strict=True)
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


@contextmanager
def _writing(target: DataFileTarget) -> Iterator[None]:
    """Around the source writer's calls: a failure there (the warehouse full, unreachable or
    refusing its credentials; raised by the call after the write that failed, as writes run in
    a writer thread) is the dataset's, not the source file's: the file fails for this run only,
    with a :class:`~lakefeed.errors.WarehouseError` that has the warehouse's secrets removed."""
    try:
        yield
    except DatasetError:
        raise
    except Exception as exc:
        error = warehouse_error(
            exc,
            action="writing the batch's data files",
            properties=target.io_properties,
            location=target.data_prefix,
        )
        if not isinstance(error, DatasetError):
            error = DatasetError(
                f"Writing the batch's data files failed: {error}",
                fix="Check that the warehouse (LAKEFEED_WAREHOUSE) is writable and has room.",
            )
        raise error from exc
