"""The multi-core executor: files converted in worker processes land exactly as in-process,
a worker killed mid-run is replaced and its files converted again (rows once, no partial file
referenced), and a cancelled run leaves no data file behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from executor_support import ElsewhereIngestionSuite, landed_ids, numbered_files
from lakefeed import Lakefeed
from lakefeed.errors import ExecutorConfigError
from lakefeed.flows.executor_choice import executor_from
from lakefeed.flows.executors import InProcessExecutor
from lakefeed.flows.options import RunProgress
from lakefeed.flows.process_executor import ProcessExecutor
from tests_support import lakefeed


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(2)
    try:
        yield executor
    finally:
        executor.close()


class TestIngestionOnProcesses(ElsewhereIngestionSuite):
    """Exactly-once, rewrites during a run and diagnostics, with every file converted in a
    worker process (the killed-run cases kill the coordinator: the in-process suite's)."""

    @pytest.fixture
    def executor(self, processes: ProcessExecutor) -> ProcessExecutor:
        return processes


def data_files_on_disk(home: Path) -> list[Path]:
    return sorted((home / "warehouse").rglob("data/**/*.parquet"))


def test_a_killed_worker_is_replaced_and_its_files_converted_again(tmp_path: Path) -> None:
    expected = numbered_files(tmp_path / "in", files=8, rows=120_000)
    executor = ProcessExecutor(2)
    killed: list[int] = []
    first_pool: list[object] = []

    def kill_a_worker(progress: RunProgress) -> None:
        pool = executor._pool
        if progress.phase == "converting" and not killed and pool is not None:
            first_pool.append(pool)
            pid = next(iter(pool._processes))  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        lf = Lakefeed(home=tmp_path / "home", executor=executor)
        run = lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True,
                        progress=kill_a_worker)  # fmt: skip
        assert killed and executor._pool is not first_pool[0]  # the pool was started again
    finally:
        executor.close()
    assert run.status == "success", run.metrics
    assert run.metrics["fileSummary"]["outputFileCount"] == 8
    assert landed_ids(lf, "ids") == expected  # every row once: none lost, none twice
    table = lf.datasets.table(lf.datasets.get("ids"))
    referenced = {task.file.file_path for task in table.scan().plan_files()}
    for path in referenced:  # each committed file is whole (a partial one would not read)
        assert pq.ParquetFile(path.removeprefix("file://")).metadata.num_rows > 0


def test_a_cancelled_run_leaves_no_data_file_and_the_next_run_lands_every_row(
    tmp_path: Path, processes: ProcessExecutor
) -> None:
    expected = numbered_files(tmp_path / "in", files=6, rows=100_000)
    lf = Lakefeed(home=tmp_path / "home", executor=processes)

    def cancel(progress: RunProgress) -> None:
        if progress.phase == "converting":
            raise KeyError("the caller gave up")

    with pytest.raises(KeyError):
        lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True, progress=cancel)
    assert data_files_on_disk(tmp_path / "home") == []  # stopped workers cleaned up after them
    again = lf.ingest(str(tmp_path / "in"), ".", dataset="ids", infer=True)
    assert again.status == "success"
    assert landed_ids(lf, "ids") == expected


