"""The Dask executor on a real dask.distributed cluster (a LocalCluster of 2 worker processes
on 127.0.0.1): the ingestion suite's exactly-once and diagnostics cases, tasks that never
reach the scheduler in clear, a worker killed mid-run, and the errors a misconfigured cluster
gives."""

from __future__ import annotations

import os
import pickle
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin

from executor_support import ElsewhereIngestionSuite, landed_ids, numbered_files
from lakefeed import Lakefeed
from lakefeed.flows import dask_executor
from lakefeed.flows.dask_executor import DaskExecutor
from lakefeed.flows.options import RunProgress
from lakefeed.flows.sealed_tasks import KEY_VARIABLE, TaskSeal
from lakefeed.testing.contract import ensure_folder, put
from tests_support import server_env

KEY = TaskSeal.new_key()


class Recorder(SchedulerPlugin):  # type: ignore[misc]
    """A scheduler plugin that keeps every task's run spec, pickled as the scheduler holds it,
    and counts the times each task started processing (a second time: it was run again)."""

    name = "lakefeed-test-recorder"

    def __init__(self, scheduler: Any) -> None:
        super().__init__()
        self.specs: list[bytes] = []
        self.processing: dict[str, int] = {}
        self.scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish != "processing":
            return
        self.processing[str(key)] = self.processing.get(str(key), 0) + 1
        task = self.scheduler.tasks.get(key)
        if task is not None:
            self.specs.append(pickle.dumps(task.run_spec))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    saved = os.environ.get(KEY_VARIABLE)
    os.environ[KEY_VARIABLE] = KEY  # the workers' environment: they are spawned with it
    try:
        # The nannies also set it in every worker they start, a restarted one included: each
        # test runs with LAKEFEED_* cleared from this process, which a worker a nanny starts
        # again after a SIGKILL would otherwise inherit.
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=40, env={KEY_VARIABLE: KEY},
        ) as local:  # fmt: skip
            recorder = Recorder(local.scheduler)
            local.scheduler.add_plugin(recorder)
            local.recorder = recorder
            yield local
    finally:
        if saved is None:
            os.environ.pop(KEY_VARIABLE, None)
        else:
            os.environ[KEY_VARIABLE] = saved


@pytest.fixture(scope="module")
def dask(cluster: Any) -> Iterator[DaskExecutor]:
    executor = DaskExecutor(cluster.scheduler_address, seal=TaskSeal(KEY))
    try:
        yield executor
    finally:
        executor.close()


class TestIngestionOnDask(ElsewhereIngestionSuite):
    """Exactly-once, rewrites during a run and diagnostics, with every file converted on a
    cluster's worker (the killed-run cases kill the coordinator: the in-process suite's)."""

    test_duckdb_reads_what_lakefeed_wrote = None  # type: ignore[assignment]

    @pytest.fixture
    def executor(self, dask: DaskExecutor) -> DaskExecutor:
        return dask


@pytest.mark.servers
def test_connection_secrets_reach_the_workers_sealed(
    tmp_path: Path, cluster: Any, dask: DaskExecutor
) -> None:
    """An S3 connection whose secret key is distinctive: the run reads through it on the
    workers, and no task the scheduler held carries the secret (nor its key) in clear."""
    secret = f"secret-{uuid.uuid4().hex}"  # moto takes any key
    lf = Lakefeed(home=tmp_path / "home", executor=dask)
    params = {"s3AccessKey": "testing", "s3SecretKey": secret,
              "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT")}  # fmt: skip
    connection = lf.create_connection("s3", "amazon-s3", "Access Key", params)
    session = lf.session(connection)
    folder = f"/lakefeed-dask/{uuid.uuid4().hex[:8]}"
    ensure_folder(session.fs, session.resolve("/lakefeed-dask"))
    payload = {}
    for n in range(3):
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"id": pa.array(range(n * 10, n * 10 + 10), pa.int64())}), sink)
        payload[f"{folder}/p{n}.parquet"] = sink.getvalue().to_pybytes()
    put(session, payload)
    before = len(cluster.recorder.specs)

    run = lf.ingest("s3", folder, dataset="ids", infer=True)

    assert run.status == "success", run.metrics
    assert landed_ids(lf, "ids") == list(range(30))
    specs = cluster.recorder.specs[before:]
    assert len(specs) >= 1  # the three small files may travel as one group
    for spec in specs:
        assert secret.encode() not in spec and KEY.encode() not in spec
        assert b"gAAAAA" in spec  # the sealed task (a Fernet token) is what it held
    logs = str(cluster.get_logs())
    assert secret not in logs


