"""An executor for tests that converts each file in another process (spawned, so nothing is
inherited): the task travels there pickled, its result and events come back pickled. It proves
a conversion task is self-contained — plain values in and out — which is what the multi-core
and Dask executors build on."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from lakefeed.flows.convert import (
    ConversionResult,
    ConversionTask,
    Report,
    TaskEvent,
)
from lakefeed.flows.tasks import convert


def convert_elsewhere(task: ConversionTask) -> tuple[ConversionResult, list[TaskEvent], int]:
    """Run in the worker: the result, the events the task reported, and the worker's pid."""
    import os

    events: list[TaskEvent] = []
    return convert(task, events.append), events, os.getpid()


class ProcessExecutor:
    def __init__(self) -> None:
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self.pids: set[int] = set()
        self.tasks = 0

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        for task in tasks:
            result, events, pid = self.pool.submit(convert_elsewhere, task).result()
            self.pids.add(pid)
            self.tasks += 1
            for event in events:
                report(event)
            yield result

    def close(self) -> Any:
        self.pool.shutdown()
