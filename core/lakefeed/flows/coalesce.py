"""Small source files converted together into shared data files (a group task: a
:class:`~lakefeed.flows.convert.ConversionTask` with ``also``).

One data file per small source file costs a data file's open, footer and statistics each, a
manifest entry each, and makes the table slow to read. A group's files are read one after
another, each whole (they are small: at most one record batch of rows each, see
:func:`groupable`), and only a file read whole without error joins the group's rows: one that
is corrupt, changed while read or unreadable loses only its own rows. The files read are
conformed to the target schema together, many at once (conforming costs per call, not per row),
their rows get their own lineage (source file, row index, batch, the time the file's read began)
and go into one :class:`~lakefeed.datasets.writer.SourceWriter`, rolling over at the table's
target file size.

Each file still has its own outcome (a :class:`~lakefeed.flows.convert.ConversionResult` in the
group result's ``files``) and its own events, exactly as a file converted alone reports them.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.datasets.iceberg import SYSTEM_COLUMN, SYSTEM_TYPE
from lakefeed.datasets.writer import SourceWriter, present_leaf_ids
from lakefeed.errors import LakefeedError
from lakefeed.flows.convert import (
    ROW_ERROR_CHUNK,
    BatchConverted,
    ConversionResult,
    ConversionTask,
    Report,
    RowErrors,
    SourceFile,
    TaskEvent,
    _ReportFailed,
    _row_errors,
    _writing,
    convert_file,
)

if TYPE_CHECKING:
    from lakefeed.datasets.writer import DataFileTarget
    from lakefeed.formats import FileFormat, InspectedFile
    from lakefeed.storage.session import StorageSession

#: A file is small (grouped with others) below this share of the target file size.
SMALL_FILE_SHARE = 4
#: Most files in one group: their footers are held until the group is converted.
MAX_GROUP_FILES = 1000
#: Files of a group decoded ahead of the one being conformed.
DECODE_AHEAD = 4


def groupable(
    inspected: InspectedFile, file_format: FileFormat, *, mapped: bool, target_bytes: int
) -> bool:
    """Whether a file goes into a group: its rows fit one record batch (so reading it whole
    holds no more than converting it would), it is under a quarter of the target file size,
    and its rows need no mapping and come from a format without archives."""
    from lakefeed.flows.convert import BATCH_ROWS

    return (
        not mapped
        and not file_format.compressible
        and inspected.num_rows is not None
        and inspected.num_rows <= BATCH_ROWS
        and inspected.entry.size * SMALL_FILE_SHARE <= target_bytes
    )


#: The smallest group a parallel executor's share makes (below, groups cost more than they save).
MIN_SHARED_GROUP_BYTES = 8 * 1024 * 1024


def group_bytes(target: DataFileTarget, *, input_bytes: int, parallelism: int) -> int:
    """Input bytes at which a group closes: the target file size (Parquet in, Parquet out,
    about as large) — or, for an executor converting ``parallelism`` tasks at once, less when
    the batch's ``input_bytes`` would otherwise make too few groups to keep it busy (two
    groups per worker at least, none under :data:`MIN_SHARED_GROUP_BYTES`)."""
    if parallelism <= 1:
        return target.target_file_bytes
    share = max(input_bytes // (2 * parallelism), MIN_SHARED_GROUP_BYTES)
    return min(target.target_file_bytes, share)


def group_full(files: int, input_bytes: int, limit: int) -> bool:
    """Whether a group of ``files`` holding ``input_bytes`` takes no more files."""
    return files >= MAX_GROUP_FILES or input_bytes >= limit


@dataclass
class _Fetched:
    """A file of the group whose bytes were read: decoding, or why they could not be read."""

    file: SourceFile
    began: datetime  # when its read began (its rows' lineage time)
    rows: int  # as inspecting it told
    decoding: Future[list[pa.RecordBatch] | None] | Exception


def _whole(source: Any) -> bytes:
    """The bytes of what :meth:`~lakefeed.storage.session.StorageSession.reading` gave: a
    local path, or a file object."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            return file.read()
    return bytes(source.read())


