"""Conversion on every core: a pool of worker processes, each converting one file at a time.

Reading, conforming and mapping a file hold the GIL, so one process converts at the speed of
one core; here ``workers`` processes (default: one per core) convert files side by side while
the run's thread takes their results in order, records them and commits the batch once, as
with the in-process executor.

- Tasks and results travel pickled (they are plain values; see :mod:`.convert`). The pool is
  started on first use (``spawn``: nothing of this process's threads or connections is
  inherited) and reused by every run of the engine, several at once.
- Events travel back on one queue, routed to their run by a thread of this process; progress
  is reported as it comes, a file's rejected rows only with its result, so a file converted
  again after its worker died never reports them twice.
- A worker that dies (killed, out of memory) breaks the pool: it is started again and the
  run's unfinished tasks are converted again, each up to :attr:`ProcessExecutor.attempts`
  times; a file that still cannot be converted fails for this run only
  (:class:`~lakefeed.errors.ConversionWorkerLost`). A dead attempt's data files are never
  referenced: only files a finished task returns are committed, and every attempt names its
  files afresh.
- When the run's reporting raises (the run is cancelled), the tasks not started are dropped,
  the running ones stop at their next record batch (a flag in shared memory), and the data
  files of those that finished anyway are deleted.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from lakefeed.errors import ConversionWorkerLost, RunCancelled
from lakefeed.flows.convert import (
    BatchConverted,
    ConversionResult,
    ConversionTask,
    Report,
    RowErrors,
    TaskEvent,
)
from lakefeed.flows.executors import KEEPALIVE_SECONDS, in_worker
from lakefeed.flows.tasks import convert

#: Runs that can be cancelled at once (slots of the shared cancel flags); more still run,
#: their workers then finish their current file before the run stops.
CANCEL_SLOTS = 256

# -- in the worker ------------------------------------------------------------------------------

_events: Any = None  # the pool's event queue
_cancelled: Any = None  # the shared cancel flags, one per slot


def _start_worker(events: Any, cancelled: Any, parent: int) -> None:
    global _events, _cancelled
    _events, _cancelled = events, cancelled
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    from lakefeed.datasets.writer import load_parquet_writer

    load_parquet_writer()  # while the run still lists and inspects, not in its first task


def _started() -> None:
    """A task that only makes the pool start a worker (see ``ProcessExecutor._current_pool``)."""


def _exit_with_parent(parent: int) -> None:
    """A worker outlives no coordinator: killed, it would hold its files and memory."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _convert(
    token: str, attempt: str, slot: int, task: ConversionTask
) -> tuple[ConversionResult, int]:
    """Convert ``task`` in the worker; returns the result and how many events it sent. Its
    events are tagged with the run's ``token`` and the ``attempt``'s own id."""
    sent = 0

    def report(event: TaskEvent) -> None:
        nonlocal sent
        if slot >= 0 and _cancelled[slot]:
            raise RunCancelled(
                "The run was abandoned while this file converted.",
                fix="Nothing was committed; the files are ingested by the next run.",
            )
        _events.put((token, attempt, event))
        sent += 1

    return convert(in_worker(task), report), sent


# -- in the coordinator -------------------------------------------------------------------------


@dataclass
class _Pending:
    task: ConversionTask
    future: Future[tuple[ConversionResult, int]]
    pool: ProcessPoolExecutor
    key: str  # this attempt's id: its events carry it
    attempt: int = 1
    events: int = 0  # received of the current attempt
    rows_read: int = 0
    row_errors: list[RowErrors] = field(default_factory=list)


