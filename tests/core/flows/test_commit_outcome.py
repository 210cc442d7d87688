"""A batch's commit failing at the catalog's database, before or after the commit landed (the
connection dropped during ``COMMIT``), injected in pyiceberg's SQL catalog, on SQLite and
PostgreSQL and on local disk and S3: the batch's rows land exactly once, every read works and no
data file a snapshot references is ever deleted; a commit whose outcome nobody can tell (the
catalog's database still away) keeps its files for recovery, which settles it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy.exc
from pyiceberg.catalog.sql import SqlCatalog
from sqlalchemy.orm import Session

from lakefeed import Lakefeed
from lakefeed.catalog.runs import Run
from lakefeed.datasets.table_files import list_files
from lakefeed.errors import CommitOutcomeUnknown
from lakefeed.flows.metrics import INTERRUPTED
from warehouses import Warehouse, s3_warehouse


def dropped() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError(
        "COMMIT", {}, Exception("server closed the connection unexpectedly")
    )


class CatalogFaults:
    """Faults of the Iceberg catalog's database, each for the next commit only.

    ``after``: the commit lands, then the connection drops. ``before``: it drops before the
    catalog is asked. ``lost``: the new metadata file is written, then the row's update fails.
    ``interrupt``: the commit lands, then the process is interrupted. With ``down``, the
    catalog cannot load a table from then on (until ``down`` is set False)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fault: str | None = None
        self.down_after = False
        self.down = False
        self.commits = 0
        real_commit, real_load = SqlCatalog.commit_table, SqlCatalog.load_table

        def commit_table(catalog: SqlCatalog, table: Any, *changes: Any) -> Any:
            fault, self.fault = self.fault, None
            if fault == "before":
                raise dropped()
            if fault == "lost":
                try:
                    with monkeypatch.context() as patch:
                        patch.setattr(Session, "commit", lambda session: _raise(dropped()))
                        return real_commit(catalog, table, *changes)
                finally:
                    self.down = self.down_after
            response = real_commit(catalog, table, *changes)
            self.commits += 1
            if fault is not None:
                self.down = self.down_after
                raise KeyboardInterrupt if fault == "interrupt" else dropped()
            return response

        def load_table(catalog: SqlCatalog, identifier: Any) -> Any:
            if self.down:
                raise dropped()
            return real_load(catalog, identifier)

        monkeypatch.setattr(SqlCatalog, "commit_table", commit_table)
        monkeypatch.setattr(SqlCatalog, "load_table", load_table)


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> CatalogFaults:
    return CatalogFaults(monkeypatch)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def warehouse(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Warehouse | None]:
    if request.param == "local":
        yield None
        return
    s3 = s3_warehouse("moto")
    s3.use(monkeypatch, tmp_path)
    yield s3


def numbered(start: int, count: int) -> pa.Table:
    return pa.table({"id": pa.array(range(start, start + count), pa.int64())})


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    pq.write_table(numbered(0, 20), folder / "a.parquet")
    pq.write_table(numbered(20, 5), folder / "b.parquet")
    return folder


def ingest(lf: Lakefeed, landing: Path) -> Run:
    return lf.ingest(str(landing), ".", dataset="ids", infer=True)


def ingest_dropped(lf: Lakefeed, landing: Path) -> Run:
    """A run whose commit's connection drops: the database's error is not a lakefeed error,
    so it is recorded in the run and raised."""
    with pytest.raises(sqlalchemy.exc.OperationalError):
        ingest(lf, landing)
    (run,) = lf.runs.list()
    return run


def ids(lf: Lakefeed) -> list[int]:
    """The dataset's rows, read whole: every data file a snapshot references must be there."""
    table = lf.datasets.read(lf.datasets.get("ids"))
    return sorted(table.column("id").to_pylist())