def _decode(
    file_format: FileFormat, data: bytes, inspected: InspectedFile, batch_rows: int
) -> list[pa.RecordBatch] | None:
    """A file's record batches from its bytes (on a decoding thread); None when its format
    yields more than record batches for it."""
    batches: list[pa.RecordBatch] = []
    for item in file_format.read_rows(io.BytesIO(data), inspected, batch_rows=batch_rows):
        if not isinstance(item, pa.RecordBatch):
            return None
        batches.append(item)
    return batches


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _decode_pool() -> ThreadPoolExecutor:
    """The decoding threads of this process (made again in a forked child)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        workers = max(2, os.cpu_count() or 2)
        _POOL = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="lakefeed-decode"))
    return _POOL[1]


@dataclass
class _Read:
    """A file of the group, read whole."""

    file: SourceFile
    batches: list[pa.RecordBatch]
    rows: int
    began: datetime  # when its read began (its rows' lineage time)


def convert_group(task: ConversionTask, report: Report) -> ConversionResult:
    """Convert a group task: one outcome per file in ``files``, the group's data files in
    ``data_files``. An error ``report`` raises is the run's: the group's data files are
    deleted and the error raised as it came. A failure of the shared writer (the warehouse)
    fails every file not failed already."""
    return _Group(task, report).run()


class _Group:
    def __init__(self, task: ConversionTask, report: Report) -> None:
        self.task = task
        self.report = report
        self.session: StorageSession = task.source.session()
        self.writer = SourceWriter(task.output, task.index, self._present(task))
        self.outcomes: dict[int, ConversionResult] = {}
        self.losses: list[Any] = []
        self.room = task.row_error_room
        self.extra_files: list[Any] = []

    @staticmethod
    def _present(task: ConversionTask) -> set[int] | None:
        """The table's leaves any of the files has (the others are null in every row)."""
        if task.mapping is not None or task.format.compressible:
            return None
        present: set[int] = set()
        seen: list[pa.Schema] = []
        for file in task.files:
            schema = file.inspected.schema
            if not any(schema.equals(s) for s in seen):
                seen.append(schema)
                present |= present_leaf_ids(task.output.schema, schema)
        return present

    def run(self) -> ConversionResult:
        task = self.task
        pending: list[_Read] = []
        rows = 0
        try:
            for read in self._reads():
                fits = rows + read.rows <= task.batch_rows
                if pending and not (fits and _same_schema(pending[0], read)):
                    self._conform(pending)
                    pending, rows = [], 0
                pending.append(read)
                rows += read.rows
            self._conform(pending)
            with _writing(task.output):
                data_files = self.writer.finish()
        except _ReportFailed as failed:
            self.writer.discard()
            self._discard_extra()
            original = failed.original
            raise original from original.__cause__
        except BaseException as exc:
            self.writer.discard()  # the write in flight, too: nothing left behind
            self._discard_extra()
            if not isinstance(exc, Exception):
                raise
            error = (
                exc
                if isinstance(exc, LakefeedError)
                else self.session.translate(exc, f"converting {len(task.files)} small files")
            )
            for file in task.files:
                outcome = self.outcomes.get(file.index)
                if outcome is None or outcome.error is None:
                    self.outcomes[file.index] = ConversionResult(
                        file.index, file.entry, error=error
                    )
            data_files, self.losses = [], []
        return ConversionResult(
            task.index,
            task.entry,
            data_files=data_files + self.extra_files,
            bytes_written=self.writer.bytes_written
            + sum(f.file_size_in_bytes for f in self.extra_files),
            losses=self.losses,
            files=[self.outcomes[file.index] for file in task.files],
        )

    # -- reading -----------------------------------------------------------------------------

    def _reads(self) -> Iterator[_Read]:
        """The group's files read whole, in order. Each file's bytes are read here, one file
        after another (storage sees what converting the files one by one shows it), and
        decoded on threads (pyarrow decodes without the GIL) a few files ahead of the one
        being conformed, at most a record batch of rows ahead."""
        window: deque[_Fetched] = deque()
        ahead_rows = 0
        try:
            for file in self.task.files:
                window.append(self._fetch(file))
                ahead_rows += window[-1].rows
                while window and (len(window) > DECODE_AHEAD or ahead_rows > self.task.batch_rows):
                    fetched = window.popleft()
                    ahead_rows -= fetched.rows
                    read = self._decoded(fetched)
                    if read is not None:
                        yield read
            while window:
                read = self._decoded(window.popleft())
                if read is not None:
                    yield read
        finally:
            for fetched in window:  # stopped early: what is still decoding is dropped
                if isinstance(fetched.decoding, Future):
                    fetched.decoding.cancel()

    def _fetch(self, file: SourceFile) -> _Fetched:
        """Read ``file``'s bytes (of the listed version, or a failure) and start decoding."""
        began = datetime.now(tz=UTC)
        rows = file.inspected.num_rows or 0
        try:
            with self.session.reading(file.entry) as source:
                data = _whole(source)
        except Exception as exc:
            return _Fetched(file, began, rows, exc)
        task = self.task
        decoding = _decode_pool().submit(
            _decode, task.format, data, file.inspected, task.batch_rows
        )
        return _Fetched(file, began, rows, decoding)

    def _decoded(self, fetched: _Fetched) -> _Read | None:
        """The file read whole; None when it is done already (failed, empty, or converted on
        its own because its format yields more than record batches)."""
        file, entry = fetched.file, fetched.file.entry
        try:
            if isinstance(fetched.decoding, Exception):
                raise fetched.decoding
            batches = fetched.decoding.result()
        except Exception as exc:
            self.outcomes[file.index] = self._failure(file, exc)
            return None
        if batches is None:  # rejected rows or archive members: the file goes alone
            self._alone(file)
            return None
        rows = sum(b.num_rows for b in batches)
        if not rows:
            self.outcomes[file.index] = ConversionResult(file.index, entry)
            return None
        # Progress (and a chance to heartbeat or cancel) per file read; its rows count once
        # they are conformed.
        self._emit(BatchConverted(file.index, entry, rows, 0, 0))
        return _Read(file, batches, rows, fetched.began)

    def _failure(self, file: SourceFile, exc: Exception) -> ConversionResult:
        """The file's outcome when reading or conforming it raised ``exc`` (as
        :func:`~lakefeed.flows.convert.convert_file` words it)."""
        entry = file.entry
        error = self.session.translate(exc, f"reading {entry.path!r}")
        error = self.task.format.read_error(entry, exc, error)
        return ConversionResult(file.index, entry, error=error)

    def _alone(self, file: SourceFile) -> None:
        """Convert ``file`` as a task of its own (its own data files, kept with the group's)."""
        task = self.task
        single = ConversionTask(
            index=file.index,
            entry=file.entry,
            source=task.source,
            format=task.format,
            inspected=file.inspected,
            target=task.target,
            output=task.output,
            keep_row_errors=task.keep_row_errors,
            row_error_room=self.room,
            batch_rows=task.batch_rows,
            mapping=task.mapping,
            mapping_id=task.mapping_id,
        )
        result = convert_file(single, self._emit)
        if result.error is None:
            if task.keep_row_errors:
                self.room -= max(result.records_failed - result.row_errors_dropped, 0)
            self.extra_files.extend(result.data_files)
            self.losses.extend(result.losses)
            result = ConversionResult(
                result.index,
                result.entry,
                records_in=result.records_in,
                records_out=result.records_out,
                records_failed=result.records_failed,
                row_errors_dropped=result.row_errors_dropped,
                parts=result.parts,
            )
        self.outcomes[file.index] = result

    def _discard_extra(self) -> None:
        """Delete the data files of files converted alone (never raises, as discard)."""
        for data_file in self.extra_files:
            with contextlib.suppress(Exception):
                self.task.output.io.delete(data_file.file_path)
        self.extra_files = []

    # -- conforming and writing --------------------------------------------------------------

    def _conform(self, reads: list[_Read]) -> None:
        """Conform the rows of ``reads`` at once, write the good ones, report each file's."""
        if not reads:
            return
        batches = [b for read in reads for b in read.batches]
        try:
            batch = batches[0] if len(batches) == 1 else pa.concat_batches(batches)
            conformed = self.task.target.conform(batch)
        except Exception as exc:
            if len(reads) > 1:  # find the file it was: each on its own
                for read in reads:
                    self._conform([read])
                return
            self.outcomes[reads[0].file.index] = self._failure(reads[0].file, exc)
            return
        finally:
            for read in reads:
                read.batches = []  # held by ``batch`` now, until it is written
        starts = [0]
        for read in reads[:-1]:
            starts.append(starts[-1] + read.rows)
        if conformed.data.num_rows:
            rows = self._with_lineage(conformed.data, conformed.good, reads, starts)
            with _writing(self.task.output):
                self.writer.write(rows)
        if conformed.losses:
            self.losses.append(conformed.losses)
        failures: list[dict[int, list[dict[str, Any]]]] = [{} for _ in reads]
        if conformed.errors:
            import bisect

            for error in conformed.errors:
                which = bisect.bisect_right(starts, error.row) - 1
                failures[which][error.row] = [f.to_dict() for f in error.errors]
        for read, start, failed in zip(reads, starts, failures, strict=True):
            self._file_converted(read, batch, start, failed)

    def _with_lineage(
        self, good: pa.RecordBatch, indexes: pa.Array, reads: list[_Read], starts: list[int]
    ) -> pa.Table:
        """``good`` (rows ``indexes`` of the files ``reads`` read one after another) with the
        lineage column: each row's own file, its index in that file, the batch, and the time
        that file's read began."""
        import pyarrow.compute as pc

        n = good.num_rows
        stamp = pa.timestamp("us", tz="UTC")
        if len(reads) == 1:
            paths = pa.repeat(pa.scalar(reads[0].file.entry.path, pa.string()), n)
            times = pa.repeat(pa.scalar(reads[0].began, stamp), n)
            rows = indexes.cast(pa.int64())
        else:
            of_row = pa.concat_arrays(
                [pa.repeat(pa.scalar(i, pa.int32()), read.rows) for i, read in enumerate(reads)]
            )
            which = of_row.take(indexes)
            paths = pa.array([r.file.entry.path for r in reads], pa.string()).take(which)
            times = pa.array([r.began for r in reads], stamp).take(which)
            first = pa.array(starts, pa.int64()).take(which)
            rows = pc.subtract(indexes.cast(pa.int64()), first)
        lineage = pa.StructArray.from_arrays(
            [paths, rows, pa.repeat(pa.scalar(self.task.output.batch_id, pa.string()), n), times],
            fields=list(SYSTEM_TYPE),
        )
        table = pa.Table.from_batches([good])
        return table.append_column(pa.field(SYSTEM_COLUMN, SYSTEM_TYPE, nullable=False), lineage)

    def _file_converted(
        self,
        read: _Read,
        batch: pa.RecordBatch,
        start: int,
        failures: dict[int, list[dict[str, Any]]],
    ) -> None:
        """Report one file of the group (as converting it alone would) and keep its outcome."""
        file, task = read.file, self.task
        kept: list[dict[str, Any]] = []
        dropped = 0
        if failures and task.keep_row_errors:
            rows = _row_errors(batch, failures, -start, file.entry.path)
            kept = rows[: max(self.room, 0)]
            dropped = len(rows) - len(kept)
            self.room -= len(kept)
        failed = len(failures)
        self._emit(BatchConverted(file.index, file.entry, read.rows, read.rows - failed, failed))
        for at in range(0, len(kept), ROW_ERROR_CHUNK):
            self._emit(RowErrors(file.index, file.entry, kept[at : at + ROW_ERROR_CHUNK]))
        self.outcomes[file.index] = ConversionResult(
            file.index,
            file.entry,
            records_in=read.rows,
            records_out=read.rows - failed,
            records_failed=failed,
            row_errors_dropped=dropped,
        )

    def _emit(self, event: TaskEvent) -> None:
        try:
            self.report(event)
        except BaseException as exc:
            raise _ReportFailed(exc) from None


def _same_schema(a: _Read, b: _Read) -> bool:
    return bool(a.batches[0].schema.equals(b.batches[0].schema))
