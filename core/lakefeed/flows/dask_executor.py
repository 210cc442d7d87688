"""Conversion on a dask.distributed cluster: each file's task runs on one of its workers.

Workers need lakefeed and the plugins the flows use installed, and the executor key
(``LAKEFEED_EXECUTOR_KEY``) in their environment. A task holds the connection's auth params
and the warehouse's FileIO properties, secrets among them, so it is sealed before it leaves
this process (:mod:`.sealed_tasks`): the scheduler, which keeps what it is given and may log
it, only ever holds the ciphertext, and a worker opens it with the key it got from its own
environment. Results (data file paths and statistics, counts, rejected rows) come back as they
are.

Workers write their data files straight into the table's location (a folder the cluster
shares, or object storage); this process commits them, once per batch, as with any executor.
A worker that dies mid-task: the scheduler runs the task again on another worker (up to its
``allowed-failures``); only the files of an attempt that finished are ever committed, and every
attempt names its files afresh, so a partial file is never referenced (those of dead attempts
stay unreferenced under the batch's prefix, for ``lakefeed datasets remove-orphans``). When
every attempt died, the file fails for this run only
(:class:`~lakefeed.errors.ConversionWorkerLost`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from lakefeed.errors import ConversionWorkerLost, ExecutorConfigError, ExecutorUnavailable
from lakefeed.flows.convert import (
    BatchConverted,
    ConversionResult,
    ConversionTask,
    Report,
    TaskEvent,
)
from lakefeed.flows.executors import KEEPALIVE_SECONDS, in_worker
from lakefeed.flows.sealed_tasks import TaskSeal
from lakefeed.flows.tasks import convert

#: Seconds to reach the scheduler before the run fails with ExecutorUnavailable.
CONNECT_SECONDS = 10.0


def convert_sealed(sealed: bytes) -> tuple[ConversionResult, list[TaskEvent]]:
    """Run on a worker: open the task with this worker's key, convert it, return the result
    and the events it reported."""
    task = TaskSeal.from_environment().open(sealed)
    events: list[TaskEvent] = []
    return convert(in_worker(task), events.append), events


class DaskExecutor:
    """Converts files on the cluster whose scheduler is at ``address`` (``tcp://HOST:PORT``),
    up to ``window`` tasks handed out ahead per run (default: twice the cluster's threads)."""

    def __init__(self, address: str, *, window: int | None = None, seal: TaskSeal | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise ExecutorConfigError(
                "The Dask executor needs the package distributed, which is not installed.",
                fix="pip install 'lakefeed[dask]' (on the workers too).",
            ) from exc
        self.address = address
        self.window = window
        self._seal = seal
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            from distributed import Client

            try:
                self._client = Client(self.address, timeout=CONNECT_SECONDS, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ExecutorUnavailable(
                    f"The Dask scheduler at {self.address} did not answer within "
                    f"{CONNECT_SECONDS:.0f} s ({type(exc).__name__}).",
                    fix="Start the scheduler and its workers (dask scheduler; dask worker "
                    "ADDRESS), or correct LAKEFEED_EXECUTOR / --executor.",
                ) from exc
        return self._client

    @property
    def parallelism(self) -> int:
        """Tasks the cluster converts at once: its workers' threads (asks the scheduler)."""
        return _threads(self._connect())

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def run(self, tasks: Iterable[ConversionTask], report: Report) -> Iterator[ConversionResult]:
        seal = self._seal or TaskSeal.from_environment()
        client = self._connect()
        window = self.window or max(2 * _threads(client), 2)
        pending: deque[tuple[ConversionTask, Any]] = deque()
        finished = False
        try:
            drawn = iter(tasks)
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    task = next(drawn, None)
                    if task is None:
                        exhausted = True
                        continue
                    key = f"lakefeed-convert-{task.output.batch_id}-{task.index}-{uuid.uuid4()}"
                    future = client.submit(convert_sealed, seal.close(task), key=key, pure=False)
                    pending.append((task, future))
                if not pending:
                    break
                task, future = pending[0]
                result, events = self._wait(task, future, report)
                pending.popleft()
                for event in events:
                    report(event)
                yield result
            finished = True
        finally:
            if not finished:
                self._abandon(pending)

    def _wait(
        self, task: ConversionTask, future: Any, report: Report
    ) -> tuple[ConversionResult, list[TaskEvent]]:
        """The task's result and events; says the task is still converting every few seconds
        meanwhile (the run heartbeats, and notices when it is cancelled)."""
        from distributed import KilledWorker

        while True:
            try:
                result, events = future.result(timeout=KEEPALIVE_SECONDS)
                break
            except TimeoutError:
                if future.done() and future.status == "error":
                    raise  # the task's own TimeoutError
                if not future.done():
                    report(BatchConverted(task.index, task.entry, 0, 0, 0))
                # Else it finished as the wait ran out (a busy coordinator's event loop can take
                # that long to hand the result over): the next result() returns it.
            except KilledWorker as exc:
                lost = ConversionWorkerLost(
                    f"Every worker that converted {task.entry.path} died (killed, or out of "
                    f"memory): {exc}",
                    fix="The file is tried again by the next run; if it keeps failing, give "
                    "the workers more memory.",
                )
                return ConversionResult(task.index, task.entry, error=lost), []
        return result, events

    def _abandon(self, pending: deque[tuple[ConversionTask, Any]]) -> None:
        """Stop the run's tasks; delete the files of those that finished all the same."""
        for task, future in pending:
            if future.done() and future.status == "finished":
                with contextlib.suppress(BaseException):
                    result, _ = future.result()
                    for data_file in result.data_files:
                        with contextlib.suppress(Exception):
                            task.output.io.delete(data_file.file_path)
            else:
                with contextlib.suppress(Exception):
                    future.cancel()


def _threads(client: Any) -> int:
    """Threads across the cluster's workers (1 when it tells none)."""
    try:
        info = client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1
    except Exception:
        return 1