def missing_files(lf: Lakefeed) -> list[str]:
    """Data files the table's snapshots reference that storage does not have."""
    table = lf.datasets.table(lf.datasets.get("ids"))
    paths = {
        task.file.file_path
        for snapshot in table.metadata.snapshots
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    return sorted(path for path in paths if not table.io.new_input(path).exists())


def batch_files(lf: Lakefeed, run: Run) -> list[str]:
    """The data files stored under the run's batch folder."""
    (batch,) = lf.batches.of_run(run.id)
    table = lf.datasets.table(lf.datasets.get("ids"))
    return [stored.location for stored in list_files(table.io, batch.data_prefix)]


def codes(run: Run) -> list[str]:
    return [error["code"] for error in run.metrics["statusSummary"]["errors"]]


def test_a_commit_that_landed_before_its_connection_dropped_counts_as_committed(
    faults: CatalogFaults, warehouse: Warehouse | None, landing: Path
) -> None:
    lf = Lakefeed()
    faults.fault = "after"

    first = ingest(lf, landing)

    assert faults.commits == 1
    assert first.status == "success", first.metrics
    (batch,) = lf.batches.of_run(first.id)
    assert batch.status == "success" and batch.snapshot_id is not None
    assert ids(lf) == list(range(25))
    assert missing_files(lf) == []
    second = ingest(lf, landing)  # the ledger has both files: nothing is taken again
    assert second.metrics["fileSummary"]["inputFileCount"] == 0
    assert ids(lf) == list(range(25)) and missing_files(lf) == []


def test_a_commit_refused_before_it_reached_the_catalog_is_rolled_back(
    faults: CatalogFaults, warehouse: Warehouse | None, landing: Path
) -> None:
    lf = Lakefeed()
    faults.fault = "before"

    first = ingest_dropped(lf, landing)

    assert first.status == "failed" and faults.commits == 0
    (batch,) = lf.batches.of_run(first.id)
    assert batch.status == "failed"
    assert batch_files(lf, first) == []  # nothing of it is left behind
    assert lf.datasets.table(lf.datasets.get("ids")).current_snapshot() is None
    second = ingest(lf, landing)
    assert second.status == "success" and second.metrics["fileSummary"]["inputFileCount"] == 2
    assert ids(lf) == list(range(25)) and missing_files(lf) == []


def test_a_commit_whose_row_update_failed_is_rolled_back(
    faults: CatalogFaults, landing: Path
) -> None:
    """The metadata file was written, the catalog's row never pointed at it: reading the table
    again shows the commit did not land, so the files go."""
    lf = Lakefeed()
    faults.fault = "lost"

    first = ingest_dropped(lf, landing)

    assert first.status == "failed"
    assert batch_files(lf, first) == []
    assert lf.datasets.table(lf.datasets.get("ids")).current_snapshot() is None
    assert ingest(lf, landing).status == "success"
    assert ids(lf) == list(range(25)) and missing_files(lf) == []


@pytest.mark.parametrize("recovered_by", ["the next run", "a starting server"])
def test_a_commit_nobody_can_see_the_outcome_of_is_left_to_recovery(
    faults: CatalogFaults, warehouse: Warehouse | None, landing: Path, recovered_by: str
) -> None:
    lf = Lakefeed()
    faults.fault, faults.down_after = "after", True

    first = ingest(lf, landing)

    # Failed with a clear error, its files kept, nothing ledgered: recovery decides.
    assert faults.commits == 1
    assert first.state == "inProgress" and first.metrics["statusSummary"]["status"] == "failed"
    assert codes(first) == [CommitOutcomeUnknown.code]
    message = first.metrics["statusSummary"]["errors"][0]["message"]
    assert "could not be read again" in message and "recovery" in message
    (batch,) = lf.batches.of_run(first.id)
    assert batch.status == "loading"
    faults.down = False  # the catalog's database is back
    assert len(batch_files(lf, first)) == 1  # the two small files share a data file
    assert ids(lf) == list(range(25)) and missing_files(lf) == []

    if recovered_by == "the next run":
        second = ingest(lf, landing)
        assert second.metrics["fileSummary"]["inputFileCount"] == 0  # ledgered by recovery
    else:
        assert [run.id for run in Lakefeed().recover_interrupted()] == [first.id]
    settled = lf.runs.get(first.id)
    assert settled.state == "completed" and settled.status == "success"
    assert codes(settled) == [CommitOutcomeUnknown.code, INTERRUPTED]
    assert "rolled forward" in settled.metrics["statusSummary"]["errors"][-1]["message"]
    assert lf.batches.get(batch.id).status == "success"
    assert ingest(lf, landing).metrics["fileSummary"]["inputFileCount"] == 0
    assert ids(lf) == list(range(25)) and missing_files(lf) == []


def test_recovery_rolls_back_a_commit_of_unknown_outcome_that_did_not_land(
    faults: CatalogFaults, landing: Path
) -> None:
    lf = Lakefeed()
    faults.fault, faults.down_after = "lost", True

    first = ingest(lf, landing)

    assert codes(first) == [CommitOutcomeUnknown.code]
    faults.down = False
    # Kept (the two small files' shared one): nobody knew whether it was committed.
    assert len(batch_files(lf, first)) == 1
    second = ingest(lf, landing)

    settled = lf.runs.get(first.id)
    assert settled.state == "completed" and settled.status == "failed"
    assert "rolled back" in settled.metrics["statusSummary"]["errors"][-1]["message"]
    assert batch_files(lf, first) == []
    assert second.metrics["fileSummary"]["inputFileCount"] == 2  # planned again, once
    assert ids(lf) == list(range(25)) and missing_files(lf) == []


def test_an_interrupt_after_the_commit_landed_completes_the_run(
    faults: CatalogFaults, landing: Path
) -> None:
    lf = Lakefeed()
    faults.fault = "interrupt"

    with pytest.raises(KeyboardInterrupt):
        ingest(lf, landing)

    (run,) = lf.runs.list()
    assert run.state == "completed" and run.status == "success"
    assert ids(lf) == list(range(25)) and missing_files(lf) == []
    assert ingest(lf, landing).metrics["fileSummary"]["inputFileCount"] == 0
    assert ids(lf) == list(range(25))
