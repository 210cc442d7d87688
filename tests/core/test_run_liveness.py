"""When recovery may take over a run: its process is gone, or its heartbeat went quiet."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from lakefeed.catalog.records import now_ms
from lakefeed.catalog.runs import STALE_AFTER_MS, run_alive


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
