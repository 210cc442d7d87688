"""Executors run a batch's conversion tasks. The runner hands them tasks and takes results in
the order the tasks came; where the work happens is the executor's business.

:class:`InProcessExecutor` converts one file after another in the calling thread, as lakefeed
always has. Executors that use every core or a cluster implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from lakefeed.flows.convert import ConversionResult, ConversionTask, Report, convert_file


class Executor(Protocol):
    """Runs conversion tasks and yields their results in the tasks' order.

    Tasks are drawn from ``tasks`` only as the executor has room for them (the runner builds
    each when it is drawn, with the batch's state at that moment). ``report`` receives the
    tasks' events in the caller's thread; when it raises, the executor stops, abandons the
    tasks not finished (their data files deleted) and raises the same error."""

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        """Convert each task; one result per task, in order."""
        ...


class InProcessExecutor:
    """One task at a time, in this thread: the next task is drawn once the previous result was
    taken, so nothing is converted ahead of what the run has decided."""

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        for task in tasks:
            yield convert_file(task, report)