class ProcessExecutor:
    """Converts files in ``workers`` processes (default: one per core), up to
    ``window`` tasks handed out ahead per run (default: twice the workers)."""

    def __init__(
        self, workers: int | None = None, *, window: int | None = None, attempts: int = 3
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.parallelism = self.workers  # tasks converted at once
        self.window = window or 2 * self.workers
        self.attempts = attempts
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._context = multiprocessing.get_context("spawn")
        self._cancelled: Any = None
        self._queues: dict[ProcessPoolExecutor, Any] = {}
        self._free_slots = list(range(CANCEL_SLOTS))
        self._routes: dict[str, queue.SimpleQueue[tuple[str, TaskEvent]]] = {}

    # -- the pool ----------------------------------------------------------------------------

    def _current_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                if self._cancelled is None:
                    self._cancelled = self._context.Array("b", CANCEL_SLOTS, lock=False)
                # Each pool has its own event queue: a worker killed while it wrote an event
                # may leave the queue's lock held or a message cut short, so a broken pool's
                # queue is never used again (its router thread is left to end with it).
                events = self._context.Queue()
                threading.Thread(
                    target=self._route, args=(events,), name="lakefeed-executor-events",
                    daemon=True,
                ).start()  # fmt: skip
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=self._context,
                    initializer=_start_worker,
                    initargs=(events, self._cancelled, os.getpid()),
                )
                self._queues[self._pool] = events
                # The pool starts a worker per task submitted while none is idle: start them
                # all now, so that they start up while the run lists and inspects its files.
                for _ in range(self.workers):
                    self._pool.submit(_started)
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A worker died and broke ``broken``: the next task starts a new pool."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
            self._queues.pop(broken, None)
        broken.shutdown(wait=False, cancel_futures=True)

    def _route(self, events: Any) -> None:
        while True:
            try:
                item = events.get()
            except Exception:  # a broken pool's queue
                return
            if item is None:
                return
            token, attempt, event = item
            route = self._routes.get(token)
            if route is not None:
                route.put((attempt, event))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            events = self._queues.pop(pool, None) if pool is not None else None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if events is not None:
            events.put(None)  # ends its router
            events.close()

    # -- a run -------------------------------------------------------------------------------

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        token = uuid.uuid4().hex
        route: queue.SimpleQueue[tuple[str, TaskEvent]] = queue.SimpleQueue()
        self._routes[token] = route
        with self._lock:
            slot = self._free_slots.pop() if self._free_slots else -1
        if slot >= 0:
            self._current_pool()
            self._cancelled[slot] = 0
        pending: deque[_Pending] = deque()
        finished = False
        try:
            drawn = iter(tasks)
            exhausted = False
            while True:
                while not exhausted and len(pending) < self.window:
                    task = next(drawn, None)
                    if task is None:
                        exhausted = True
                    else:
                        pending.append(self._submit(token, slot, task))
                if not pending:
                    break
                yield self._next_result(token, slot, pending, route, report)
            finished = True
        finally:
            if not finished:
                self._abandon(slot, pending)
            self._routes.pop(token, None)
            if slot >= 0:
                with self._lock:
                    self._free_slots.append(slot)

    def _submit(self, token: str, slot: int, task: ConversionTask, attempt: int = 1) -> _Pending:
        key = uuid.uuid4().hex
        pool = self._current_pool()
        try:
            future = pool.submit(_convert, token, key, slot, task)
        except BrokenProcessPool:  # broken since: a fresh pool takes it
            self._replace(pool)
            pool = self._current_pool()
            future = pool.submit(_convert, token, key, slot, task)
        return _Pending(task, future, pool, key, attempt)

    def _next_result(
        self,
        token: str,
        slot: int,
        pending: deque[_Pending],
        route: queue.SimpleQueue[tuple[str, TaskEvent]],
        report: Report,
    ) -> ConversionResult:
        """The first pending task's result, reporting every event that comes meanwhile."""
        by_key = {p.key: p for p in pending}
        head = pending[0]
        quiet_since = time.monotonic()
        while True:
            if head.future.done():
                outcome = self._outcome(head)
                if outcome is None:  # its worker died: every unfinished task goes again
                    self._retry(token, slot, pending)
                    by_key = {p.key: p for p in pending}
                    head = pending[0]
                    continue
                result, sent = outcome
                while head.events < sent:  # the events it sent before its result
                    self._take_event(route.get(timeout=60), by_key, report)
                pending.popleft()
                for errors in head.row_errors:
                    report(errors)
                return result
            try:
                event = route.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                    task = head.task
                    report(BatchConverted(task.index, task.entry, head.rows_read, 0, 0))
                    quiet_since = time.monotonic()
                continue
            self._take_event(event, by_key, report)
            quiet_since = time.monotonic()

    def _take_event(
        self, item: tuple[str, TaskEvent], by_key: dict[str, _Pending], report: Report
    ) -> None:
        key, event = item
        owner = by_key.get(key)
        if owner is None:  # of an attempt that died, or of a task already taken
            return
        owner.events += 1
        if isinstance(event, RowErrors):
            owner.row_errors.append(event)  # reported with the result
            return
        owner.rows_read = event.rows_read
        report(event)

    def _outcome(self, head: _Pending) -> tuple[ConversionResult, int] | None:
        """The finished task's result, or None when its worker died."""
        try:
            return head.future.result()
        except BrokenProcessPool:
            return None

    def _retry(self, token: str, slot: int, pending: deque[_Pending]) -> None:
        """The pool broke: convert every task not taken yet again, on a fresh pool; a task out
        of attempts gets its file failed for this run."""
        broken = {p.pool for p in pending if p.future.done() and _broken(p.future)}
        for pool in broken:
            self._replace(pool)
        for i, item in enumerate(pending):
            if not (item.future.done() and _broken(item.future)):
                continue
            if item.attempt >= self.attempts:
                lost = ConversionWorkerLost(
                    f"The process converting {item.task.entry.path} died {item.attempt} "
                    "times (killed, or out of memory).",
                    fix="The file is tried again by the next run; if it keeps failing, give "
                    "the workers more memory or convert fewer files at once (--executor "
                    "processes:N).",
                )
                future: Future[tuple[ConversionResult, int]] = Future()
                future.set_result(
                    (ConversionResult(item.task.index, item.task.entry, error=lost), 0)
                )
                pending[i] = _Pending(item.task, future, item.pool, item.key, item.attempt)
                continue
            pending[i] = self._submit(token, slot, item.task, item.attempt + 1)

    def _abandon(self, slot: int, pending: deque[_Pending]) -> None:
        """The run stops before taking every result: stop the workers' tasks of it, and
        delete the files of those that finished all the same."""
        if slot >= 0 and self._cancelled is not None:
            self._cancelled[slot] = 1
        for item in pending:
            item.future.cancel()
        for item in pending:
            if item.future.cancelled():
                continue
            with contextlib.suppress(BaseException):
                result, _ = item.future.result()
                for data_file in result.data_files:
                    with contextlib.suppress(Exception):
                        item.task.output.io.delete(data_file.file_path)


def _broken(future: Future[Any]) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)
