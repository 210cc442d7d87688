"""A run's execution, stage by stage: plan (:mod:`.plan`), inspect, hand one conversion task
per file, or per group of small files (:mod:`.coalesce`), to the executor (:mod:`.convert`,
:mod:`.executors`), decide (:mod:`.decision`),
commit, record (:mod:`.completion`). This module only orchestrates them and keeps the run's
counts, its progress and its heartbeat.

The order is what makes a run safe to kill at any point: the batch's file plan is stored before
any data is written; data files are invisible until the single Iceberg commit, which carries the
run and batch ids; the ledger is marked after the commit. A later run finds an interrupted one
and rolls it forward or back (:mod:`lakefeed.flows.recovery`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.ledger import identity_key
from lakefeed.catalog.owners import HEARTBEAT_EVERY_MS, this_process
from lakefeed.catalog.records import now_ms
from lakefeed.catalog.row_errors import MAX_ROW_ERRORS_PER_BATCH, RowError
from lakefeed.datasets.writer import BatchWriter
from lakefeed.errors import (
    CommitOutcomeUnknown,
    FileChangedWhileReading,
    LakefeedError,
    RunCancelled,
    SchemaMismatch,
)
from lakefeed.flows import metrics as codes
from lakefeed.flows.coalesce import group_bytes, group_full, groupable
from lakefeed.flows.completion import record_outcome
from lakefeed.flows.convert import (
    BatchConverted,
    ConversionResult,
    ConversionTask,
    PartOutcome,
    RowErrors,
    SourceFile,
    TaskEvent,
)
from lakefeed.flows.decision import BatchTotals, decide
from lakefeed.flows.metrics import LISTED_FAILED_BEFORE, RunMetrics
from lakefeed.flows.options import RunProgress
from lakefeed.flows.plan import plan_run, source_files
from lakefeed.flows.recovery import recover
from lakefeed.storage.session import FileFailure

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.context import RunContext
    from lakefeed.flows.options import RunOptions
    from lakefeed.formats import FileFormat
    from lakefeed.mappings import CompiledMappingSet
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.storage.access import SourceAccess
    from lakefeed.storage.entries import FileEntry
    from lakefeed.storage.session import StorageSession

#: Converted files recorded in the batch's file plan at once (see :meth:`_record_converted`).
RECORD_CONVERTED_EVERY = 500


@dataclass
class _FileState:
    """A file handed to the executor, until its result is taken."""

    entry: FileEntry
    total_rows: int
    bytes_before: int  # progress of the files before it
    rows: int = 0  # counted into progress so far
    failed_rows: int = 0
    row_errors_stored: int = 0


@dataclass
class RunExecution:
    """One run while it executes: what the stages decided so far."""

    ctx: RunContext
    flow: Flow
    run: Run
    metrics: RunMetrics
    options: RunOptions
    progress_callback: Callable[[RunProgress], None] | None
    converted: list[FileEntry] = field(default_factory=list)
    #: files converted, an archive's members each counted (what outputFileCount says)
    converted_files: int = 0
    failed: list[tuple[FileEntry, dict[str, Any]]] = field(default_factory=list)  # ledgered
    rejected_by_file: dict[str, int] = field(default_factory=dict)  # of the files converted
    row_errors_stored: int = 0  # kept in the store, for the cap
    row_error_seq: int = 0
    row_errors_dropped: int = 0  # beyond the cap: counted, not kept
    last_heartbeat: int = field(default_factory=now_ms)
    batch_id: str | None = None
    writer: BatchWriter | None = None
    committed_snapshot: int | None = None
    planned: list[FileEntry] | None = None  # None until the source is listed
    session: StorageSession | None = None
    progress: RunProgress | None = None
    bytes_finished: int = 0  # of the files done
    dataset_name: str = ""
    in_flight: dict[int, _FileState] = field(default_factory=dict)
    #: converted files not yet recorded in the batch's file plan: path, records in/out/failed
    unrecorded: list[tuple[str, int, int, int]] = field(default_factory=list)

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
        ctx, flow, options = self.ctx, self.flow, self.options
        if options.guard is not None:
            options.guard(flow)
        source = ctx.flows.source_connection(flow.source_connection_id)
        target = ctx.flows.target_connection(flow.target_connection_id)
        dataset = ctx.datasets.get(target.dataset_id)
        self.dataset_name = dataset.name
        access = ctx.source_access(source.base_connection_id)
        session = self.session = access.session()
        target_schema = ctx.target_schema(dataset.schema_id)
        file_format = ctx.file_format(source.data_format).configure(source.properties)
        mapping = flow.mapping
        compiled = None if mapping is None else ctx.mapping_set(*mapping)

        progress = self.progress = RunProgress(files_total=0, bytes_total=0, phase="listing")
        self._report()  # the listing may take long: say so from the start
        plan, failed_before = plan_run(
            ctx,
            flow,
            self._counted(source_files(session, source)),
            window=options.window if options.only_window_files else None,
            retry_failed=options.retry_failed,
        )
        ctx.backlog.record(flow, plan.take, observed_at=now_ms())
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

        table = ctx.datasets.table(dataset)
        self.batch_id = batch_id = str(uuid.uuid4())
        data_prefix = f"{table.location().rstrip('/')}/data/lakefeed-batch-{batch_id}"
        ctx.batches.create(
            batch_id=batch_id,
            dataset_id=dataset.id,
            run_id=self.run.id,
            flow_id=flow.id,
            data_prefix=data_prefix,
            tags={
                "acp_enableErrorDiagnostics": flow.error_diagnostics,
                "acp_partialIngestionPercent": flow.partial_ingestion_percent,
            },
            entries=plan.take,
        )
        self.writer = BatchWriter(table, batch_id=batch_id, run_id=self.run.id,
                                  data_prefix=data_prefix)  # fmt: skip
        progress.files_total, progress.bytes_total = len(plan.take), m.input_bytes
        progress.phase = "inspecting"
        self._report()
        tasks = self._tasks(session, access, file_format, plan.take, target_schema, compiled)
        for result in ctx.executor.run(tasks, self._on_event):
            self._take(result)
        self._decide()

    def _counted(self, entries: Iterator[FileEntry]) -> Iterator[FileEntry]:
        """The listed ``entries``, counted into the progress (reported every 100 files)."""
        assert self.progress is not None
        for entry in entries:
            self.progress.files_listed += 1
            if self.progress.files_listed % 100 == 0:
                self._report()
            yield entry

    # -- inspection, then one task per file (or group of small files) that may match ---------

    def _tasks(
        self,
        session: StorageSession,
        access: SourceAccess,
        file_format: FileFormat,
        entries: list[FileEntry],
        target: TargetSchema,
        mapping: CompiledMappingSet | None,
    ) -> Iterator[ConversionTask]:
        """Inspect the files (many at once), fail those that cannot match the target, and yield
        a conversion task for each of the others, made when the executor draws it. With a
        mapping, rows are matched to the target after it shapes them, batch by batch. Small
        files are grouped into one task until their bytes reach the target file size: their
        rows share data files (:mod:`lakefeed.flows.coalesce`)."""
        assert self.writer is not None and self.progress is not None
        output = self.writer.target
        group: list[SourceFile] = []  # small files waiting for the rest of their group
        grouped = 0  # the group's input bytes
        limit = group_bytes(
            output,
            input_bytes=sum(e.size for e in entries),
            parallelism=getattr(self.ctx.executor, "parallelism", 1),
        )
        checked: dict[Any, list[str]] = {}  # problems by file schema: files share schemas
        # In this thread's executor, the next files are read while one converts.
        read_ahead = getattr(self.ctx.executor, "converts_here", False)
        for item in session.inspect_files(entries, file_format, read_ahead=read_ahead):
            self.progress.files_inspected += 1
            if isinstance(item, FileFailure):
                self._file_failed(item.entry, item.error)
                self._file_done(item.entry)
                continue
            problems = checked.get(item.schema) if mapping is None else []
            if problems is None:
                problems = checked[item.schema] = target.check_file(item.schema)
            if problems:
                self._file_failed(item.entry, self._mismatch(item.entry, problems))
                self._file_done(item.entry)
                continue
            file = SourceFile(self.writer.next_index(), item.entry, item)
            small = groupable(
                item,
                file_format,
                mapped=mapping is not None,
                target_bytes=output.target_file_bytes,
            )
            if not small:
                yield self._task([file], access, file_format, target, mapping)
                continue
            group.append(file)
            grouped += item.entry.size
            if group_full(len(group), grouped, limit):
                yield self._task(group, access, file_format, target, mapping)
                group, grouped = [], 0
        if group:
            yield self._task(group, access, file_format, target, mapping)

    def _task(
        self,
        files: list[SourceFile],
        access: SourceAccess,
        file_format: FileFormat,
        target: TargetSchema,
        mapping: CompiledMappingSet | None,
    ) -> ConversionTask:
        """The task converting ``files`` (one, or a group), as the executor draws it: the
        files are in flight from now on."""
        assert self.writer is not None and self.progress is not None
        bytes_before = self.progress.bytes_done
        for file in files:
            num_rows = file.inspected.num_rows or 0
            self.in_flight[file.index] = _FileState(file.entry, num_rows, bytes_before)
            bytes_before += file.entry.size
        first = files[0]
        return ConversionTask(
            index=first.index,
            entry=first.entry,
            source=access,
            format=file_format,
            inspected=first.inspected,
            target=target,
            output=self.writer.target,
            keep_row_errors=self.flow.error_diagnostics,
            row_error_room=max(MAX_ROW_ERRORS_PER_BATCH - self.row_errors_stored, 0),
            mapping=mapping,
            mapping_id=None if self.flow.mapping is None else self.flow.mapping[0],
            also=tuple(files[1:]),
        )

    def _mismatch(self, entry: FileEntry, problems: list[str]) -> SchemaMismatch:
        return SchemaMismatch(
            f"{entry.path} does not match the schema of dataset {self.dataset_name!r}: "
            + "; ".join(problems)
            + ".",
            fix="Fix the file or the schema; the other files are not affected.",
        )

    # -- what the executor reports -----------------------------------------------------------

    def _on_event(self, event: TaskEvent) -> None:
        state = self.in_flight[event.index]
        if isinstance(event, RowErrors):
            self._store_row_errors(state, event.rows)
            return
        assert isinstance(event, BatchConverted) and self.progress is not None
        progress = self.progress
        state.rows += event.rows_out
        state.failed_rows += event.rows_failed
        progress.rows += event.rows_out
        progress.failed_rows += event.rows_failed
        progress.current_file = event.entry.path
        progress.phase = "converting"
        if state.total_rows:  # move the bar within a large file, by rows read
            share = min(event.rows_read / state.total_rows, 1.0)
            progress.bytes_done = state.bytes_before + int(event.entry.size * share)
        self._report()

    def _store_row_errors(self, state: _FileState, rows: list[dict[str, Any]]) -> None:
        assert self.batch_id is not None
        room = max(MAX_ROW_ERRORS_PER_BATCH - self.row_errors_stored, 0)
        self.row_errors_dropped += max(len(rows) - room, 0)
        rows = rows[:room]
        if not rows:
            return
        errors = [RowError(**row) for row in rows]
        stored = self.ctx.row_errors.add(self.batch_id, self.row_error_seq, errors)
        self.row_errors_stored += stored
        self.row_error_seq += stored
        state.row_errors_stored += stored

    def _take(self, result: ConversionResult) -> None:
        """A task ended: each of its files is taken (a group's files one by one, as if each
        had been converted alone), then the data files a group shares are kept."""
        assert self.writer is not None
        if not result.files:
            self._take_file(result)
            return
        for outcome in result.files:
            self._take_file(outcome)
        for loss in result.losses:
            self.metrics.note_losses(loss)
        self.writer.keep(result.data_files, rows=0, size=result.bytes_written)

    def _take_file(self, result: ConversionResult) -> None:
        """A file's conversion ended: keep what it wrote, or fail it whole."""
        assert self.writer is not None and self.batch_id is not None
        state = self.in_flight.pop(result.index)
        entry = result.entry
        if result.error is not None:
            if state.row_errors_stored:  # the file fails whole: no row errors
                self.ctx.row_errors.forget_file(self.batch_id, entry.path)
                self.row_errors_stored -= state.row_errors_stored
            assert self.progress is not None
            self.progress.rows -= state.rows
            self.progress.failed_rows -= state.failed_rows
            self._file_failed(entry, result.error, checked=True)
            self._file_done(entry)
            return
        # Rows a failed file could not keep are not counted: the file is rejected whole.
        self.row_errors_dropped += result.row_errors_dropped
        self.writer.keep(result.data_files, rows=result.records_out, size=result.bytes_written)
        m = self.metrics
        m.input_records += result.records_in
        m.output_records += result.records_out
        m.failed_records += result.records_failed
        for loss in result.losses:
            m.note_losses(loss)
        self.converted.append(entry)
        if result.parts:  # an archive: each member is a file of its own
            m.input_files += len(result.parts) - 1
            self.converted_files += sum(part.error is None for part in result.parts)
            for part in result.parts:
                self._part_done(part)
        else:
            self.converted_files += 1
            if result.records_failed:
                self.rejected_by_file[entry.path] = result.records_failed
            self._record_converted(
                entry.path, result.records_in, result.records_out, result.records_failed
            )
        self._file_done(entry)

    def _part_done(self, part: PartOutcome) -> None:
        """An archive member: converted, or failed on its own (the others still go in)."""
        assert self.batch_id is not None
        if part.error is not None:
            m = self.metrics
            m.failed_files += 1
            detail = {"path": part.path, **part.error.to_dict(), "permanent": True}
            m.file_errors.append(detail)
            self.ctx.batches.record_file(self.batch_id, part.path, status="failed", error=detail)
            return
        if part.records_failed:
            self.rejected_by_file[part.path] = part.records_failed
        self._record_converted(part.path, part.records_in, part.records_out, part.records_failed)

    def _record_converted(self, path: str, records_in: int, out: int, failed: int) -> None:
        """Record a converted file in the batch's file plan, in bulk: every converted file is
        recorded before the commit (:meth:`_decide`), which is when recovery needs them."""
        self.unrecorded.append((path, records_in, out, failed))
        if len(self.unrecorded) >= RECORD_CONVERTED_EVERY:
            self._flush_converted()

    def _flush_converted(self) -> None:
        assert self.batch_id is not None
        unrecorded, self.unrecorded = self.unrecorded, []
        self.ctx.batches.record_converted(self.batch_id, unrecorded)

    def _file_done(self, entry: FileEntry) -> None:
        assert self.progress is not None
        progress = self.progress
        progress.files_done += 1
        self.bytes_finished += entry.size
        progress.bytes_done = self.bytes_finished
        self._report()

    def _check_cancelled(self) -> None:
        cancel = self.options.cancel
        if cancel is not None and cancel.is_set():
            raise RunCancelled(
                "The run was abandoned before its commit: the process running it is stopping.",
                fix="Nothing was committed; the files are ingested by the next run.",
            )

    def _report(self) -> None:
        self._check_cancelled()
        if now_ms() - self.last_heartbeat > HEARTBEAT_EVERY_MS:
            self.ctx.runs.heartbeat(self.run.id)  # tells recovery this run is still alive
            self.last_heartbeat = now_ms()
        if self.progress_callback is not None and self.progress is not None:
            self.progress_callback(self.progress)

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
            self.ctx.batches.record_file(self.batch_id, entry.path, status="failed", error=detail)

    # -- the batch ---------------------------------------------------------------------------

    def _decide(self) -> None:
        """Commit the batch, or fail it with nothing committed."""
        m, writer = self.metrics, self.writer
        assert writer is not None
        self._flush_converted()
        decision = decide(
            BatchTotals(
                input_files=m.input_files,
                failed_files=m.failed_files,
                converted_files=self.converted_files,
                input_records=m.input_records,
                output_records=m.output_records,
                failed_records=m.failed_records,
                rejected_by_file=self.rejected_by_file,
                row_errors_dropped=self.row_errors_dropped,
                row_errors_cap=MAX_ROW_ERRORS_PER_BATCH,
            ),
            partial_ingestion_percent=self.flow.partial_ingestion_percent,
            error_diagnostics=self.flow.error_diagnostics,
        )
        for code, message in decision.errors:
            m.error(code, message)
        if not decision.commit:
            writer.abort()
            m.output_records = 0
            m.status = decision.status
            self._complete(batch_values={"status": "failed"})
            return
        m.output_files = self.converted_files
        m.output_bytes = writer.bytes_written
        self._check_cancelled()
        if writer.data_files:
            self.committed_snapshot = writer.commit({"lakefeed.flow-id": self.flow.id})
        m.note_pickup(self.converted, committed_at=now_ms())
        m.status = decision.status
        self._complete(batch_values={"status": "success", "snapshot_id": self.committed_snapshot})

    def _complete(self, *, batch_values: Mapping[str, Any] | None) -> None:
        record_outcome(
            self.ctx,
            self.flow,
            self.run,
            self.metrics,
            batch_id=self.batch_id,
            batch_values=batch_values,
            committed=self.converted if self.metrics.status == "success" else [],
            failed=self.failed,
            planned=self.planned,
        )

    def _fail(self, exc: BaseException) -> None:
        """The run stopped on an error of its own (not a file's): record it, commit nothing
        unless the commit already happened (then finish recording it). A commit that may have
        happened (it failed once the catalog was asked to record it) is looked up in the table;
        when the table cannot tell, the run is left to recovery with its files."""
        writer = self.writer
        if isinstance(exc, CommitOutcomeUnknown):
            self._leave_to_recovery(exc)
            return
        if self.committed_snapshot is None and writer is not None and writer.unsettled:
            try:  # an interrupt during the commit
                self.committed_snapshot = writer.settle(exc)
            except CommitOutcomeUnknown as unknown:
                self._leave_to_recovery(unknown)
                return
        if self.committed_snapshot is not None:
            recover(self.ctx, self.ctx.runs.get(self.run.id), force=True)
            return
        if writer is not None:
            writer.abort()
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
        self.converted_files = 0
        self._complete(batch_values={"status": "failed"} if self.batch_id else None)

    def _leave_to_recovery(self, error: CommitOutcomeUnknown) -> None:
        """The batch's commit may have landed and the table cannot say: nothing is deleted
        and nothing ledgered (either could lose or double rows). The run keeps its batch
        ``loading`` and stays ``inProgress`` with ``error``, its heartbeat cleared as a gone
        process's would be, so recovery settles it from the table's snapshots as soon as it
        can: the next run of the flow does it first, as does a starting server or scheduler."""
        m = self.metrics
        m.error(error.code, str(error))
        m.status = "failed"
        m.output_records = 0
        self.ctx.runs.update(
            self.run.id,
            metrics=m.to_flow_service(),
            activities=m.activities(
                source_connection_id=self.flow.source_connection_id,
                target_connection_id=self.flow.target_connection_id,
                batch_id=self.batch_id,
            ),
        )
        self.ctx.runs.set_owner(self.run.id, owner=this_process(), heartbeat_at=0)


def _brief(error: Mapping[str, Any]) -> dict[str, Any]:
    """The code and message of a file's failure, as a run lists files failed before."""
    return {"code": error.get("code"), "message": error.get("message")}
