"""The warehouse failing under a run. Batches are written in a writer thread, so a failed write
is raised by the next call on the source's writer (the next batch, an archive's next member,
or the file's end): wherever it surfaces, the file fails as the dataset's fault, for this run
only, with nothing half-written left or committed, and the next run ingests it once."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakefeed import Lakefeed
from lakefeed.catalog.runs import Run
from lakefeed.flows.convert import BATCH_ROWS


def numbered(start: int, count: int) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + count), pa.int64())})


def csv_zip() -> bytes:
    """Two members: the write of the first fails, and the second's start surfaces it."""
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("a.csv", "id\n" + "".join(f"{n}\n" for n in range(500_000, 500_010)))
        archive.writestr("b.csv", "id\n" + "".join(f"{n}\n" for n in range(600_000, 600_010)))
    return sink.getvalue()


def test_a_failed_write_fails_its_file_for_this_run_wherever_it_surfaces(tmp_path: Path) -> None:
    landing, archives = tmp_path / "landing", tmp_path / "archives"
    landing.mkdir()
    archives.mkdir()
    pq.write_table(numbered(0, 10), landing / "one-batch.parquet")
    pq.write_table(numbered(1_000, 3 * BATCH_ROWS), landing / "three-batches.parquet")
    (archives / "members.zip").write_bytes(csv_zip())
    lf = Lakefeed(home=tmp_path / "home")
    schema = lf.schemas.create_inferred_schema("ids", {"id": {"type": "integer"}})
    dataset = lf.datasets.create("ids", schema["$id"])
    table = lf.datasets.table(dataset)
    data = Path(table.location().removeprefix("file://")) / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("a file where the data folder goes: every data file's write fails")

    def ingest() -> list[Run]:
        return [
            lf.ingest(str(landing), ".", dataset="ids", partial_ingestion_percent=100),
            lf.ingest(
                str(archives), ".", dataset="ids", partial_ingestion_percent=100,
                data_format="delimited",
            ),
        ]  # fmt: skip

    failed = {
        error["path"].rsplit("/", 1)[-1]: error
        for run in ingest()
        for error in run.metrics["statusSummary"]["extensions"]["fileErrors"]
    }
    assert set(failed) == {"one-batch.parquet", "three-batches.parquet", "members.zip"}, failed
    for error in failed.values():
        assert "while writing the batch's data files" in error["message"], error
        assert error["code"] == "LF-3100", error  # a WarehouseError: the dataset's fault
        assert "!/" not in error["message"]  # the dataset's fault, not a member's
    assert table.refresh().current_snapshot() is None
    assert data.is_file()  # nothing was written past the blocker

    data.unlink()
    for run in ingest():
        assert run.metrics["statusSummary"]["extensions"].get("fileErrors", []) == []
    ids = sorted(table.refresh().scan().to_arrow().column("id").to_pylist())
    expected = [*range(10), *range(1_000, 1_000 + 3 * BATCH_ROWS)]
    expected += [*range(500_000, 500_010), *range(600_000, 600_010)]
    assert ids == sorted(expected)
    leftovers = [p for p in data.rglob("*.parquet") if p.name not in _committed(table)]
    assert leftovers == []


def _committed(table: object) -> set[str]:
    return {
        task.file.file_path.rsplit("/", 1)[-1]
        for task in table.scan().plan_files()  # type: ignore[attr-defined]
    }