def test_a_killed_worker_s_tasks_run_elsewhere_and_rows_land_once(
    tmp_path: Path, cluster: Any, dask: DaskExecutor
) -> None:
    expected = numbered_files(tmp_path / "in", files=8, rows=150_000)
    client = dask._connect()
    killed: list[str] = []
    recorder = cluster.recorder

    def kill_a_busy_worker(progress: RunProgress) -> None:
        if killed or progress.files_done < 1:
            return
        workers = cluster.scheduler.workers
        busy = [address for address, ws in workers.items() if ws.processing]
        if not busy:
            return
        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(pid, signal.SIGKILL)  # its nanny starts a new one; its tasks go elsewhere
        killed.append(busy[0])

    lf = Lakefeed(home=tmp_path / "home", executor=dask)
    run = lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True,
                    progress=kill_a_busy_worker)  # fmt: skip

    assert killed, "no worker was busy when the first file was done"
    assert run.status == "success", run.metrics
    assert run.metrics["fileSummary"]["outputFileCount"] == 8
    assert landed_ids(lf, "ids") == expected
    assert max(recorder.processing.values()) >= 2  # a task of the killed worker ran again
    table = lf.datasets.table(lf.datasets.get("ids"))
    for task in table.scan().plan_files():  # every committed file is whole
        assert pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata.num_rows


def test_workers_with_another_key_fail_the_run_and_lose_nothing(
    tmp_path: Path, cluster: Any
) -> None:
    expected = numbered_files(tmp_path / "in", files=2, rows=10)
    lf = Lakefeed(home=tmp_path / "home")
    wrong = DaskExecutor(cluster.scheduler_address, seal=TaskSeal(TaskSeal.new_key()))
    try:
        failed = Lakefeed(home=tmp_path / "home", executor=wrong).ingest(
            str(tmp_path / "in"), ".", dataset="ids", infer=True
        )
    finally:
        wrong.close()
    assert failed.status == "failed"
    (error,) = failed.metrics["statusSummary"]["errors"]
    assert error["code"] == "LF-1980" and KEY_VARIABLE in error["message"]
    assert KEY not in str(failed.metrics)
    again = lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True)
    assert again.status == "success" and landed_ids(lf, "ids") == expected


def test_a_coordinator_without_the_key_is_told_what_to_set(
    tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbered_files(tmp_path / "in", files=1, rows=10)
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    executor = DaskExecutor(cluster.scheduler_address)
    try:
        run = Lakefeed(home=tmp_path / "home", executor=executor).ingest(
            str(tmp_path / "in"), ".", dataset="ids", infer=True
        )
    finally:
        executor.close()
    (error,) = run.metrics["statusSummary"]["errors"]
    assert run.status == "failed" and error["code"] == "LF-1980"
    assert "lakefeed executor-key" in error["message"] + str(error.get("fix"))


def test_an_unreachable_scheduler_fails_the_run_and_the_next_run_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    expected = numbered_files(tmp_path / "in", files=2, rows=10)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 1.0)
    executor = DaskExecutor(f"tcp://127.0.0.1:{port}", seal=TaskSeal(KEY))
    run = Lakefeed(home=tmp_path / "home", executor=executor).ingest(
        str(tmp_path / "in"), ".", dataset="ids", infer=True
    )
    (error,) = run.metrics["statusSummary"]["errors"]
    assert run.status == "failed" and error["code"] == "LF-1981"
    assert f"127.0.0.1:{port}" in error["message"]
    lf = Lakefeed(home=tmp_path / "home")
    assert lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True).status == "success"
    assert landed_ids(lf, "ids") == expected
