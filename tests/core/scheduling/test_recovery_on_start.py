"""A server or scheduler that starts finishes the runs left ``inProgress`` by gone processes of
its host at once — without waiting for a lease or for another run of the flow — while runs and
windows held on other hosts wait for their heartbeat and lease."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingestion_suite import Scenario, expected_ids, file_summary
from lakefeed.catalog.owners import STALE_AFTER_MS
from lakefeed.catalog.records import now_ms
from lakefeed.catalog.runs import Run
from lakefeed.catalog.windows import WindowClaims
from lakefeed.flows import metrics as codes
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window
from lakefeed.scheduling.scheduler import Scheduler
from tests_support import LAKEFEED_CLI, free_port

BLOCKED_CLI = Path(__file__).parents[2] / "blocked_cli.py"
HOUR = 3600


class Processes:
    """``lakefeed`` subprocesses over the scenario's home, killed at the end of the test."""

    def __init__(self, scenario: Scenario, logs: Path) -> None:
        self.env = {
            **os.environ,
            "LAKEFEED_HOME": str(scenario.home),
            "LAKEFEED_LOCAL_ROOTS": scenario.source.base,
        }
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, blocked_at: str | None = None) -> subprocess.Popen[bytes]:
        """``lakefeed *args``; with ``blocked_at``, its first run stops at that step of
        ``tests/blocked_cli.py`` and :meth:`wait_blocked` returns once it is there."""
        if blocked_at is None:
            command = LAKEFEED_CLI
        else:
            command = [sys.executable, str(BLOCKED_CLI), blocked_at, str(self.marker)]
        log = (self.logs / f"process-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [*command, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append(process)
        return process

    @property
    def marker(self) -> Path:
        return self.logs / "blocked"

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def wait_blocked(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 120
        while not self.marker.exists():
            assert process.poll() is None, self.output()
            assert time.monotonic() < deadline, "the run never reached the step\n" + self.output()
            time.sleep(0.05)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        assert process.wait(timeout=60) == -9

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)


@pytest.fixture
def processes(scenario: Scenario, tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Processes(scenario, logs)
    try:
        yield running
    finally:
        running.stop_all()


def completed_alone(scenario: Scenario, run: Run, processes: Processes) -> Run:
    """Poll until ``run`` is completed; no other run of its flow may appear meanwhile."""
    deadline = time.monotonic() + 60
    while True:
        runs = scenario.lf.runs.list(run.flow_id)
        assert [r.id for r in runs] == [run.id], "another run of the flow started"
        if runs[0].state == "completed":
            return runs[0]
        assert all(p.poll() is None for p in processes.started[1:]), processes.output()
        assert time.monotonic() < deadline, "the run is still inProgress\n" + processes.output()
        time.sleep(0.1)


def error_codes(run: Run) -> list[str]:
    return [e["code"] for e in run.metrics["statusSummary"]["errors"]]


def test_a_run_killed_inside_serve_scheduler_is_rolled_back_as_it_restarts(
    scenario: Scenario, processes: Processes
) -> None:
    for n in range(3):
        scenario.put(f"f{n}.parquet", scenario.profiles(30, n * 30))
    flow = scenario.flow(schedule={"startTime": int(time.time()), "frequency": "once"})
    # A lease far longer than the test: only recovery on start can finish the run in time.
    serve = ("serve", "--log-level", "warning", "--scheduler", "--poll", "0.2", "--lease", "600")
    first = processes.start(*serve, "--port", str(free_port()), blocked_at="writing")
    processes.wait_blocked(first)
    processes.kill(first)
    (killed,) = scenario.lf.runs.list(flow.id)
    assert killed.state == "inProgress"

    port = free_port()
    processes.start(*serve, "--port", str(port))
    run = completed_before_any_other(scenario, killed, processes)

    assert run.status == "failed" and error_codes(run)[-1] == codes.INTERRUPTED
    assert "rolled back" in run.metrics["statusSummary"]["errors"][-1]["message"]
    (batch,) = scenario.lf.batches.of_run(run.id)
    assert batch.status == "aborted"
    # The window is given back and the once flow runs it again: a run cut short before its
    # commit does not count as the flow's one run. Its rows land once, and no third run follows.
    deadline = time.monotonic() + 60
    while True:
        runs = scenario.lf.runs.list(flow.id)
        rerun = next((r for r in runs if r.id != run.id), None)
        if rerun is not None and rerun.state == "completed":
            break
        assert time.monotonic() < deadline, "the window did not run again\n" + processes.output()
        time.sleep(0.1)
    assert rerun.status == "success", rerun.metrics
    assert scenario.ids() == expected_ids((0, 90))
    ticks = scheduler_counter(port, "ticks")
    deadline = time.monotonic() + 60
    while scheduler_counter(port, "ticks") < ticks + 3:
        assert time.monotonic() < deadline, processes.output()
        time.sleep(0.1)
    assert len(scenario.lf.runs.list(flow.id)) == 2


def completed_before_any_other(scenario: Scenario, run: Run, processes: Processes) -> Run:
    """Poll until ``run`` is completed; no other run of its flow may start before that."""
    deadline = time.monotonic() + 60
    while True:
        others = [r for r in scenario.lf.runs.list(run.flow_id) if r.id != run.id]
        current = scenario.lf.runs.get(run.id)
        if current.state == "completed":
            return current
        assert not others, "another run of the flow started before the killed one was closed"
        assert time.monotonic() < deadline, "the run is still inProgress\n" + processes.output()
        time.sleep(0.1)


def scheduler_counter(port: int, name: str) -> int:
    """A ``lakefeed_scheduler_<name>_total`` counter of the server on ``port`` (0 until it
    answers)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.TransportError:
        return 0
    found = re.search(rf"^lakefeed_scheduler_{name}_total (\d+)", text, re.MULTILINE)
    assert found is not None, text
    return int(found.group(1))


def test_a_run_killed_after_its_commit_is_rolled_forward_when_a_server_starts(
    scenario: Scenario, processes: Processes
) -> None:
    for n in range(3):
        scenario.put(f"f{n}.parquet", scenario.profiles(30, n * 30))
    flow = scenario.flow()
    first = processes.start("flows", "run", flow.id, blocked_at="committed")
    processes.wait_blocked(first)
    processes.kill(first)
    (killed,) = scenario.lf.runs.list(flow.id)
    assert killed.state == "inProgress"

    processes.start("serve", "--log-level", "warning", "--port", str(free_port()))
    run = completed_alone(scenario, killed, processes)

    assert run.status == "success" and error_codes(run)[-1] == codes.INTERRUPTED
    (batch,) = scenario.lf.batches.of_run(run.id)
    assert batch.status == "success"
    assert scenario.ids() == expected_ids((0, 90))
    again = scenario.lf.run_flow(flow)  # the ledger was completed: nothing is taken twice
    assert file_summary(again)["inputFileCount"] == 0 and scenario.ids() == expected_ids((0, 90))


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def held_run(scenario: Scenario, flow_id: str, owner: str, heartbeat_at: int) -> Run:
    """A run ``inProgress`` as ``owner`` left it, before it planned a batch."""
    run = scenario.lf.start_run(flow_id).run
    scenario.lf.runs.set_owner(run.id, owner=owner, heartbeat_at=heartbeat_at)
    return scenario.lf.runs.get(run.id)


def test_a_gone_local_schedulers_window_is_due_again_at_once(
    scenario: Scenario, start: int
) -> None:
    scenario.put("a.parquet", scenario.profiles(4, 0))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "hour", "interval": 1})
    gone = f"{socket.gethostname()}:{dead_pid()}"
    claims = WindowClaims(scenario.lf.db, owner=f"{gone}:abc", clock=ManualClock(start),
                          lease_seconds=600)  # fmt: skip
    claim = claims.claim(flow.id, "local", "prod", Window(None, start, 0))
    assert claim is not None
    left = held_run(scenario, flow.id, gone, now_ms())
    claims.attach_run(claim, left.id)

    scheduler = Scheduler(scenario.lf, clock=ManualClock(start + 1), lease_seconds=600)
    (recovered,) = scheduler.recover_interrupted()
    assert recovered.id == left.id and recovered.status == "failed"
    assert error_codes(recovered) == [codes.INTERRUPTED]
    assert scenario.lf.windows.of_flow(flow.id) == []  # given back: nothing of it was committed

    (run,) = scheduler.tick()  # long before the dead scheduler's lease would have expired
    assert run.status == "success" and scenario.ids() == expected_ids((0, 4))
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.run_id == run.id and window.takeovers == 0


def test_another_hosts_runs_and_windows_wait_for_their_heartbeat_and_lease(
    scenario: Scenario, start: int
) -> None:
    scenario.put("a.parquet", scenario.profiles(4, 0))
    flow = scenario.flow(schedule={"startTime": start, "frequency": "hour", "interval": 1})
    elsewhere = "other-host:1:t1"
    claims = WindowClaims(scenario.lf.db, owner=f"{elsewhere}:abc", clock=ManualClock(start),
                          lease_seconds=60)  # fmt: skip
    claim = claims.claim(flow.id, "local", "prod", Window(None, start, 0))
    assert claim is not None
    left = held_run(scenario, flow.id, elsewhere, now_ms())
    claims.attach_run(claim, left.id)
    clock = ManualClock(start + 1)
    scheduler = Scheduler(scenario.lf, clock=clock, lease_seconds=60)

    assert scheduler.recover_interrupted() == []  # its heartbeat is fresh: it may be working
    assert scenario.lf.runs.get(left.id).state == "inProgress"
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.owner == f"{elsewhere}:abc" and window.state == "running"

    # Its heartbeat goes quiet: the run is recovered, but the window still waits for its lease.
    quiet = now_ms() - STALE_AFTER_MS - 1
    scenario.lf.runs.set_owner(left.id, owner=left.owner, heartbeat_at=quiet)
    (recovered,) = scheduler.recover_interrupted()
    assert recovered.id == left.id and recovered.state == "completed"
    assert scheduler.tick() == []
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.owner == f"{elsewhere}:abc" and window.state == "running"

    clock.set(start + 61)
    (run,) = scheduler.tick()  # lease expired: taken over
    assert run.status == "success" and scenario.ids() == expected_ids((0, 4))
    (window,) = scenario.lf.windows.of_flow(flow.id)
    assert window.takeovers == 1 and window.run_id == run.id