def test_the_cli_converts_on_the_executor_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed command, as users run it: --executor spawns its workers from it."""
    numbered_files(tmp_path / "in", files=3, rows=1000)
    home = tmp_path / "home"
    args = ["ingest", str(tmp_path / "in"), ".", "--dataset", "ids", "--infer", "--json"]
    result = lakefeed(home, "--executor", "processes:2", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert landed_ids(Lakefeed(home=home), "ids") == list(range(3000))

    monkeypatch.setenv("LAKEFEED_EXECUTOR", "threads")
    refused = lakefeed(home, *args)
    assert refused.returncode != 0
    assert "LF-1980" in refused.stdout + refused.stderr
    assert "dask://HOST:PORT" in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("spec", "kind", "detail"),
    [
        ("", InProcessExecutor, None),
        ("inprocess", InProcessExecutor, None),
        ("processes", ProcessExecutor, os.cpu_count() or 1),
        ("processes:3", ProcessExecutor, 3),
    ],
)
def test_executor_names(spec: str, kind: type, detail: int | None) -> None:
    executor = executor_from(spec)
    assert isinstance(executor, kind)
    if detail is not None:
        assert executor.workers == detail  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "spec", ["processes:0", "processes:x", "processes:99999", "threads", "dask://", "http://h:1"]
)
def test_an_unknown_executor_is_a_clear_error(spec: str) -> None:
    with pytest.raises(ExecutorConfigError) as caught:
        executor_from(spec)
    assert caught.value.code == "LF-1980"
    assert "processes" in str(caught.value)


@pytest.mark.parametrize(
    ("input_mib", "parallelism", "expected_mib"),
    [
        (1100, 1, 128),  # in-process: groups up to the target file size
        (1100, 2, 128),  # 2 workers, 1.1 GB: 4 groups of the target size at least
        (200, 2, 50),  # 2 workers, 200 MB: 4 groups of 50 MB keep both busy
        (20, 2, 8),  # too little to share: no group under 8 MiB
        (20, 8, 8),
    ],
)
def test_small_files_are_grouped_so_that_every_worker_gets_some(
    input_mib: int, parallelism: int, expected_mib: int
) -> None:
    from types import SimpleNamespace

    from lakefeed.flows.coalesce import group_bytes

    target = SimpleNamespace(target_file_bytes=128 * 2**20)
    limit = group_bytes(target, input_bytes=input_mib * 2**20, parallelism=parallelism)  # type: ignore[arg-type]
    assert limit == expected_mib * 2**20


KILL_COORDINATOR = """
import json, os, signal, sys
from lakefeed import Lakefeed
from lakefeed.datasets import writer
from lakefeed.flows import execution

home, root, mode, pids = sys.argv[1:5]
lf = Lakefeed(home=home, executor="processes:2")

def die(executor):
    with open(pids, "w") as out:  # the workers it leaves: they must not outlive it
        json.dump(list(executor._pool._processes), out)
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "after-commit":
    commit = writer.BatchWriter.commit
    def killing_commit(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        die(lf.executor)
    writer.BatchWriter.commit = killing_commit
else:  # once the first file's result is taken, while the workers convert the others
    take = execution.RunExecution._take
    def killing_take(self, result):
        take(self, result)
        die(self.ctx.executor)
    execution.RunExecution._take = killing_take
lf.ingest(root, ".", dataset="ids", infer=True)
print("the run finished without being killed")
"""


@pytest.mark.parametrize("mode", ["mid-batch", "after-commit"])
def test_a_killed_coordinator_leaves_no_worker_and_its_run_is_recovered_exactly_once(
    tmp_path: Path, processes: ProcessExecutor, mode: str
) -> None:
    expected = numbered_files(tmp_path / "in", files=6, rows=100_000)
    home, pids = tmp_path / "home", tmp_path / "workers.json"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_COORDINATOR, str(home), str(tmp_path / "in"), mode,
         str(pids)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    workers = json.loads(pids.read_text())
    assert len(workers) == 2

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "a worker outlived its coordinator"

    lf = Lakefeed(home=home, executor=processes)
    (flow,) = lf.flows.list_flows()
    (interrupted,) = lf.runs.list(flow.id)
    assert interrupted.state == "inProgress"
    lf.run_flow(flow)
    assert landed_ids(lf, "ids") == expected  # every row once: none lost, none twice
    before = lf.runs.get(interrupted.id)
    assert before.state == "completed"
    assert before.status == ("success" if mode == "after-commit" else "failed")
    table = lf.datasets.table(lf.datasets.get("ids"))
    referenced = {t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()}
    on_disk = {str(p) for p in data_files_on_disk(home)}
    assert on_disk == referenced  # the rolled-back attempt's files are gone
