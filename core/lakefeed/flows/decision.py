"""Whether a batch is committed: the partial-ingestion decision, and the errors a run reports
about its rows and files. Pure: counts in, a :class:`BatchDecision` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lakefeed.flows import metrics as codes
from lakefeed.flows.metrics import name_files


@dataclass(frozen=True)
class BatchTotals:
    """What the batch's files came to."""

    input_files: int
    failed_files: int
    converted_files: int
    input_records: int
    output_records: int
    failed_records: int
    rejected_by_file: Mapping[str, int] = field(default_factory=dict)  # path → rows rejected
    row_errors_dropped: int = 0  # rejected rows counted but not kept
    row_errors_cap: int = 0  # rejected rows a batch keeps


@dataclass(frozen=True)
class BatchDecision:
    commit: bool
    errors: list[tuple[str, str]]  # (code, message), in the order the run reports them

    @property
    def status(self) -> str:
        return "success" if self.commit else "failed"


def decide(
    totals: BatchTotals, *, partial_ingestion_percent: float | None, error_diagnostics: bool
) -> BatchDecision:
    """Commit unless no file could be ingested, or rows were rejected and partial ingestion is
    off, or the share of rejected rows is above ``partial_ingestion_percent``."""
    t, percent = totals, partial_ingestion_percent
    errors: list[tuple[str, str]] = []
    if t.failed_files:
        errors.append(
            (
                codes.COPY_ERROR,
                f"{t.failed_files} of {t.input_files} files could not be ingested; "
                "see fileErrors for each file and why.",
            )
        )
    rejected_share = 100.0 * t.failed_records / t.input_records if t.input_records else 0.0
    # Which files the rejected rows came from, so a failed batch names what to fix.
    where = f" Rejected rows by file: {name_files(dict(t.rejected_by_file))}."
    reason: str | None
    if t.failed_records and percent is None:
        reason = (
            f"{t.failed_records} of {t.input_records} rows failed validation and partial "
            f"ingestion is off, so the batch is not committed.{where}"
        )
    elif t.failed_records and percent is not None and rejected_share > percent:
        reason = (
            f"{t.failed_records} of {t.input_records} rows ({rejected_share:.2f}%) failed "
            f"validation, above the {percent:g}% threshold; the batch is not committed."
            f"{where}"
        )
    elif not t.converted_files:
        reason = "No file could be ingested; the batch is empty."
    else:
        reason = None
    if t.row_errors_dropped:
        errors.append(
            (
                codes.NO_DIAGNOSTICS,
                f"{t.row_errors_dropped} rejected rows are counted but not kept: a batch "
                f"keeps the first {t.row_errors_cap:,}.",
            )
        )
    if t.failed_records and not error_diagnostics:
        errors.append(
            (codes.NO_DIAGNOSTICS, "Rows were rejected; enable error diagnostics to keep them.")
        )
    if reason is not None:
        if t.failed_records:
            errors.append((codes.PROCESSING_ERROR, reason))
        errors.append((codes.BATCH_FAILED, reason))
        return BatchDecision(commit=False, errors=errors)
    if t.failed_records:
        errors.append(
            (
                codes.PARTIAL_SUMMARY,
                f"Encountered {t.failed_records} errors in the data. Successfully ingested "
                f"{t.output_records} rows.{where}",
            )
        )
    return BatchDecision(commit=True, errors=errors)
