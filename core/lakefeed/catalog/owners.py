"""Who owns a run or a window, and whether that process still exists.

An owner is ``host:pid:t<start>``: the process's start time (clock ticks since boot, from
``/proc``) tells a live owner from a later process that was given the same pid. Where the start
time cannot be read (not Linux), an owner is ``host:pid`` and only the pid is checked. Anything
after these fields (a scheduler adds ``:<instance>``) is ignored here.
"""

from __future__ import annotations

import os
import socket
from functools import cache

from lakefeed.catalog.records import now_ms

#: A run whose heartbeat is older than this is considered dead, wherever its process was.
STALE_AFTER_MS = 5 * 60 * 1000
#: How often a working run refreshes its heartbeat.
HEARTBEAT_EVERY_MS = 30 * 1000


def _proc_stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the command name (which may hold spaces and
    parentheses): field 3 of proc(5) first. Empty when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()
    except OSError:
        return []


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), None when unknown or gone."""
    fields = _proc_stat(pid)
    return fields[19].decode() if len(fields) > 19 else None  # field 22, ``starttime``


@cache
def _this_process(pid: int) -> str:
    start = process_start(pid)
    base = f"{socket.gethostname()}:{pid}"
    return base if start is None else f"{base}:t{start}"


def this_process() -> str:
    """The owner string of the calling process (per pid: a forked child gets its own)."""
    return _this_process(os.getpid())


def owner_gone(owner: str) -> bool:
    """Whether ``owner`` names a process of this host that no longer runs: its pid is free, or
    now belongs to a process started later. False for other hosts: only their heartbeats or
    leases tell."""
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    pid_text, *extra = rest.split(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists
    except (OverflowError, ValueError):
        return True
    fields = _proc_stat(pid)
    if fields[:1] in ([b"Z"], [b"X"]):
        return True  # killed, not yet reaped by its parent
    start = next((f[1:] for f in extra if f[:1] == "t" and f[1:].isdigit()), None)
    return start is not None and len(fields) > 19 and fields[19].decode() != start


def run_alive(owner: str, heartbeat_at: int) -> bool:
    """Whether the process that owns a run is still working on it: on this host, its process
    must exist (the same one, not a reused pid); anywhere, its heartbeat must be recent."""
    if now_ms() - heartbeat_at > STALE_AFTER_MS:
        return False
    return not owner_gone(owner)
