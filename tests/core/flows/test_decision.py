"""The partial-ingestion decision, as a pure function: counts in, commit or not and the errors
the run reports, without a database or a file."""

from __future__ import annotations

import pytest

from lakefeed.flows import metrics as codes
from lakefeed.flows.decision import BatchTotals, decide


def totals(**counts: object) -> BatchTotals:
    base: dict[str, object] = dict(
        input_files=2,
        failed_files=0,
        converted_files=2,
        input_records=100,
        output_records=100,
        failed_records=0,
        row_errors_cap=100_000,
    )
    base.update(counts)
    return BatchTotals(**base)  # type: ignore[arg-type]


def test_a_clean_batch_commits_with_no_errors() -> None:
    decision = decide(totals(), partial_ingestion_percent=None, error_diagnostics=False)
    assert decision.commit and decision.status == "success" and decision.errors == []


def test_any_rejected_row_fails_the_batch_when_partial_ingestion_is_off() -> None:
    decision = decide(
        totals(output_records=99, failed_records=1, rejected_by_file={"a.parquet": 1}),
        partial_ingestion_percent=None,
        error_diagnostics=True,
    )
    assert not decision.commit and decision.status == "failed"
    assert [code for code, _ in decision.errors] == [codes.PROCESSING_ERROR, codes.BATCH_FAILED]
    assert "a.parquet (1)" in decision.errors[-1][1]


@pytest.mark.parametrize(("percent", "commits"), [(5.0, True), (4.99, False), (0.0, False)])
def test_the_threshold_is_the_share_of_rejected_rows(percent: float, commits: bool) -> None:
    decision = decide(
        totals(output_records=95, failed_records=5),
        partial_ingestion_percent=percent,
        error_diagnostics=True,
    )
    assert decision.commit is commits
    if commits:  # committed: the summary says how many rows were rejected
        assert [code for code, _ in decision.errors] == [codes.PARTIAL_SUMMARY]
        assert "Encountered 5 errors" in decision.errors[0][1]
    else:
        assert "(5.00%)" in decision.errors[-1][1] and f"{percent:g}%" in decision.errors[-1][1]


def test_failed_files_are_reported_and_a_batch_with_none_converted_fails() -> None:
    some = decide(
        totals(failed_files=1, converted_files=1),
        partial_ingestion_percent=None,
        error_diagnostics=False,
    )
    assert some.commit and some.errors[0][0] == codes.COPY_ERROR
    assert "1 of 2 files" in some.errors[0][1]
    none = decide(
        totals(failed_files=2, converted_files=0, input_records=0, output_records=0),
        partial_ingestion_percent=50.0,
        error_diagnostics=False,
    )
    assert not none.commit
    assert [code for code, _ in none.errors] == [codes.COPY_ERROR, codes.BATCH_FAILED]
    assert none.errors[-1][1] == "No file could be ingested; the batch is empty."


def test_rejected_rows_not_kept_are_reported() -> None:
    off = decide(
        totals(output_records=99, failed_records=1),
        partial_ingestion_percent=10.0,
        error_diagnostics=False,
    )
    assert off.commit
    assert [code for code, _ in off.errors] == [codes.NO_DIAGNOSTICS, codes.PARTIAL_SUMMARY]
    assert "enable error diagnostics" in off.errors[0][1]
    capped = decide(
        totals(output_records=99, failed_records=1, row_errors_dropped=7, row_errors_cap=3),
        partial_ingestion_percent=10.0,
        error_diagnostics=True,
    )
    assert capped.errors[0] == (
        codes.NO_DIAGNOSTICS,
        "7 rejected rows are counted but not kept: a batch keeps the first 3.",
    )
