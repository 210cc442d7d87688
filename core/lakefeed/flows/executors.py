"""Executors run a batch's conversion tasks. The runner hands them tasks and takes results in
the order the tasks came; where the work happens is the executor's business.

:class:`InProcessExecutor` converts one file after another in the calling thread;
:class:`~lakefeed.flows.process_executor.ProcessExecutor` converts files in parallel
processes on every core; :class:`~lakefeed.flows.dask_executor.DaskExecutor` on the workers
of a dask.distributed cluster. :func:`lakefeed.flows.executor_choice.executor_from` makes one
from its name (``LAKEFEED_EXECUTOR``, ``--executor``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from lakefeed.flows.convert import ConversionResult, ConversionTask, Report
from lakefeed.flows.tasks import convert

#: Seconds without any event from a task before the executor reports it is still converting,
#: so the run heartbeats (and notices it is cancelled) while a long file converts elsewhere.
KEEPALIVE_SECONDS = 5.0


class Executor(Protocol):
    """Runs conversion tasks and yields their results in the tasks' order.

    Tasks are drawn from ``tasks`` only as the executor has room for them (the runner builds
    each when it is drawn, with the batch's state at that moment). ``report`` receives the
    tasks' events in the caller's thread; when it raises, the executor stops, abandons the
    tasks not finished (their data files deleted) and raises the same error.

    An executor may say how many tasks it converts at once (``parallelism``; 1 when it does
    not): a run then groups small files into tasks small enough that every worker gets some
    (:func:`lakefeed.flows.coalesce.group_bytes`). One that converts in the run's own process
    says so (``converts_here``; False when it does not): only then does the run read small
    files ahead into its session for the conversions to take."""

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        """Convert each task; one result per task, in order."""
        ...

    def close(self) -> None:
        """Release the executor's processes or cluster connection (idempotent)."""
        ...


class InProcessExecutor:
    """One task at a time, in this thread: the next task is drawn once the previous result was
    taken, so nothing is converted ahead of what the run has decided."""

    parallelism = 1  # tasks converted at once
    converts_here = True  # in the run's process: the session's read-ahead serves it

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        for task in tasks:
            yield convert(task, report)

    def close(self) -> None:
        pass


#: In a worker process: the last batch's data file target, whose caches (the FileIO, the
#: shapes of its data files) every task of that batch reuses instead of building them again.
_worker_target: list[Any] = []


def in_worker(task: ConversionTask) -> ConversionTask:
    """``task`` as a worker process converts it: with the data file target of the tasks of
    its batch this process converted before, so their caches are made once per batch."""
    if _worker_target and _worker_target[0] == task.output:
        return dataclasses.replace(task, output=_worker_target[0])
    _worker_target[:] = [task.output]
    return task
