"""Compaction: a table's small data files rewritten into files of a target size, in one
``replace`` snapshot (no row added or removed; the ``_lakefeed`` lineage column carried through
as it is).

Rows stream through: each input file is read a record batch at a time, projected onto the
table's schema by field id (a column an input file lacks reads as null), gathered into row
groups of bounded size and written by a rolling :class:`~lakefeed.datasets.writer.SourceWriter`
under ``data/lakefeed-compact-<id>/``, so memory holds a few row groups, never the table.

The commit replaces exactly the files that were read. A run may commit meanwhile: its appended
files are kept (appends never conflict with a rewrite), and the commit is retried on the new
head as long as every rewritten file is still live there. When another commit removed one of
them (another compaction), the compaction gives way: nothing changes and its new files are
deleted. So it does when a file it wrote is gone before its commit (an orphan removal
forced under its 24-hour minimum took it). Snapshots of batches are never touched, so
recovery still finds a batch by its snapshot's ``lakefeed.batch-id``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from lakefeed.datasets.struct_fill import fill_under_null_parents
from lakefeed.datasets.writer import DataFileTarget, SourceWriter
from lakefeed.errors import DatasetError, MaintenanceConflict, MaintenanceNotSupported

DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024
DEFAULT_MIN_INPUT_FILES = 5
#: Files smaller than this share of the target size are rewritten; larger ones are left.
SMALL_FILE_SHARE = 0.75
#: Rows gathered in memory (Arrow bytes) before they are written as one row group.
ROW_GROUP_BYTES = 32 * 1024 * 1024
#: Snapshot summary property naming the maintenance that made a snapshot.
MAINTENANCE_PROPERTY = "lakefeed.maintenance"
#: Commits of one compaction, each with pyiceberg's own retries inside.
COMMIT_ATTEMPTS = 5


@dataclass(frozen=True)
class CompactionResult:
    """What a compaction did (or, with ``dry_run``, would do: ``files_after`` and
    ``bytes_after`` are then estimates)."""

    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    rewritten_files: int  # small files read (and replaced)
    written_files: int
    rows: int  # rows rewritten: as many as were read
    snapshot_id: int | None  # the replace snapshot; None when nothing was committed
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}


def compact_table(
    table: Any,
    *,
    target_file_bytes: int = DEFAULT_TARGET_FILE_BYTES,
    min_input_files: int = DEFAULT_MIN_INPUT_FILES,
    dry_run: bool = False,
) -> CompactionResult:
    """Rewrite the table's data files smaller than :data:`SMALL_FILE_SHARE` of
    ``target_file_bytes`` into files of about that size, in one ``replace`` snapshot; nothing
    when fewer than ``min_input_files`` are small. :class:`MaintenanceConflict` when another
    commit removed files it rewrote (nothing changed then)."""
    table.refresh()
    snapshot = table.current_snapshot()
    live = [] if snapshot is None else _live_data_files(table, snapshot)
    files_before = len(live)
    bytes_before = sum(f.file_size_in_bytes for _, f in live)
    small = [
        (seq, f) for seq, f in live if f.file_size_in_bytes < target_file_bytes * SMALL_FILE_SHARE
    ]
    small.sort(key=lambda item: (item[0], item[1].file_path))  # oldest rows first
    inputs = [f for _, f in small]
    input_bytes = sum(f.file_size_in_bytes for f in inputs)
    unchanged = CompactionResult(
        files_before, bytes_before, files_before, bytes_before, 0, 0, 0, None, dry_run
    )
    if len(inputs) < max(min_input_files, 2):
        return unchanged
    rows = sum(f.record_count for f in inputs)
    if dry_run:
        estimate = max(1, math.ceil(input_bytes / target_file_bytes))
        return CompactionResult(
            files_before, bytes_before, files_before - len(inputs) + estimate,
            bytes_before, len(inputs), estimate, rows, None, dry_run=True,
        )  # fmt: skip
    written = _rewrite(table, inputs, target_file_bytes)
    written_rows = sum(f.record_count for f in written)
    if written_rows != rows:
        _drop(table.io, written)
        raise DatasetError(
            f"Compaction read {rows} rows from {len(inputs)} data files but wrote "
            f"{written_rows}; nothing was committed.",
            fix="Report this as a bug; the table is unchanged.",
        )
    snapshot_id = _commit(table, inputs, written)
    written_bytes = sum(f.file_size_in_bytes for f in written)
    return CompactionResult(
        files_before=files_before,
        bytes_before=bytes_before,
        files_after=files_before - len(inputs) + len(written),
        bytes_after=bytes_before - input_bytes + written_bytes,
        rewritten_files=len(inputs),
        written_files=len(written),
        rows=rows,
        snapshot_id=snapshot_id,
    )


def _live_data_files(table: Any, snapshot: Any) -> list[tuple[int, Any]]:
    """The data files live in ``snapshot`` with their data sequence numbers; refused for a
    layout compaction does not handle."""
    from pyiceberg.manifest import FileFormat, ManifestContent

    if not table.spec().is_unpartitioned() or len(table.metadata.partition_specs) > 1:
        raise MaintenanceNotSupported(
            f"Table {_name(table)} is partitioned: lakefeed compacts unpartitioned tables only.",
            fix="Compact it with an engine that rewrites partitions (Spark, Trino).",
        )
    found = []
    for manifest in snapshot.manifests(table.io):
        entries = manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if manifest.content != ManifestContent.DATA:
            if entries:
                raise MaintenanceNotSupported(
                    f"Table {_name(table)} has delete files (written by another engine): "
                    "compacting would have to apply them.",
                    fix="Compact it with the engine that wrote the deletes.",
                )
            continue
        for entry in entries:
            if entry.data_file.file_format == FileFormat.PARQUET:
                found.append((entry.sequence_number or 0, entry.data_file))
    return found


def _rewrite(table: Any, inputs: list[Any], target_file_bytes: int) -> list[Any]:
    """The rows of ``inputs`` written into new data files (not committed)."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan
    from pyiceberg.table import FileScanTask

    compaction_id = uuid.uuid4().hex
    prefix = f"{table.location().rstrip('/')}/data/lakefeed-compact-{compaction_id}"
    # The compaction's id stands where a batch's would: it names nothing else.
    target = DataFileTarget.of(table, batch_id=compaction_id, run_id="", data_prefix=prefix)
    present = _present_leaves(inputs)
    writer = SourceWriter(target, 1, present, file_bytes=target_file_bytes)
    shape = target.shape(present)  # the columns the inputs have, with their field ids
    scan = ArrowScan(table.metadata, table.io, shape.iceberg, AlwaysTrue())
    limit = min(ROW_GROUP_BYTES, target_file_bytes)

    def shaped(batches: list[pa.RecordBatch]) -> pa.Table:
        # The scan's rows have the table's types already: labelled with the field ids, not
        # cast (a cast refuses what a null struct hides, see struct_fill).
        rows = fill_under_null_parents(pa.Table.from_batches(batches))
        return pa.Table.from_arrays(rows.columns, schema=shape.arrow)

    try:
        pending: list[pa.RecordBatch] = []
        size = 0
        for data_file in inputs:
            # One file at a time, a record batch at a time: the public to_record_batches
            # reads every task at once, each whole, into memory.
            for batch in scan._record_batches_from_scan_tasks_and_deletes(
                [FileScanTask(data_file)], {}
            ):
                pending.append(batch)
                size += batch.nbytes
                if size >= limit:
                    writer.write(shaped(pending))
                    pending, size = [], 0
        if pending:
            writer.write(shaped(pending))
        return writer.finish()
    except BaseException:
        writer.discard()
        raise


