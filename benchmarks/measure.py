"""How the benchmark runner measures: every measurement is a plain function of a benchmark
module, called in a fresh Python process (``run.py --child module:function``) so that its peak
memory is its own, and its result (a JSON object) comes back on the last line of stdout.

Memory is reported twice: ``peak_rss``, the measuring process's own high-water mark (VmHWM), and
``tree_peak_rss``, the largest sum of the resident sets of that process and its descendants,
sampled every 50 ms (what a multi-process executor's workers add).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).resolve().parent / "run.py"


def unique(prefix: str) -> str:
    """A bucket or folder name no other run uses (benchmarks never share a fixed name)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def peak_rss() -> int:
    """Peak resident set of this process image in bytes. Linux keeps ``ru_maxrss`` across
    ``execve``, so a child would report its parent's peak when that is higher; ``VmHWM`` is
    the high-water mark of this image alone."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class TreeMemory:
    """The largest summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil  # type: ignore[import-untyped]

        root = psutil.Process(self.pid)
        while not self._stop.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                with suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runner's environment without lakefeed settings (LAKEFEED_DATABASE_URL and friends
    would override a measurement's temp home); the test servers' addresses stay."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LAKEFEED_") or k.startswith("LAKEFEED_TEST_")
    }
    env.update(extra or {})
    return env


def spawn(
    target: str, params: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run ``module:function(**params)`` in a fresh process; its result with its memory."""
    command = [sys.executable, str(RUNNER), "--child", target, "--params", json.dumps(params)]
    done = subprocess.run(
        command, env=clean_env(env), stdout=subprocess.PIPE, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": f"{target} exited with {done.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def child(target: str, params: dict[str, Any]) -> None:
    """The child's side of :func:`spawn`."""
    import importlib

    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    with TreeMemory() as tree:
        result = function(**params)
    result["peak_rss"] = peak_rss()
    result["tree_peak_rss"] = max(tree.peak, result["peak_rss"])
    print(json.dumps(result))


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: …`` leaves the elapsed seconds in ``t["seconds"]``."""
    box: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - started


def executor_name(lf: Any) -> str:
    """The class of the executor a Lakefeed instance runs conversions on (the benchmarks choose
    it with ``LAKEFEED_EXECUTOR``; a lakefeed without that setting falls back to in-process)."""
    for owner in (lf, getattr(lf, "installation", None), getattr(lf, "_installation", None)):
        executor = getattr(owner, "executor", None) if owner is not None else None
        if executor is not None:
            return type(executor).__name__
    return "unknown"
