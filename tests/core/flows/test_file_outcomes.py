"""What a run does with files it cannot take whole, and with values it cannot keep exactly:
a deterministic failure fails the file version once, for good, and later runs say so; nanosecond
timestamps and wide decimals ingest, with what they lost counted per field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion_suite import corrupt_page
from lakefeed import Lakefeed
from lakefeed.catalog.runs import Run

NANOS = [1_700_000_000_123_456_789, 1_700_000_000_123_456_000, 1_700_000_001_000_000_001]


def events(ids: range, stamps: list[int] | None = None) -> pa.Table:
    stamps = stamps if stamps is not None else [1_700_000_000_000_000_000 + i for i in ids]
    return pa.table({"id": pa.array(ids, pa.int64()), "ts": pa.array(stamps, pa.timestamp("ns"))})


def events_schema(lf: Lakefeed) -> str:
    """A registry schema with an id and a date-time, written by hand (not inferred)."""
    created = lf.schemas.create_inferred_schema(
        "Events",
        {
            "id": {"type": "integer", "meta:xdmType": "long"},
            "ts": {"type": "string", "format": "date-time"},
        },
    )
    return str(created["$id"])


def extensions(run: Run) -> dict:
    return dict(run.metrics["statusSummary"]["extensions"])


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


def test_nanosecond_timestamps_ingest_at_microseconds_with_infer(
    lf: Lakefeed, landing: Path
) -> None:
    pq.write_table(events(range(3), NANOS), landing / "n.parquet")

    run = lf.ingest(str(landing), ".", dataset="events", infer=True)

    assert run.status == "success", run.metrics
    assert extensions(run)["outcome"] == "success"
    stored = lf.datasets.read(lf.datasets.get("events")).sort_by("id")
    micros = stored.column("ts").cast(pa.int64()).to_pylist()
    assert micros == [n // 1000 for n in NANOS]  # truncated, not rounded
    # Two of the three values had digits below the microsecond.
    assert run.metrics["recordSummary"]["extensions"] == {
        "precisionLoss": {"truncatedTimestamps": {"ts": 2}}
    }
    footer = lf.session(lf.connection(f"local:{landing}")).inspect_file("n.parquet")
    assert footer.row_groups[0].columns[1].max == "2023-11-14 22:13:21.000000001"


def test_nanosecond_timestamps_ingest_into_an_explicit_schema(lf: Lakefeed, landing: Path) -> None:
    pq.write_table(events(range(3), NANOS), landing / "n.parquet")

    run = lf.ingest(str(landing), ".", dataset="events", schema=events_schema(lf))

    assert run.status == "success", run.metrics
    assert run.metrics["recordSummary"]["outputRecordCount"] == 3
    assert run.metrics["recordSummary"]["extensions"]["precisionLoss"] == {
        "truncatedTimestamps": {"ts": 2}
    }
    again = lf.ingest(str(landing), ".", dataset="events")
    assert again.metrics["fileSummary"]["inputFileCount"] == 0  # committed once, not retried


def test_a_deterministic_file_failure_fails_once_for_good_and_is_reported_as_such(
    lf: Lakefeed, landing: Path
) -> None:
    pq.write_table(events(range(0, 10)), landing / "good.parquet")
    (landing / "broken.parquet").write_bytes(corrupt_page(events(range(10, 20))))

    first = lf.ingest(str(landing), ".", dataset="events", schema=events_schema(lf))

    assert first.status == "success"  # the good file committed
    assert extensions(first)["outcome"] == "partial"
    (error,) = extensions(first)["fileErrors"]
    assert error["path"].endswith("broken.parquet")
    assert (error["code"], error["permanent"]) == ("LF-2422", True)
    ledger = {Path(row.path).name: row.status for row in lf.ledger.entries(first.flow_id)}
    assert ledger == {"good.parquet": "committed", "broken.parquet": "failed"}

    pq.write_table(events(range(20, 25)), landing / "new.parquet")
    second = lf.ingest(str(landing), ".", dataset="events")

    files = second.metrics["fileSummary"]
    assert (files["inputFileCount"], files["failedFileCount"]) == (1, 0)
    assert files["skippedFileCount"] == 1  # good.parquet, committed: not the broken one
    assert files["extensions"] == {"failedBeforeFileCount": 1}
    (before,) = extensions(second)["failedBefore"]
    assert before["path"].endswith("broken.parquet") and before["code"] == "LF-2422"
    assert extensions(second)["outcome"] == "success"  # what this run took all went in
    rows = lf.datasets.read(lf.datasets.get("events")).column("id").to_pylist()
    assert sorted(rows) == list(range(10)) + list(range(20, 25))

    retried = lf.run_flow(second.flow_id, retry_failed=True)
    assert retried.metrics["fileSummary"]["inputFileCount"] == 1
    assert "extensions" not in retried.metrics["fileSummary"]


def test_a_batch_failed_by_bad_rows_names_their_files(lf: Lakefeed, landing: Path) -> None:
    schema = lf.schemas.create_inferred_schema(
        "Small",
        {
            "id": {"type": "integer", "meta:xdmType": "long"},
            "n": {"type": "integer", "meta:xdmType": "byte"},
        },
    )
    pq.write_table(pa.table({"id": [1, 2], "n": [1, 2]}), landing / "fine.parquet")
    pq.write_table(pa.table({"id": [3, 4, 5], "n": [1, 300, 400]}), landing / "wide.parquet")

    run = lf.ingest(str(landing), ".", dataset="small", schema=str(schema["$id"]))

    assert run.status == "failed"
    failed = [e for e in run.metrics["statusSummary"]["errors"] if e["code"] == "LF-1500"]
    (message,) = [e["message"] for e in failed]
    assert "2 of 5 rows failed validation" in message
    assert f"{landing / 'wide.parquet'} (2)" in message and "fine.parquet" not in message
    batch = lf.batches.get(run.batch_id)
    assert any(f"{landing / 'wide.parquet'} (2)" in e["description"] for e in batch.errors)


def test_decimals_stay_exact_in_an_inferred_schema(lf: Lakefeed, landing: Path) -> None:
    amounts = [Decimal("12345678901234567.89"), Decimal("1.50"), None]
    table = pa.table({"id": [1, 2, 3], "amount": pa.array(amounts, pa.decimal128(20, 2))})
    pq.write_table(table, landing / "d.parquet")

    run = lf.ingest(str(landing), ".", dataset="money", infer=True)

    assert run.status == "success", run.metrics
    assert "extensions" not in run.metrics["recordSummary"]  # nothing lost
    stored = lf.datasets.read(lf.datasets.get("money")).sort_by("id")
    assert stored.schema.field("amount").type == pa.decimal128(20, 2)
    assert stored.column("amount").to_pylist() == amounts


def test_decimals_into_a_double_count_the_values_that_lost_digits(
    lf: Lakefeed, landing: Path
) -> None:
    schema = lf.schemas.create_inferred_schema(
        "Money",
        {"id": {"type": "integer", "meta:xdmType": "long"}, "amount": {"type": "number"}},
    )
    amounts = [Decimal("12345678901234567.89"), Decimal("1.50"), Decimal("0.10")]
    table = pa.table({"id": [1, 2, 3], "amount": pa.array(amounts, pa.decimal128(20, 2))})
    pq.write_table(table, landing / "d.parquet")

    run = lf.ingest(str(landing), ".", dataset="money", schema=str(schema["$id"]))

    assert run.status == "success", run.metrics
    assert run.metrics["recordSummary"]["extensions"] == {
        "precisionLoss": {"roundedNumbers": {"amount": 1}}
    }
    stored = lf.datasets.read(lf.datasets.get("money")).sort_by("id")
    assert stored.column("amount").to_pylist() == [1.2345678901234568e16, 1.5, 0.1]


def test_a_member_that_fails_after_many_rejected_rows_leaves_none_of_them(tmp_path: Path) -> None:
    """Rejected rows of an archive member are kept only once the member is read whole: a member
    that fails part-way (after more rejected rows than one report holds) leaves no row
    errors, and the other members' stay."""
    import io
    import os
    import zipfile

    from text_support import damage_zip_member

    root = tmp_path / "landing"
    root.mkdir()
    good = "id,note\n" + "".join(f"{n},ok\n{n},too,many\n" for n in range(3))
    noise = os.urandom(300_000 * 24).hex()  # hardly compressible: the damage lands far in
    noisy = (
        "id,note\n"
        + "".join(  # every 100th row has a field too many: 3,000 rejected
            f"{n},{noise[48 * n : 48 * n + 48]}{',extra' if n % 100 == 0 else ''}\n"
            for n in range(300_000)
        )
    )
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", good)
        archive.writestr("b.csv", noisy)
    (root / "bundle.zip").write_bytes(damage_zip_member(sink.getvalue(), "b.csv"))
    lf = Lakefeed(home=tmp_path / "home")
    schema = lf.schemas.create_inferred_schema(
        "notes", {"id": {"type": "integer"}, "note": {"type": "string"}}
    )

    run = lf.ingest(
        str(root), ".", dataset="notes", schema=schema["$id"], partial_ingestion_percent=60,
        error_diagnostics=True, data_format="delimited",
    )  # fmt: skip

    failed = run.metrics["statusSummary"]["extensions"]["fileErrors"]
    assert [e["path"].rsplit("/", 1)[-1] for e in failed] == ["b.csv"], failed
    rejected = list(lf.row_errors.list(run.batch_id))
    assert {e.source_file.rsplit("!/", 1)[-1] for e in rejected} == {"a.csv"}
    assert len(rejected) == 3 == run.metrics["recordSummary"]["failedRecordCount"]
