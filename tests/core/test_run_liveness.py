"""When recovery may take over a run: its process is gone, or its heartbeat went quiet."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakefeed.catalog.owners import (
    STALE_AFTER_MS,
    owner_gone,
    process_start,
    run_alive,
    this_process,
)
from lakefeed.catalog.records import now_ms


def test_a_run_of_this_process_with_a_fresh_heartbeat_is_alive() -> None:
    assert run_alive(f"{socket.gethostname()}:{os.getpid()}", now_ms())


def test_a_run_whose_process_exited_is_dead() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not run_alive(f"{socket.gethostname()}:{done.stdout.strip()}", now_ms())


def test_a_quiet_heartbeat_is_dead_even_on_another_host_or_a_reused_pid() -> None:
    stale = now_ms() - STALE_AFTER_MS - 1
    assert not run_alive(f"{socket.gethostname()}:{os.getpid()}", stale)
    assert not run_alive("other-host:1", stale)
    assert run_alive("other-host:1", now_ms())  # another machine, still beating


def test_this_process_is_alive_and_records_its_start_time() -> None:
    owner = this_process()
    assert run_alive(owner, now_ms()) and not owner_gone(owner)
    if Path("/proc/self/stat").exists():
        assert owner == f"{socket.gethostname()}:{os.getpid()}:t{process_start(os.getpid())}"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc")
def test_a_reused_pid_is_gone() -> None:
    """The pid exists, but the process that owned the run started at another moment."""
    reused = f"{socket.gethostname()}:{os.getpid()}:t1"
    assert owner_gone(reused) and not run_alive(reused, now_ms())
    assert owner_gone(f"{reused}:ab12")  # a scheduler's owner: its instance comes last


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process states come from /proc")
def test_a_killed_process_its_parent_has_not_reaped_yet_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    owner = f"{socket.gethostname()}:{child.pid}:t{process_start(child.pid)}"
    assert not owner_gone(owner)
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert owner_gone(owner)  # a zombie still answers kill(pid, 0)
    finally:
        child.wait()
    assert owner_gone(owner)


def test_owners_on_other_hosts_are_never_gone_by_pid() -> None:
    assert not owner_gone("other-host:1:t5:ab12")
    assert not owner_gone("other-host:1")
    assert not owner_gone("not-an-owner")
