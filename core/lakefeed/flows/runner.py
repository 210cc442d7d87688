"""``FlowRunner``: one run of a flow — plan, inspect, convert, commit, record.

The order is what makes a run safe to kill at any point: the batch's file plan is stored before
any data is written; data files are invisible until the single Iceberg commit, which carries the
run and batch ids; the ledger is marked after the commit. A later run finds an interrupted one
and rolls it forward or back (:mod:`lakefeed.flows.recovery`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.catalog.owners import HEARTBEAT_EVERY_MS
from lakefeed.catalog.records import now_ms
from lakefeed.catalog.runs import MAX_ROW_ERRORS_PER_BATCH, Run, identity_key
from lakefeed.datasets.iceberg import SYSTEM_COLUMN, SYSTEM_TYPE
from lakefeed.datasets.writer import BatchWriter, present_leaf_ids
from lakefeed.errors import (
    CorruptParquet,
    DatasetError,
    FileChangedWhileReading,
    LakefeedError,
    RunCancelled,
    RunInProgress,
    SchemaMismatch,
    StorageError,
)
from lakefeed.flows import metrics as codes
from lakefeed.flows.metrics import LISTED_FAILED_BEFORE, RunMetrics, name_files
from lakefeed.flows.plan import FlowPlan
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.session import FileFailure
from lakefeed.values import jsonable

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.engine import Lakefeed
    from lakefeed.schedules.windows import Window
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.storage.parquet import ParquetFooter
    from lakefeed.storage.session import StorageSession

#: Rows per record batch read from a source file: bounds memory per file being converted.
BATCH_ROWS = 64 * 1024


@dataclass
class RunProgress:
    """Handed to the ``progress`` callback after every record batch and file."""

    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    rows: int = 0
    failed_rows: int = 0
    current_file: str | None = None


class FlowRunner:
    def __init__(
        self,
        lf: Lakefeed,
        flow: Flow,
        *,
        progress: Callable[[RunProgress], None] | None = None,
        retry_failed: bool = False,
        window: Window | None = None,
        only_window_files: bool = False,
        cancel: threading.Event | None = None,
        guard: Callable[[Lakefeed, Flow], None] | None = None,
    ) -> None:
        """``guard(lf, flow)`` runs first and may refuse the run (its error fails the run, as
        the server's ``LAKEFEED_LOCAL_ROOTS`` check does for runs its scheduler starts).
        ``window`` is the span the run covers (a scheduled window, or an on-demand run's
        ``windowStartTime``/``windowEndTime``); with ``only_window_files`` the run takes only
        files last modified inside it. Setting ``cancel`` abandons the run at its next step,
        before its commit and never after."""
        self.lf = lf
        self.flow = flow
        self.progress = progress
        self.retry_failed = retry_failed
        self.window = window
        self.only_window_files = only_window_files
        self.cancel = cancel
        self.guard = guard

    # -- entry point ---------------------------------------------------------------------------

    def run(self) -> Run:
        """Start a run and execute it to the end."""
        return self.execute(self.start())

    def start(self, scheduled: Run | None = None) -> Run:
        """Recover interrupted runs of the flow, then record a new run ``inProgress`` (owned by
        this process) and return it: a server answers with its id, then executes it in a
        worker. Raises RunInProgress when a live run of the flow exists. With ``scheduled`` (a
        run in state ``scheduled``), that run is moved to ``inProgress`` instead."""
        from lakefeed.flows.recovery import recover

        records = self.lf.runs
        for active in records.active_runs(self.flow.id):
            if not recover(self.lf, active):
                raise RunInProgress(
                    f"Flow {self.flow.name!r} has run {active.id} in progress "
                    f"(process {active.row['owner']}).",
                    fix="Wait for it to finish; `lakefeed runs show` follows it.",
                )
        started = now_ms()
        if self.window is not None:
            start = self.window.start
            metrics = RunMetrics(
                started_at=started,
                window_start=None if start is None else start * 1000,
                window_end=self.window.end * 1000,
            )
            params: dict[str, Any] = self.window.to_params()
        else:
            metrics = RunMetrics(started_at=started, window_end=started)
            metrics.window_start = self._window_start()
            params = {}
        if scheduled is not None:
            adopted = records.adopt_scheduled(scheduled.id, metrics.to_flow_service())
            if adopted is None:
                raise RunInProgress(
                    f"Run {scheduled.id} was started by another process.",
                    fix="Follow it with `lakefeed runs show`.",
                )
            run = adopted
        else:
            run = records.start_run(self.flow.id, params, metrics.to_flow_service())
        # Two processes may have started together: the older run wins, the newer one stops.
        others = [r for r in records.active_runs(self.flow.id) if r.id != run.id]
        if any((o.row["created_at"], o.id) < (run.row["created_at"], run.id) for o in others):
            metrics.status = "failed"
            metrics.completed_at = now_ms()
            metrics.error(codes.BATCH_FAILED, "Another run of this flow started at the same time.")
            self._finish(run.id, metrics, None, state_only=True)
            raise RunInProgress(
                f"Flow {self.flow.name!r} has another run in progress.",
                fix="Wait for it to finish.",
            )
        self._metrics = metrics
        return run

    def execute(self, run: Run) -> Run:
        """Execute a run returned by :meth:`start`; returns it finished."""
        _RunExecution(self, run, self._metrics).execute()
        return self.lf.runs.run(run.id)

    def _window_start(self) -> int | None:
        previous = [r for r in self.lf.runs.list_runs(self.flow.id) if r.state == "completed"]
        if previous:
            ends = [
                a["durationSummary"]["extensions"].get("windowEnd")
                for r in previous
                for a in r.row["activities"]
                if a.get("id") == "copyActivity"
            ]
            ends = [e for e in ends if e is not None]
            if ends:
                return int(max(ends))
        schedule = self.flow.schedule
        return None if schedule.backfill else schedule.start_time * 1000

    def _finish(
        self, run_id: str, metrics: RunMetrics, batch_id: str | None, *, state_only: bool = False
    ) -> None:
        source_id = self.flow.source_connection_id
        target_id = self.flow.target_connection_id
        self.lf.runs.update_run(
            run_id,
            state="completed",
            status=metrics.status,
            metrics=metrics.to_flow_service(),
            activities=[]
            if state_only
            else metrics.activities(
                source_connection_id=source_id, target_connection_id=target_id, batch_id=batch_id
            ),
        )


class _RunExecution:
    """The state of one run while it executes."""

    def __init__(self, runner: FlowRunner, run: Run, metrics: RunMetrics) -> None:
        self.runner = runner
        self.lf = runner.lf
        self.flow = runner.flow
        self.run = run
        self.metrics = metrics
        self.converted: list[FileEntry] = []
        self.failed: list[tuple[FileEntry, dict[str, Any]]] = []  # permanent: ledgered
        self.rejected_by_file: dict[str, int] = {}  # rows rejected, of the files converted
        self.row_errors_stored = 0  # kept in the store, for the cap
        self.row_error_seq = 0
        self.row_errors_dropped = 0  # beyond the cap: counted, not kept
        self.last_heartbeat = now_ms()
        self.batch_id: str | None = None
        self.writer: BatchWriter | None = None
        self.committed_snapshot: int | None = None
        self.planned: list[FileEntry] | None = None  # None until the source is listed
        self.session: StorageSession | None = None

    # -- the run -------------------------------------------------------------------------------

    def execute(self) -> None:
        """Run to the end. A lakefeed error (source unreachable, dataset gone, …) fails the run
        and is recorded in it; anything else is recorded too, then raised: it is a bug or an
        interrupt, and the caller must see it."""
        try:
            self._execute()
        except LakefeedError as exc:
            self._fail(exc)
        except BaseException as exc:
            self._fail(exc)
            raise

    def _execute(self) -> None:
        lf, flow = self.lf, self.flow
        if self.runner.guard is not None:
            self.runner.guard(lf, flow)
        source = lf.flows.source_connection(flow.source_connection_id)
        target = lf.flows.target_connection(flow.target_connection_id)
        dataset = lf.datasets.get(target.dataset_id)
        session = self.session = lf.session(source.base_connection_id)
        target_schema = lf.target_schema(dataset.schema_id)

        schedule = flow.schedule
        failed_before = {} if self.runner.retry_failed else lf.runs.failed_for_good(flow.id)
        plan = FlowPlan.build(
            session.ls(source.path, recursive=source.recursive),
            ledgered=lf.runs.ledgered(flow.id, include_failed=False),
            failed=failed_before.keys(),
            backfill=schedule.backfill,
            start_time=schedule.start_time,
            window=self.runner.window if self.runner.only_window_files else None,
        )
        lf.backlog.record(flow, plan.take, observed_at=now_ms())
        self.planned = plan.take
        m = self.metrics
        m.skipped_files = plan.skipped
        m.failed_before_files = len(plan.failed_before)
        m.failed_before = [
            {"path": e.path, **_brief(failed_before[identity_key(e)])}
            for e in plan.failed_before[:LISTED_FAILED_BEFORE]
        ]
        m.input_files = len(plan.take)
        m.input_bytes = sum(e.size for e in plan.take)
        if not plan.take:
            m.status = "success"
            self._complete(batch_values=None)
            return

        table = lf.datasets.table(dataset)
        self.batch_id = str(uuid.uuid4())
        data_prefix = f"{table.location().rstrip('/')}/data/lakefeed-batch-{self.batch_id}"
        percent = flow.partial_ingestion_percent
        lf.runs.create_batch(
            batch_id=self.batch_id,
            dataset_id=dataset.id,
            run_id=self.run.id,
            flow_id=flow.id,
            data_prefix=data_prefix,
            tags={
                "acp_enableErrorDiagnostics": flow.error_diagnostics,
                "acp_partialIngestionPercent": percent,
            },
            entries=plan.take,
        )
        self.writer = BatchWriter(
            table, batch_id=self.batch_id, run_id=self.run.id, data_prefix=data_prefix
        )
        progress = RunProgress(files_total=len(plan.take), bytes_total=m.input_bytes)
        done_before = 0  # bytes of the files finished
        self._report(progress)
        for item in session.footers(plan.take):
            if isinstance(item, FileFailure):
                self._file_failed(item.entry, item.error)
            else:
                problems = target_schema.check_file(item.schema)
                if problems:
                    error = SchemaMismatch(
                        f"{item.entry.path} does not match the schema of dataset "
                        f"{dataset.name!r}: " + "; ".join(problems) + ".",
                        fix="Fix the file or the schema; the other files are not affected.",
                    )
                    self._file_failed(item.entry, error)
                else:
                    self._convert(session, item, target_schema, progress)
            progress.files_done += 1
            done_before += item.entry.size
            progress.bytes_done = done_before
            self._report(progress)
        self._decide(percent)

    def _check_cancelled(self) -> None:
        cancel = self.runner.cancel
        if cancel is not None and cancel.is_set():
            raise RunCancelled(
                "The run was abandoned before its commit: the process running it is stopping.",
                fix="Nothing was committed; the files are ingested by the next run.",
            )

    def _report(self, progress: RunProgress) -> None:
        self._check_cancelled()
        if now_ms() - self.last_heartbeat > HEARTBEAT_EVERY_MS:
            self.lf.runs.heartbeat(self.run.id)  # tells recovery this run is still alive
            self.last_heartbeat = now_ms()
        if self.runner.progress is not None:
            self.runner.progress(progress)

    # -- one file ------------------------------------------------------------------------------

    def _convert(
        self,
        session: StorageSession,
        footer: ParquetFooter,
        target: TargetSchema,
        progress: RunProgress,
    ) -> None:
        entry, total_rows = footer.entry, footer.num_rows
        import pyarrow.parquet as pq

        bytes_before = progress.bytes_done
        assert self.writer is not None and self.batch_id is not None
        writer = self.writer
        writer.start_source(present_leaf_ids(writer.iceberg_schema, footer.schema))
        rows_in = rows_out = rows_failed = 0
        errors: list[dict[str, Any]] = []
        losses: list[Mapping[str, Mapping[str, int]]] = []  # counted once the file is kept
        stored_before = self.row_errors_stored
        try:
            # The listed version, or FileChangedWhileReading (pinned, or re-statted around it).
            with session.reading(entry) as source:
                # The footer read during inspection is reused: one request less per file.
                parquet = pq.ParquetFile(source, metadata=footer.file_metadata)
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                    conformed = target.conform(batch)
                    good = conformed.data
                    if good.num_rows:
                        _write(writer, self._with_lineage(good, conformed.good, rows_in, entry))
                    if conformed.losses:
                        losses.append(conformed.losses)
                    if conformed.errors:
                        errors.extend(self._row_errors(batch, conformed.errors, rows_in, entry))
                    rows_in += batch.num_rows
                    rows_out += good.num_rows
                    rows_failed += len(conformed.errors)
                    progress.rows += good.num_rows
                    progress.failed_rows += len(conformed.errors)
                    progress.current_file = entry.path
                    if total_rows:  # move the bar within a large file, by rows read
                        share = min(rows_in / total_rows, 1.0)
                        progress.bytes_done = bytes_before + int(entry.size * share)
                    if len(errors) >= 1000:
                        self._store_row_errors(errors)
                    self._report(progress)
        except Exception as exc:
            writer.discard_source()
            if self.row_errors_stored > stored_before:  # the file fails whole: no row errors
                self.lf.runs.delete_row_errors(self.batch_id, entry.path)
                self.row_errors_stored = stored_before
            progress.rows -= rows_out
            progress.failed_rows -= rows_failed
            error = session.translate(exc, f"reading {entry.path!r}")
            if type(error) is StorageError and _is_arrow_error(exc):  # the bytes, not the backend
                error = CorruptParquet(
                    f"{entry.path} cannot be read past its footer: {exc}",
                    fix="Re-upload the file; a new version is picked up by the next run.",
                )
            # session.reading() already told a changed file from a broken one; a failure of
            # the dataset's writer (DatasetError) says nothing about the source file.
            self._file_failed(entry, error, checked=True)
            return
        writer.end_source()
        self._store_row_errors(errors)
        m = self.metrics
        m.input_records += rows_in
        m.output_records += rows_out
        m.failed_records += rows_failed
        for loss in losses:
            m.note_losses(loss)
        if rows_failed:
            self.rejected_by_file[entry.path] = rows_failed
        self.converted.append(entry)
        self.lf.runs.record_file(
            self.batch_id,
            entry.path,
            status="converted",
            records_in=rows_in,
            records_out=rows_out,
            records_failed=rows_failed,
        )

    def _with_lineage(
        self, good: pa.RecordBatch, indexes: pa.Array, offset: int, entry: FileEntry
    ) -> pa.Table:
        import pyarrow.compute as pc

        n = good.num_rows
        assert self.batch_id is not None
        now = pa.scalar(datetime.now(tz=UTC), pa.timestamp("us", tz="UTC"))
        lineage = pa.StructArray.from_arrays(
            [
                pa.repeat(pa.scalar(entry.path, pa.string()), n),
                pc.add(indexes.cast(pa.int64()), offset),
                pa.repeat(pa.scalar(self.batch_id, pa.string()), n),
                pa.repeat(now, n),
            ],
            fields=list(SYSTEM_TYPE),
        )
        table = pa.Table.from_batches([good])
        return table.append_column(pa.field(SYSTEM_COLUMN, SYSTEM_TYPE, nullable=False), lineage)

    def _row_errors(
        self, batch: pa.RecordBatch, errors: list[Any], offset: int, entry: FileEntry
    ) -> list[dict[str, Any]]:
        if not self.flow.error_diagnostics:
            return []
        room = max(MAX_ROW_ERRORS_PER_BATCH - self.row_errors_stored, 0)
        self.row_errors_dropped += max(len(errors) - room, 0)
        errors = errors[:room]
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

    def _store_row_errors(self, errors: list[dict[str, Any]]) -> None:
        assert self.batch_id is not None
        stored = self.lf.runs.add_row_errors(self.batch_id, self.row_error_seq, errors)
        self.row_errors_stored += stored
        self.row_error_seq += stored
        errors.clear()

    def _file_failed(
        self, entry: FileEntry, error: LakefeedError, *, checked: bool = False
    ) -> None:
        """Record a failed file. Unless ``checked`` (the read already asked), a file that
        changed since it was listed is reported as that change."""
        if not checked and not isinstance(error, FileChangedWhileReading) and self.session:
            # A file rewritten as it is read fails oddly (bad pages, another version's schema):
            # report the change, and leave the version the next run sees to that run.
            error = self.session.changed(entry) or error
        m = self.metrics
        m.failed_files += 1
        if isinstance(error, FileChangedWhileReading):
            m.changed_files += 1  # never ledgered: neither committed nor failed for good
        m.failed_bytes += entry.size
        detail = {"path": entry.path, **error.to_dict(), "permanent": not error.transient}
        m.file_errors.append(detail)
        if not error.transient:  # the version fails for good: ledgered, not retried
            self.failed.append((entry, error.to_dict()))
        if self.batch_id is not None:
            self.lf.runs.record_file(self.batch_id, entry.path, status="failed", error=detail)

    # -- the batch -----------------------------------------------------------------------------

    def _decide(self, percent: float | None) -> None:
        """Commit the batch, or fail it with nothing committed."""
        m = self.metrics
        assert self.writer is not None
        if m.failed_files:
            m.error(
                codes.COPY_ERROR,
                f"{m.failed_files} of {m.input_files} files could not be ingested; "
                "see fileErrors for each file and why.",
            )
        rejected_share = 100.0 * m.failed_records / m.input_records if m.input_records else 0.0
        # Which files the rejected rows came from, so a failed batch names what to fix.
        where = f" Rejected rows by file: {name_files(self.rejected_by_file)}."
        if m.failed_records and percent is None:
            reason = (
                f"{m.failed_records} of {m.input_records} rows failed validation and partial "
                f"ingestion is off, so the batch is not committed.{where}"
            )
        elif m.failed_records and percent is not None and rejected_share > percent:
            reason = (
                f"{m.failed_records} of {m.input_records} rows ({rejected_share:.2f}%) failed "
                f"validation, above the {percent:g}% threshold; the batch is not committed."
                f"{where}"
            )
        elif not self.converted:
            reason = "No file could be ingested; the batch is empty."
        else:
            reason = None
        if self.row_errors_dropped:
            m.error(
                codes.NO_DIAGNOSTICS,
                f"{self.row_errors_dropped} rejected rows are counted but not kept: a batch "
                f"keeps the first {MAX_ROW_ERRORS_PER_BATCH:,}.",
            )
        if m.failed_records and not self.flow.error_diagnostics:
            m.error(
                codes.NO_DIAGNOSTICS, "Rows were rejected; enable error diagnostics to keep them."
            )
        if reason is not None:
            self.writer.abort()
            if m.failed_records:
                m.error(codes.PROCESSING_ERROR, reason)
            m.error(codes.BATCH_FAILED, reason)
            m.output_records = 0
            m.status = "failed"
            self._complete(batch_values={"status": "failed"})
            return
        if m.failed_records:
            m.error(
                codes.PARTIAL_SUMMARY,
                f"Encountered {m.failed_records} errors in the data. Successfully ingested "
                f"{m.output_records} rows.{where}",
            )
        self.writer.finish()
        m.output_files = len(self.converted)
        m.output_bytes = self.writer.bytes_written
        self._check_cancelled()
        if self.writer.data_files:
            self.committed_snapshot = self.writer.commit({"lakefeed.flow-id": self.flow.id})
        m.note_pickup(self.converted, committed_at=now_ms())
        m.status = "success"
        self._complete(batch_values={"status": "success", "snapshot_id": self.committed_snapshot})

    def _complete(self, *, batch_values: Mapping[str, Any] | None) -> None:
        m = self.metrics
        m.completed_at = now_ms()
        batch: dict[str, Any] = {}
        if batch_values is not None:
            batch = {
                **batch_values,
                "completed_at": m.completed_at,
                "metrics": {
                    "inputByteSize": m.input_bytes,
                    "inputFileCount": m.input_files,
                    "inputRecordCount": m.input_records,
                    "outputRecordCount": m.output_records,
                    "failedRecordCount": m.failed_records,
                    "outputByteSize": m.output_bytes,
                },
                "errors": [{"code": e["code"], "description": e["message"]} for e in m.errors],
            }
        committed = self.converted if m.status == "success" else []
        if self.planned is not None:
            done = {id(e) for e in committed} | {id(e) for e, _ in self.failed}
            waiting = [e for e in self.planned if id(e) not in done]
            self.lf.backlog.record(self.flow, waiting, observed_at=m.completed_at or now_ms())
        self.lf.runs.complete_batch(
            flow_id=self.flow.id,
            run_id=self.run.id,
            batch_id=self.batch_id,
            committed=committed,
            failed=self.failed,
            batch_values=batch,
            run_values={
                "state": "completed",
                "status": m.status,
                "metrics": m.to_flow_service(),
                "activities": m.activities(
                    source_connection_id=self.flow.source_connection_id,
                    target_connection_id=self.flow.target_connection_id,
                    batch_id=self.batch_id,
                ),
            },
        )

    def _fail(self, exc: BaseException) -> None:
        """The run stopped on an error of its own (not a file's): record it, commit nothing
        unless the commit already happened (then finish recording it)."""
        from lakefeed.flows.recovery import recover

        if self.committed_snapshot is not None:
            recover(self.lf, self.lf.runs.run(self.run.id), force=True)
            return
        if self.writer is not None:
            self.writer.abort()
        m = self.metrics
        error = exc if isinstance(exc, LakefeedError) else None
        m.error(
            error.code if error else codes.BATCH_FAILED,
            str(error) if error else f"The run stopped: {type(exc).__name__}: {exc}",
        )
        m.status = "failed"
        m.output_records = 0
        self.failed = []  # nothing is decided about files when the run itself broke
        self.converted = []
        self._complete(batch_values={"status": "failed"} if self.batch_id else None)


def _maps_as_objects(value: Any) -> Any:
    """pyarrow gives map values as lists of (key, value) tuples; diagnostics show objects."""
    if isinstance(value, dict):
        return {k: _maps_as_objects(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _maps_as_objects(v) for k, v in value}
        return [_maps_as_objects(v) for v in value]
    return value


def _write(writer: BatchWriter, data: pa.Table) -> None:
    """Rows into the batch's data files. A failure there (the warehouse full or unreachable) is
    the dataset's, not the source file's: the file fails for this run only."""
    try:
        writer.write(data)
    except Exception as exc:
        raise DatasetError(
            f"Writing the batch's data files failed: {type(exc).__name__}: {exc}",
            fix="Check that the warehouse (LAKEFEED_WAREHOUSE) is writable and has room.",
        ) from exc


def _brief(error: Mapping[str, Any]) -> dict[str, Any]:
    """The code and message of a file's failure, as a run lists files failed before."""
    return {"code": error.get("code"), "message": error.get("message")}


def _is_arrow_error(exc: BaseException) -> bool:
    """pyarrow's complaints about the bytes themselves (bad pages, thrift, decompression), as
    opposed to I/O errors, which carry an errno and are worth a retry."""
    if isinstance(exc, pa.ArrowInvalid):
        return True
    return isinstance(exc, OSError) and exc.errno is None and not isinstance(exc, LakefeedError)
