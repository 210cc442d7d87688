"""The ingestion scenarios every backend runs (local disk, S3 and SFTP servers).

A test module subclasses :class:`IngestionSuite` and supplies a class-scoped ``source``
fixture: the connection spec and params, and an absolute folder the suite may fill.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import duckdb_iceberg
from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.runs import Run
from lakefeed.datasets.iceberg import BATCH_PROPERTY, RUN_PROPERTY
from lakefeed.datasets.table_files import list_files, normalised
from lakefeed.flows import coalesce
from lakefeed.flows.executors import Executor
from lakefeed.flows.runner import RunProgress
from lakefeed.storage import read_ahead
from lakefeed.testing.contract import ensure_folder, put
from lakefeed.testing.profiles import create_profile_schema, profile_table


@dataclass
class IngestSource:
    spec: str
    auth_spec: str | None
    params: dict[str, Any]
    base: str  # absolute folder the suite may fill (bucket/prefix on object stores)
    #: False where a file's identity is its size and a whole-second mtime (SFTP): a rewrite
    #: to the same size within the second is then the same version, to the ledger as well
    same_size_rewrites_visible: bool = True


def parquet_bytes(table: pa.Table, row_group_size: int | None = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def corrupt_page(table: pa.Table) -> bytes:
    """A Parquet file whose footer is fine but whose first page header is garbage."""
    data = bytearray(parquet_bytes(table))
    data[4:40] = b"\xff" * 36
    return bytes(data)


class Scenario:
    """One flow over one fresh folder: helpers to write files, run, and read the dataset."""

    def __init__(self, home: Path, source: IngestSource, executor: Executor | None = None) -> None:
        self.home = home
        self.lf = Lakefeed(home=home, executor=executor)
        self.source = source
        self.folder = f"{source.base.rstrip('/')}/t-{uuid.uuid4().hex[:10]}"
        self.connection = self.lf.create_connection(
            f"src-{uuid.uuid4().hex[:6]}", source.spec, source.auth_spec, source.params
        )
        self.session = self.lf.session(self.connection)
        for folder in (source.base, self.folder):  # gcsfs makes no bucket for a sub-folder
            ensure_folder(self.session.fs, self.session.resolve(folder))
        self.schema = create_profile_schema(self.lf.schemas)
        self.dataset = self.lf.datasets.create(
            f"profiles-{uuid.uuid4().hex[:6]}", self.schema["$id"]
        )
        self.tenant = self.lf.schemas.tenant_id

    def flow(
        self,
        *,
        path: str | None = None,
        recursive: bool = True,
        options: dict[str, Any] | None = None,
        schedule: dict[str, Any] | None = None,
    ) -> Flow:
        flows = self.lf.flows
        src = flows.create_source_connection(
            name=f"s-{uuid.uuid4().hex[:6]}",
            base_connection_id=self.connection.id,
            path=path or self.folder,
            recursive=recursive,
            data_format="parquet_xdm",
            schema_id=self.schema["$id"],
        )
        dst = flows.create_target_connection(
            name=f"t-{uuid.uuid4().hex[:6]}", dataset_id=self.dataset.id
        )
        return flows.create_flow(
            name=f"f-{uuid.uuid4().hex[:6]}",
            source_connection_ids=[src.id],
            target_connection_ids=[dst.id],
            options=options,
            schedule=schedule,
        )

    def put(self, relpath: str, table: pa.Table | bytes) -> None:
        data = table if isinstance(table, bytes) else parquet_bytes(table)
        put(self.session, {f"{self.folder}/{relpath}": data})

    def profiles(self, rows: int, start: int, **kwargs: Any) -> pa.Table:
        return profile_table(rows, start=start, tenant_id=self.tenant, **kwargs)

    def rows(self) -> pa.Table:
        return self.lf.datasets.read(self.lf.datasets.get(self.dataset.id))

    def ids(self) -> list[str]:
        return sorted(self.rows().column("_id").to_pylist())

    def table(self) -> Any:
        return self.lf.datasets.table(self.lf.datasets.get(self.dataset.id))


def stored_files(table: Any, folder: str) -> set[str]:
    """The files under ``folder`` of ``table``'s warehouse, listed through the table's own FileIO
    (a local folder or an object store, with the warehouse's credentials)."""
    return {normalised(stored.location) for stored in list_files(table.io, folder)}


def expected_ids(*ranges: tuple[int, int]) -> list[str]:
    return sorted(f"profile-{n}" for start, count in ranges for n in range(start, start + count))


def file_summary(run: Run) -> dict[str, Any]:
    return dict(run.metrics["fileSummary"])


def records(run: Run) -> dict[str, Any]:
    return dict(run.metrics["recordSummary"])


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from lakefeed import Lakefeed
    from lakefeed.datasets import writer

    home, flow_id, mode = sys.argv[1:4]
    if mode == "after-commit":
        commit = writer.BatchWriter.commit
        def killing_commit(self, *args, **kwargs):
            commit(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        writer.BatchWriter.commit = killing_commit
    else:  # once the first data file is complete (small files share theirs)
        finish = writer.SourceWriter.finish
        def killing_finish(self):
            data_files = finish(self)
            if data_files:
                os.kill(os.getpid(), signal.SIGKILL)
            return data_files
        writer.SourceWriter.finish = killing_finish
    Lakefeed(home=home).run_flow(flow_id)
    print("the run finished without being killed")
    """
)


def rewrite_during_a_run(scenario: Scenario, *, same_size: bool) -> None:
    """60 files; once 10 are read, one not read yet (its footer read long before) is
    rewritten in place with new ids. The run must not ingest it, and report it as changed
    while reading; the next run ingests its new version, once. ``same_size`` keeps its size
    (the rows it had, ids changed), the rewrite the ledger had ingested twice.

    Where a same-size rewrite within the second keeps the file's identity (SFTP: size and a
    whole-second mtime), the run may not see it: it then reads the new bytes under the listed
    identity, and the new version still lands exactly once."""
    names = [f"f{n:02d}.parquet" for n in range(60)]
    tables = {name: scenario.profiles(20, n * 20) for n, name in enumerate(names)}
    for name, table in tables.items():
        scenario.put(name, table)
    flow = scenario.flow()
    started: set[str] = set()
    rewritten: dict[str, pa.Table] = {}

    def rewrite_one_not_yet_read(progress: RunProgress) -> None:
        if progress.current_file:
            started.add(progress.current_file.rsplit("/", 1)[-1])
        # (Small files are converted in groups: the 60 are done at once, read one by one.)
        if len(started) >= 10 and not rewritten:
            victim = max(set(names) - started)
            old = tables[victim]
            if same_size:
                new_ids = pc.replace_substring(old["_id"], "profile-", "profile~")
                new = old.set_column(old.schema.get_field_index("_id"), "_id", new_ids)
                assert len(parquet_bytes(new)) == len(parquet_bytes(old))
            else:
                new = scenario.profiles(30, 5000)
            scenario.put(victim, new)
            rewritten[victim] = new

    # A small file is read whole with its footer, ahead of its conversion, where the backend
    # pins versions: a rewrite after that read is not this run's, which ingests the version it
    # listed and read (tests/plugins/s3/test_s3_reads.py). Here the rows are read when the
    # file converts, after the rewrite.
    # An executor converting elsewhere reports a task's progress once it ends, and small
    # files are converted in groups (lakefeed.flows.coalesce): there, one file a task, so
    # that the rewrite comes before the victim's task (in-process, a group reports each file).
    elsewhere = not getattr(scenario.lf.executor, "converts_here", False)
    whole, read_ahead.WHOLE_FILE_BYTES = read_ahead.WHOLE_FILE_BYTES, 0
    most, coalesce.MAX_GROUP_FILES = coalesce.MAX_GROUP_FILES, 1 if elsewhere else 1000
    try:
        first = scenario.lf.run_flow(flow, progress=rewrite_one_not_yet_read)
    finally:
        read_ahead.WHOLE_FILE_BYTES = whole
        coalesce.MAX_GROUP_FILES = most

    ((victim, new),) = rewritten.items()
    others = sorted(i for name in names if name != victim for i in tables[name]["_id"].to_pylist())
    assert first.status == "success", first.metrics
    everything = sorted(others + new["_id"].to_pylist())
    file_errors = first.metrics["statusSummary"]["extensions"]["fileErrors"]
    if not file_errors and same_size and not scenario.source.same_size_rewrites_visible:
        assert scenario.ids() == everything  # unseen: the new bytes, once
        assert file_summary(scenario.lf.run_flow(flow))["inputFileCount"] == 0
        assert scenario.ids() == everything
        return
    (error,) = file_errors
    assert error["path"].endswith(victim)
    assert error["code"] == "LF-2409", error
    assert "changed while it was being read" in error["message"] and "next run" in error["fix"]
    summary = file_summary(first)
    assert (summary["inputFileCount"], summary["failedFileCount"]) == (60, 1)
    assert summary["extensions"] == {"changedWhileReadingFileCount": 1}
    assert scenario.ids() == others
    ledgered = {row.path.rsplit("/", 1)[-1] for row in scenario.lf.ledger.entries(flow.id)}
    assert victim not in ledgered and len(ledgered) == 59

    second = scenario.lf.run_flow(flow)  # the new version, once

    assert second.status == "success", second.metrics
    assert file_summary(second)["inputFileCount"] == 1
    assert "extensions" not in file_summary(second)
    assert scenario.ids() == everything
    assert file_summary(scenario.lf.run_flow(flow))["inputFileCount"] == 0
    assert scenario.ids() == everything


class IngestionSuite:
    @pytest.fixture
    def executor(self) -> Executor | None:
        """What converts the files (the engine's default unless a suite says otherwise)."""
        return None

    @pytest.fixture
    def scenario(self, tmp_path: Path, source: IngestSource, executor: Executor | None) -> Scenario:
        return Scenario(tmp_path / "home", source, executor)

    def test_nested_profiles_end_to_end(self, scenario: Scenario) -> None:
        scenario.put("2026/01/a.parquet", scenario.profiles(300, 0))
        scenario.put("2026/02/b.parquet", scenario.profiles(200, 300))
        scenario.put("données/c é #1 (copy).parquet", scenario.profiles(100, 500))
        scenario.put("_SUCCESS", b"")
        flow = scenario.flow()

        run = scenario.lf.run_flow(flow)

        assert run.status == "success", run.metrics
        assert file_summary(run)["inputFileCount"] == 3
        assert records(run) == {
            "inputRecordCount": 600,
            "outputRecordCount": 600,
            "failedRecordCount": 0,
        }
        rows = scenario.rows()
        assert scenario.ids() == expected_ids((0, 600))
        one = rows.filter(pc.equal(rows["_id"], "profile-42")).to_pylist()[0]
        source = scenario.profiles(300, 0).slice(42, 1).to_pylist()[0]
        assert one["person"]["name"]["firstName"] == source["person"]["name"]["firstName"]
        assert one["person"]["name"]["middleName"] is None  # in the schema, not in the file
        assert one["person"]["birthDate"] == source["person"]["birthDate"]
        assert one["identityMap"] == source["identityMap"]
        assert one["_lakefeed"]["source_row"] == 42
        assert one["_lakefeed"]["source_file"].endswith("2026/01/a.parquet")
        assert one["_lakefeed"]["batch_id"] == run.batch_id
        odd = rows.filter(pc.equal(rows["_id"], "profile-550")).to_pylist()[0]
        assert odd["_lakefeed"]["source_file"].endswith("données/c é #1 (copy).parquet")
        batch = scenario.lf.batches.get(run.batch_id)
        assert batch.status == "success"
        assert batch.metrics["outputRecordCount"] == 600
        snapshot = scenario.table().current_snapshot()
        assert snapshot.snapshot_id == batch.snapshot_id
        assert snapshot.summary.get(RUN_PROPERTY) == run.id
        assert snapshot.summary.get(BATCH_PROPERTY) == batch.id
        activities = {a["id"]: a for a in run.to_dict()["activities"]}
        assert activities["promotionActivity"]["targetInfo"][0]["reference"]["ids"] == [batch.id]

    def test_duckdb_reads_what_lakefeed_wrote(self, scenario: Scenario) -> None:
        scenario.put("a.parquet", scenario.profiles(250, 0))
        scenario.lf.run_flow(scenario.flow())
        scenario.put("b.parquet", scenario.profiles(50, 250))
        scenario.lf.run_flow(scenario.flow(path=scenario.folder + "/b.parquet"))

        table = scenario.table()
        result = duckdb_iceberg.scan(
            table.metadata_location,
            "SELECT count(*) AS n, count(DISTINCT _id) AS ids, "
            "min(person.name.firstName) IS NOT NULL AS named, "
            "sum(_lakefeed.source_row)::BIGINT AS rows_sum FROM t",
        ).to_pylist()[0]
        assert result == {
            "n": 300,
            "ids": 300,
            "named": True,
            "rows_sum": sum(range(250)) + sum(range(50)),
        }
        nested = duckdb_iceberg.scan(
            table.metadata_location,
            f"SELECT _{scenario.tenant}.loyalty.loyaltyId AS lid, homeAddress.city AS city "
            "FROM t WHERE _id = 'profile-7'",
        ).to_pylist()
        expected = scenario.profiles(250, 0).slice(7, 1).to_pylist()[0]
        assert nested == [{"lid": "L00000007", "city": expected["homeAddress"]["city"]}]
        # Data files hold only the columns their source had: the others read as null, by
        # field id, nested ones included, in DuckDB as in pyiceberg.
        everything = duckdb_iceberg.scan(table.metadata_location)
        assert everything.num_rows == 300
        assert everything.schema.names == scenario.rows().schema.names
        absent = duckdb_iceberg.scan(
            table.metadata_location,
            "SELECT count(person.name.middleName) AS middle, count(*) AS n FROM t",
        ).to_pylist()[0]
        assert absent == {"middle": 0, "n": 300}

    def test_file_with_another_schema_fails_alone(self, scenario: Scenario) -> None:
        scenario.put("good.parquet", scenario.profiles(100, 0))
        wrong = pa.table({"_id": ["x"], "person": pa.array([{"birthDate": 1990}])})
        scenario.put("wrong.parquet", wrong)
        scenario.put("broken.parquet", parquet_bytes(scenario.profiles(10, 900))[:-100])
        flow = scenario.flow()

        run = scenario.lf.run_flow(flow)

        assert run.status == "success"
        assert scenario.ids() == expected_ids((0, 100))
        summary = file_summary(run)
        assert (summary["inputFileCount"], summary["failedFileCount"]) == (3, 2)
        errors = {
            e["path"].rsplit("/", 1)[-1]: e
            for e in run.metrics["statusSummary"]["extensions"]["fileErrors"]
        }
        assert errors["wrong.parquet"]["code"] == "LF-2425"
        assert "person.birthDate" in errors["wrong.parquet"]["message"]
        assert errors["broken.parquet"]["code"] == "LF-2422"
        codes = [e["code"] for e in run.metrics["statusSummary"]["errors"]]
        assert "CONNECTOR-1001-500" in codes
        # The failed versions are not retried until they change...
        again = scenario.lf.run_flow(flow)
        assert file_summary(again)["inputFileCount"] == 0
        # ...unless asked to.
        retried = scenario.lf.run_flow(flow, retry_failed=True)
        assert file_summary(retried)["inputFileCount"] == 2
        assert scenario.ids() == expected_ids((0, 100))

    def test_partial_ingestion_below_threshold_keeps_bad_rows(self, scenario: Scenario) -> None:
        bad = {3: "gender", 10: "email", 20: "loyalty_id", 30: "points"}
        scenario.put("a.parquet", scenario.profiles(200, 0, bad=bad))
        flow = scenario.flow(options={"partialIngestionPercent": 5})

        run = scenario.lf.run_flow(flow)

        assert run.status == "success"
        assert records(run) == {
            "inputRecordCount": 200,
            "outputRecordCount": 196,
            "failedRecordCount": 4,
        }
        assert "INGEST-1212-400" in [e["code"] for e in run.metrics["statusSummary"]["errors"]]
        assert len(scenario.ids()) == 196
        assert "profile-3" not in scenario.ids()
        rejected = [r.to_dict() for r in scenario.lf.row_errors.list(run.batch_id)]
        assert [r["rowIndex"] for r in rejected] == [3, 10, 20, 30]
        by_row = {r["rowIndex"]: r for r in rejected}
        assert by_row[3]["record"]["person"]["gender"] == "robot"
        assert by_row[3]["record"]["identityMap"]["Email"][0]["primary"] is True
        assert by_row[3]["errors"][0]["code"] == "INGEST-1401-400"
        assert "person.gender" in by_row[3]["errors"][0]["message"]
        assert by_row[20]["errors"][0]["code"] == "INGEST-1555-400"
        assert by_row[20]["sourceFile"].endswith("a.parquet")

    def test_partial_ingestion_above_threshold_commits_nothing(self, scenario: Scenario) -> None:
        bad = {i: "email" for i in range(0, 100, 5)}  # 20 of 100 rows: 20% > 5%
        scenario.put("a.parquet", scenario.profiles(100, 0, bad=bad))
        flow = scenario.flow(options={"partialIngestionPercent": 5})
        snapshots_before = len(scenario.table().metadata.snapshots)

        run = scenario.lf.run_flow(flow)

        assert run.status == "failed"
        assert scenario.ids() == []
        assert len(scenario.table().metadata.snapshots) == snapshots_before
        batch = scenario.lf.batches.get(run.batch_id)
        assert batch.status == "failed"
        assert any("threshold" in e["description"] for e in batch.errors)
        left = stored_files(scenario.table(), batch.data_prefix)
        assert left == set(), "a failed batch left data files behind"
        assert len(list(scenario.lf.row_errors.list(batch.id))) == 20

    def test_bad_row_without_partial_ingestion_fails_the_batch(self, scenario: Scenario) -> None:
        scenario.put("a.parquet", scenario.profiles(50, 0, bad={7: "gender"}))
        run = scenario.lf.run_flow(scenario.flow())
        assert run.status == "failed"
        assert scenario.ids() == []
        codes = [e["code"] for e in run.metrics["statusSummary"]["errors"]]
        assert "INGEST-1211-400" in codes  # rows rejected, diagnostics off

    def test_runs_are_incremental_per_file_version(self, scenario: Scenario) -> None:
        scenario.put("a.parquet", scenario.profiles(40, 0))
        flow = scenario.flow()
        first = scenario.lf.run_flow(flow)
        assert file_summary(first)["inputFileCount"] == 1

        second = scenario.lf.run_flow(flow)
        assert file_summary(second)["inputFileCount"] == 0
        assert file_summary(second)["skippedFileCount"] == 1
        assert second.batch_id is None
        assert scenario.ids() == expected_ids((0, 40))

        scenario.put("b.parquet", scenario.profiles(10, 40))
        third = scenario.lf.run_flow(flow)
        assert file_summary(third)["inputFileCount"] == 1
        assert scenario.ids() == expected_ids((0, 50))

        # Rewriting a.parquet with other rows is a new version: ingested again, in full.
        scenario.put("a.parquet", scenario.profiles(5, 1000))
        fourth = scenario.lf.run_flow(flow)
        assert file_summary(fourth)["inputFileCount"] == 1
        assert scenario.ids() == expected_ids((0, 50), (1000, 5))

    @pytest.mark.parametrize("same_size", [False, True], ids=["other-size", "same-size"])
    def test_file_rewritten_during_a_run_lands_once_as_its_new_version(
        self, scenario: Scenario, same_size: bool
    ) -> None:
        rewrite_during_a_run(scenario, same_size=same_size)

    def test_backfill_false_leaves_older_files_alone(self, scenario: Scenario) -> None:
        scenario.put("old.parquet", scenario.profiles(10, 0))
        listed = list(scenario.session.ls(scenario.folder))
        newest_old = max(int(e.mtime.timestamp()) for e in listed if e.mtime)
        start = newest_old + 1
        flow = scenario.flow(
            schedule={"startTime": start, "frequency": "minute", "interval": 15, "backfill": False}
        )
        deadline = time.monotonic() + 10
        while time.time() < start + 1.1 and time.monotonic() < deadline:
            time.sleep(0.05)  # the next file must be modified after startTime
        scenario.put("new.parquet", scenario.profiles(5, 100))

        run = scenario.lf.run_flow(flow)

        assert scenario.ids() == expected_ids((100, 5))
        assert file_summary(run)["skippedFileCount"] == 1

    def test_missing_source_path_fails_the_run_with_the_reason(self, scenario: Scenario) -> None:
        flow = scenario.flow(path=scenario.folder + "/no-such-folder")
        run = scenario.lf.run_flow(flow)
        assert run.status == "failed"
        (error,) = run.metrics["statusSummary"]["errors"]
        assert error["code"] == "LF-2404"
        assert "no-such-folder" in error["message"]
        assert scenario.lf.runs.active(flow.id) == []

    @pytest.mark.parametrize("mode", ["during-conversion", "after-commit"])
    def test_killed_run_is_recovered_exactly_once(self, scenario: Scenario, mode: str) -> None:
        scenario.put("a.parquet", scenario.profiles(30, 0))
        scenario.put("b.parquet", scenario.profiles(30, 30))
        scenario.put("c.parquet", scenario.profiles(30, 60))
        flow = scenario.flow()
        killed = subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT, str(scenario.home), flow.id, mode],
            capture_output=True,
            text=True,
            env={**os.environ},
            timeout=120,
        )
        assert killed.returncode == -9, killed.stdout + killed.stderr
        interrupted = scenario.lf.runs.list(flow.id)[0]
        assert interrupted.state == "inProgress"

        recovered_by = scenario.lf.run_flow(flow)

        assert scenario.ids() == expected_ids((0, 90))
        before = scenario.lf.runs.get(interrupted.id)
        assert before.state == "completed"
        batch = scenario.lf.batches.get(
            interrupted.batch_id or scenario.lf.batches.of_run(interrupted.id)[0].id
        )
        if mode == "after-commit":
            assert before.status == "success"
            assert batch.status == "success"
            assert file_summary(recovered_by)["inputFileCount"] == 0
            # The rolled-forward run counts what its batch's file plan says it took.
            assert file_summary(before)["inputFileCount"] == 3
            assert file_summary(before)["outputFileCount"] == 3
            assert before.metrics["recordSummary"]["outputRecordCount"] == 90
        else:
            assert before.status == "failed"
            assert batch.status == "aborted"
            assert file_summary(recovered_by)["inputFileCount"] == 3
            left = stored_files(scenario.table(), batch.data_prefix)
            assert left == set(), "the rolled-back batch left data files"
            if batch.data_prefix.startswith("file://"):
                assert not Path(batch.data_prefix.removeprefix("file://")).exists()
        assert [e["code"] for e in before.metrics["statusSummary"]["errors"]][-1] == "LF-1510"
        # Every data file the table references exists, and no other file is in the data folder.
        table = scenario.table()
        referenced = {normalised(task.file.file_path) for task in table.scan().plan_files()}
        assert referenced == stored_files(table, table.location() + "/data")
