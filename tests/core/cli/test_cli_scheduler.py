"""`lakefeed scheduler` (the daemon, stopped by SIGTERM), `flows enable|disable|backlog`,
`runs wait|retrigger`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from lakefeed import Lakefeed
from lakefeed.flows import metrics as codes
from lakefeed.testing.profiles import profile_table

from .conftest import RunCli


def make_flow(run_cli: RunCli, profile_schema: dict, *schedule: str) -> dict:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    return json.loads(
        run_cli("flows", "create", "--name", "drops", "--connection", "raw", "--path", ".",
                "--recursive", "--dataset", "profiles", *schedule, "--json").stdout
    )  # fmt: skip


def scheduler(*args: str) -> subprocess.Popen[str]:
    lakefeed = Path(sys.executable).with_name("lakefeed")
    return subprocess.Popen(
        [str(lakefeed), "scheduler", "--poll", "0.2", *args],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_daemon_runs_due_flows_and_stops_on_sigterm(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(40), landing / "a.parquet")
    start = int(time.time()) + 1
    make_flow(run_cli, profile_schema, "--frequency", "hour", "--interval", "1",
              "--start-time", str(start))  # fmt: skip
    daemon = scheduler()
    try:
        waited = run_cli("runs", "wait", "--flow", "drops", "--timeout", "60", "--json")
        run = json.loads(waited.stdout)
        assert run["metrics"]["statusSummary"]["status"] == "success"
        assert run["params"]["windowEndTime"] == str(start)
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output
    assert "SIGTERM, stopping" in output and "runs {'success': 1}" in output


def test_sigterm_during_a_run_abandons_it_before_its_commit(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    for n in range(150):
        pq.write_table(profile_table(200, start=n * 200), landing / f"f{n:03}.parquet")
    make_flow(run_cli, profile_schema, "--frequency", "hour", "--interval", "1")
    daemon = scheduler("--grace", "0")
    try:
        deadline = time.monotonic() + 60
        while not lf.runs.list():
            assert time.monotonic() < deadline, "the daemon started no run within 60 s"
            time.sleep(0.05)
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, output
    (run,) = lf.runs.list()
    assert run.state == "completed" and run.status == "failed"
    assert "LF-1511" in [e["code"] for e in run.metrics["statusSummary"]["errors"]]
    dataset = lf.datasets.get("profiles")
    assert lf.datasets.read(dataset).num_rows == 0  # nothing half-written is visible
    flow = lf.flows.flow("drops")
    assert lf.windows.of_flow(flow.id) == []  # given back: the next scheduler runs the window

    again = lf.run_flow(flow)  # and nothing was ledgered: every file is still there to take
    assert again.metrics["fileSummary"]["inputFileCount"] == 150
    assert codes.BATCH_FAILED not in [e["code"] for e in again.metrics["statusSummary"]["errors"]]


def test_enable_disable_backlog_and_retrigger(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(10, bad={3: "gender"}), landing / "a.parquet")
    make_flow(run_cli, profile_schema)
    assert "not listed yet" in run_cli("flows", "backlog", "drops").stdout.lower()
    listed = json.loads(run_cli("flows", "backlog", "drops", "--refresh", "--json").stdout)
    assert listed["items"][0]["files"] == 1
    assert "1 " in run_cli("flows", "backlog", "drops").stdout

    assert "disabled" in run_cli("flows", "disable", "drops").stdout
    refused = run_cli("flows", "run", "drops", code=1)
    assert "LF-1388" in refused.stderr
    shown = json.loads(run_cli("flows", "enable", "drops", "--json").stdout)
    assert shown["items"][0]["state"] == "enabled"

    failed = json.loads(run_cli("flows", "run", "drops", "--json", code=1).stdout)
    assert failed["metrics"]["statusSummary"]["status"] == "failed"
    pq.write_table(profile_table(10), landing / "a.parquet")  # fixed at the source
    again = json.loads(run_cli("runs", "retrigger", failed["id"], "--json").stdout)
    assert again["params"]["retriggerOf"] == failed["id"]
    assert again["metrics"]["statusSummary"]["status"] == "success"
    assert "LF-1387" in run_cli("runs", "retrigger", again["id"], code=1).stderr
    timeout = run_cli("runs", "wait", "--flow", "drops", "--count", "5", "--timeout", "0",
                      code=1)  # fmt: skip
    assert "2 completed runs, not 5" in timeout.stderr


def test_flows_show_says_when_the_flow_runs_next(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    from datetime import UTC, datetime

    start = int(time.time()) + 7200
    make_flow(run_cli, profile_schema, "--frequency", "day", "--interval", "1",
              "--start-time", str(start))  # fmt: skip
    shown = run_cli("flows", "show", "drops").stdout
    expected = datetime.fromtimestamp(start, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(rf"next run \(UTC\)\s*│\s*{expected}", shown), shown
    assert expected in run_cli("flows", "list").stdout
    run_cli("flows", "disable", "drops")
    assert re.search(r"next run \(UTC\)\s*│\s*│", run_cli("flows", "show", "drops").stdout)


def test_runs_list_and_show_a_run_waiting_for_its_start(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    from lakefeed.flows.runner import RunHandle

    make_flow(run_cli, profile_schema)
    later = str(int(time.time()) + 3600)
    waiting = lf.request_run("drops", {"startTime": later})
    assert not isinstance(waiting, RunHandle)
    assert "scheduled" in run_cli("runs", "list").stdout
    assert "scheduled" in run_cli("runs", "show", waiting.id).stdout


def test_runs_show_gives_the_window_and_the_pick_up_latency(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    from lakefeed.schedules.clock import ManualClock
    from lakefeed.scheduling.scheduler import Scheduler

    pq.write_table(profile_table(5), landing / "a.parquet")
    start = int(time.time()) + 30
    make_flow(run_cli, profile_schema, "--frequency", "hour", "--interval", "1",
              "--start-time", str(start))  # fmt: skip
    (run,) = Scheduler(lf, clock=ManualClock(start)).tick()
    shown = run_cli("runs", "show", run.id).stdout
    assert re.search(r"window \(UTC\)\s*│\s*\(beginning\) →", shown), shown
    assert re.search(r"pick-up latency\s*│\s*p50 [\d.]+ s, max [\d.]+ s", shown), shown


def test_flows_create_takes_an_iso_start_time(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    created = make_flow(run_cli, profile_schema, "--frequency", "day", "--interval", "1",
                        "--start-time", "2100-01-01T02:00:00+02:00")  # fmt: skip
    assert created["scheduleParams"]["startTime"] == "4102444800"  # 2100-01-01T00:00:00Z
    bad = run_cli("flows", "create", "--name", "x", "--connection", "raw", "--path", ".",
                  "--dataset", "profiles", "--start-time", "tomorrow", code=2)  # fmt: skip
    assert "neither epoch seconds nor an ISO 8601 time" in bad.stderr


def test_scheduler_once_runs_what_is_due_and_exits(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(5, bad={0: "gender"}), landing / "a.parquet")
    start = int(time.time()) + 1
    make_flow(run_cli, profile_schema, "--frequency", "hour", "--interval", "1",
              "--start-time", str(start))  # fmt: skip
    while time.time() < start:
        time.sleep(0.05)
    first = run_cli("scheduler", "--once", code=1)  # a bad row, no partial ingestion
    assert "1 runs, 1 failed" in first.stderr and "failed: run " in first.stderr
    again = run_cli("scheduler", "--once")  # the next window is an hour away
    assert "0 runs, 0 failed" in again.stderr
    assert len(lf.runs.list()) == 1
