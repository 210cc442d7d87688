"""``RunMetrics``: counts gathered while a run works, rendered in the Flow Service run shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakefeed.storage.entries import FileEntry

#: Run-level summary codes, as Flow Service reports them.
COPY_ERROR = "CONNECTOR-1001-500"  # a source file could not be read or does not fit the schema
PROCESSING_ERROR = "CONNECTOR-2001-500"  # rows could not be converted or validated
PARTIAL_SUMMARY = "INGEST-1212-400"  # some rows rejected, the rest ingested
NO_DIAGNOSTICS = "INGEST-1211-400"  # rows rejected while error diagnostics are off
BATCH_FAILED = "LF-1500"  # the batch failed: above the error threshold, or any bad row without it
INTERRUPTED = "LF-1510"  # the process running the run stopped; recovered later


@dataclass
class RunMetrics:
    started_at: int  # epoch ms
    completed_at: int | None = None
    window_start: int | None = None  # epoch ms
    window_end: int | None = None
    input_files: int = 0
    output_files: int = 0
    failed_files: int = 0
    #: of the failed files, those that changed while they were read (the next run takes them)
    changed_files: int = 0
    skipped_files: int = 0  # already ingested (ledger) or outside the backfill window
    input_bytes: int = 0
    failed_bytes: int = 0  # of the files that failed whole
    output_bytes: int = 0
    input_records: int = 0
    output_records: int = 0
    failed_records: int = 0
    status: str = "inProgress"
    errors: list[dict[str, Any]] = field(default_factory=list)
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    #: File versions the ledger holds as failed for good (in an earlier run): not taken, not
    #: skipped. ``{path, code, message}`` of the first :data:`LISTED_FAILED_BEFORE`, and the count.
    failed_before: list[dict[str, Any]] = field(default_factory=list)
    failed_before_files: int = 0
    #: Values converted with less precision, by kind (``truncatedTimestamps``,
    #: ``roundedNumbers``) and field path, in the rows of the files converted.
    precision_loss: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Per committed file: commit time minus its last-modified time, in ms.
    pickup_latencies: list[int] = field(default_factory=list)

    def note_pickup(self, entries: Sequence[FileEntry], *, committed_at: int) -> None:
        self.pickup_latencies = [
            max(committed_at - int(e.mtime.timestamp() * 1000), 0)
            for e in entries
            if e.mtime is not None
        ]

    def pickup_summary(self) -> dict[str, int] | None:
        """Pick-up latency of the committed files (file modified → committed), in ms."""
        values = sorted(self.pickup_latencies)
        if not values:
            return None
        return {
            "files": len(values),
            "minMs": values[0],
            "p50Ms": values[(len(values) - 1) // 2],
            "maxMs": values[-1],
        }

    def error(self, code: str, message: str, **extra: Any) -> None:
        self.errors.append({"code": code, "message": message, **extra})

    def note_losses(self, losses: Mapping[str, Mapping[str, int]]) -> None:
        for kind, by_path in losses.items():
            totals = self.precision_loss.setdefault(kind, {})
            for path, count in by_path.items():
                totals[path] = totals.get(path, 0) + count

    def _file_extensions(self) -> dict[str, int]:
        counts = {
            "changedWhileReadingFileCount": self.changed_files,
            "failedBeforeFileCount": self.failed_before_files,
        }
        return {name: count for name, count in counts.items() if count}

    def to_flow_service(self) -> dict[str, Any]:
        """``metrics`` of a Flow Service run."""
        return {
            "durationSummary": {
                "startedAtUTC": self.started_at,
                "completedAtUTC": self.completed_at,
                **(
                    {"extensions": {"pickupLatency": pickup}}
                    if (pickup := self.pickup_summary())
                    else {}
                ),
            },
            "sizeSummary": {"inputBytes": self.input_bytes, "outputBytes": self.output_bytes},
            "recordSummary": {
                "inputRecordCount": self.input_records,
                "outputRecordCount": self.output_records,
                "failedRecordCount": self.failed_records,
                **(
                    {"extensions": {"precisionLoss": self.precision_loss}}
                    if self.precision_loss
                    else {}
                ),
            },
            "fileSummary": {
                "inputFileCount": self.input_files,
                "outputFileCount": self.output_files,
                "failedFileCount": self.failed_files,
                "skippedFileCount": self.skipped_files,
                **({"extensions": extensions} if (extensions := self._file_extensions()) else {}),
            },
            "statusSummary": {
                "status": self.status,
                "errors": self.errors,
                "extensions": {
                    "outcome": outcome(self.status, self.failed_files, self.failed_records),
                    "fileErrors": self.file_errors,
                    **({"failedBefore": self.failed_before} if self.failed_before else {}),
                },
            },
        }

    def activities(
        self, *, source_connection_id: str, target_connection_id: str, batch_id: str | None
    ) -> list[dict[str, Any]]:
        """The copy and promotion activities of a cloud-storage run."""
        copy_status = "failed" if self.failed_files and not self.output_files else "success"
        if self.status == "inProgress":
            copy_status = "inProgress"
        duration = {"startedAtUTC": self.started_at, "completedAtUTC": self.completed_at}
        copy = {
            "id": "copyActivity",
            "name": "Copy Activity",
            "updatedAtUTC": self.completed_at or self.started_at,
            "durationSummary": {
                **duration,
                "extensions": {"windowStart": self.window_start, "windowEnd": self.window_end},
            },
            "sizeSummary": {
                "inputBytes": self.input_bytes,
                "outputBytes": self.input_bytes - self.failed_bytes,
            },
            "fileSummary": {
                "inputFileCount": self.input_files,
                "outputFileCount": self.input_files - self.failed_files,
                "failedFileCount": self.failed_files,
            },
            "statusSummary": {"status": copy_status, "errors": self.file_errors},
            "sourceInfo": [{"id": source_connection_id, "type": "SourceConnection"}],
        }
        promotion = {
            "id": "promotionActivity",
            "name": "Promotion Activity",
            "updatedAtUTC": self.completed_at or self.started_at,
            "durationSummary": duration,
            "sizeSummary": {"inputBytes": self.input_bytes, "outputBytes": self.output_bytes},
            "recordSummary": {
                "inputRecordCount": self.input_records,
                "outputRecordCount": self.output_records,
                "failedRecordCount": self.failed_records,
            },
            "statusSummary": {
                "status": self.status,
                "errors": [e for e in self.errors if e["code"] != COPY_ERROR],
            },
            "targetInfo": [
                {
                    "id": target_connection_id,
                    "type": "TargetConnection",
                    "reference": {"type": "Batch", "ids": [batch_id] if batch_id else []},
                }
            ],
        }
        return [copy, promotion]


#: Exit codes of the CLI commands that run a flow, by :func:`run_outcome`.
EXIT_CODES = {"success": 0, "failed": 1, "partial": 3}
#: File versions failed for good before that a run lists by name (the rest are counted).
LISTED_FAILED_BEFORE = 20


def outcome(status: str, failed_files: int, failed_records: int) -> str:
    """lakefeed's summary of a run: ``partial`` when it committed (Flow Service status
    ``success``) but some files failed or rows were rejected; else its status."""
    if status == "success" and (failed_files or failed_records):
        return "partial"
    return status


def run_outcome(metrics: Mapping[str, Any]) -> str:
    """:func:`outcome` of a run's Flow Service ``metrics`` (also of runs recorded before the
    outcome was)."""
    status = str((metrics.get("statusSummary") or {}).get("status"))
    files = metrics.get("fileSummary") or {}
    records = metrics.get("recordSummary") or {}
    return outcome(status, files.get("failedFileCount") or 0, records.get("failedRecordCount") or 0)


def name_files(counts: Mapping[str, int], *, limit: int = 5) -> str:
    """``a.parquet (3), b.parquet (1) and 2 more files``: files by how many rows they lost."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{path} ({count})" for path, count in ranked[:limit])
    rest = len(ranked) - limit
    return named + (f" and {rest} more file{'s' if rest > 1 else ''}" if rest > 0 else "")


def unstarted_metrics(status: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``metrics`` of a run that has not started (``scheduled``), or never will (closed unrun):
    the full shape, with zero counts and no times."""
    metrics = RunMetrics(started_at=0, status=status, errors=list(errors or []))
    shape = metrics.to_flow_service()
    shape["durationSummary"] = {"startedAtUTC": None, "completedAtUTC": None}
    return shape
