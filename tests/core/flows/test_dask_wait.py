"""How the Dask executor waits for one task (pure logic, with a stand-in for a
``distributed.Future``): a wait that runs out just as the task finishes returns the result;
a task that is still converting is reported as alive; the task's own TimeoutError is its
error. The cluster itself is tested in test_dask_executor.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lakefeed.flows.convert import BatchConverted
from lakefeed.flows.dask_executor import DaskExecutor

TASK = SimpleNamespace(index=3, entry=SimpleNamespace(path="/in/a.parquet"))


class Future:
    """Answers ``result()`` from a script: an exception to raise, or a value to return, with
    the ``done()`` and ``status`` the future has at that moment."""

    def __init__(self, script: list[tuple[Any, bool, str]]) -> None:
        self.script = script
        self.now = script[0]

    def result(self, timeout: float | None = None) -> Any:
        self.now = self.script.pop(0)
        outcome = self.now[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def done(self) -> bool:
        return self.now[1]

    @property
    def status(self) -> str:
        return self.now[2]


def wait(future: Future) -> tuple[Any, list[Any]]:
    reported: list[Any] = []
    answer = DaskExecutor("tcp://127.0.0.1:1")._wait(TASK, future, reported.append)  # type: ignore[arg-type]
    return answer, reported


def test_a_wait_that_runs_out_as_the_task_finishes_returns_its_result() -> None:
    """Seen on a busy machine: result(timeout=5) timed out handing over a finished result, and
    the run failed with that TimeoutError."""
    future = Future(
        [(TimeoutError("5 s"), True, "finished"), (("result", ["event"]), True, "finished")]
    )
    assert wait(future) == (("result", ["event"]), [])


def test_a_task_still_converting_is_reported_alive_then_returned() -> None:
    future = Future(
        [
            (TimeoutError(), False, "pending"),
            (TimeoutError(), False, "pending"),
            (("result", []), True, "finished"),
        ]
    )
    (result, reported) = wait(future)
    assert result == ("result", [])
    assert [type(event) for event in reported] == [BatchConverted, BatchConverted]


def test_the_tasks_own_timeout_is_its_error() -> None:
    future = Future([(TimeoutError("the task's"), True, "error")])
    with pytest.raises(TimeoutError, match="the task's"):
        wait(future)