def _present_leaves(inputs: list[Any]) -> set[int] | None:
    """The leaf fields any input holds (a data file's column sizes name every column it has),
    so the new files hold those columns only, as the writer keeps them; None (every column)
    when a file does not say."""
    present: set[int] = set()
    for data_file in inputs:
        if not data_file.column_sizes:
            return None
        present.update(data_file.column_sizes)
    return present


def _commit(table: Any, removed: list[Any], added: list[Any]) -> int:
    """Replace ``removed`` with ``added`` in one snapshot; returns its id. Retried on a new
    head while every removed file is still live there; otherwise the new files are deleted
    and :class:`MaintenanceConflict` raised."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    for attempt in range(COMMIT_ATTEMPTS):
        _check_written(table, added)
        try:
            if attempt:
                table.refresh()
            tx = table.transaction()
            rewrite = _rewrite_files_class()(
                operation=_overwrite(),
                transaction=tx,
                io=table.io,
                snapshot_properties={MAINTENANCE_PROPERTY: "compact"},
            )
            for data_file in removed:
                rewrite.delete_data_file(data_file)
            for data_file in added:
                rewrite.append_data_file(data_file)
            rewrite.commit()
            tx.commit_transaction()
            return int(rewrite.snapshot_id)
        except ValidationException as exc:
            # Only a commit that did not land raises this: the new files are nobody's.
            _drop(table.io, added)
            raise MaintenanceConflict(
                f"Compaction of table {_name(table)} gave way to a concurrent change it cannot "
                f"carry over ({exc}). Nothing changed.",
                fix="Run the compaction again.",
            ) from exc
        except CommitFailedException as exc:
            if attempt == COMMIT_ATTEMPTS - 1:
                _drop(table.io, added)
                raise MaintenanceConflict(
                    f"Compaction of table {_name(table)} could not commit: other commits kept "
                    f"changing the table ({exc}). Nothing changed.",
                    fix="Run the compaction again when fewer runs write to the dataset.",
                ) from exc
            time.sleep(0.05 * 2**attempt)  # backoff between whole commits, not a wait for state
    raise AssertionError("unreachable")


def _check_written(table: Any, added: list[Any]) -> None:
    """:class:`MaintenanceConflict` (the rest of ``added`` deleted) when a file the compaction
    wrote is gone: an orphan removal with a short retention took it, and a snapshot naming it
    would lose its rows once the files it replaced are expired."""
    missing = [f.file_path for f in added if not table.io.new_input(f.file_path).exists()]
    if missing:
        _drop(table.io, added)
        raise MaintenanceConflict(
            f"Compaction of table {_name(table)} lost {len(missing)} of the files it wrote "
            f"before its commit (e.g. {missing[0]}; removed as orphans?). Nothing changed.",
            fix="Run the compaction again, and no orphan removal with a retention under 24h "
            "while it runs.",
        )


def _drop(io: Any, data_files: list[Any]) -> None:
    for data_file in data_files:
        with contextlib.suppress(Exception):
            io.delete(data_file.file_path)


def _overwrite() -> Any:
    from pyiceberg.table.snapshots import Operation

    return Operation.OVERWRITE


@functools.cache
def _rewrite_files_class() -> Any:
    """pyiceberg's file-overwrite producer as a ``replace``: it records the operation Iceberg
    gives a rewrite, and on a retry it checks only what a rewrite must (each removed file still
    live, no new deletes for it) instead of refusing every concurrent append."""
    from pyiceberg.table.snapshots import Operation, Summary
    from pyiceberg.table.update.snapshot import _OverwriteFiles
    from pyiceberg.table.update.validate import (
        _validate_data_files_exist,
        _validate_no_new_deletes_for_data_files,
    )
    from pyiceberg.typedef import EMPTY_DICT

    class RewriteFiles(_OverwriteFiles):
        def _summary(self, snapshot_properties: Any = EMPTY_DICT) -> Any:
            # pyiceberg sums up overwrites only; a replace has the same totals.
            summary = super()._summary(snapshot_properties)
            return Summary(Operation.REPLACE, **summary.additional_properties)

        def _validate_concurrency(self) -> None:
            window = self._commit_window
            if window is None or window.is_empty() or window.head is None:
                return
            table = self._transaction._table
            removed = self._deleted_data_files
            _validate_data_files_exist(table, window.head, removed, window.base)
            _validate_no_new_deletes_for_data_files(table, window.head, None, removed, window.base)

    return RewriteFiles


def _name(table: Any) -> str:
    return ".".join(table.name())


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)
