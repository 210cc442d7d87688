"""Schedulers competing for the same rows: a taken window or run is skipped, never waited for
(PostgreSQL's ``FOR UPDATE SKIP LOCKED``), and exactly one competitor wins on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from lakefeed import Lakefeed
from lakefeed.catalog import tables
from lakefeed.catalog.windows import WindowRecord
from lakefeed.schedules.clock import ManualClock
from lakefeed.schedules.windows import Window

T = TypeVar("T")


@pytest.fixture
def lf(tmp_path: Any) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


@pytest.fixture
def make_flow(tmp_path: Any) -> Any:
    from core.catalog.conftest import _flow

    def make(lf: Lakefeed, name: str) -> Any:
        folder = tmp_path / name
        folder.mkdir()
        return _flow(lf, folder, name)

    return make


def _expired_window(lf: Lakefeed, flow_id: str) -> WindowRecord:
    first = lf.windows.claims(owner="first", clock=ManualClock(0), lease_seconds=60)
    assert first.claim(flow_id, "local", "prod", Window(None, 100, 0)) is not None
    (held,) = lf.windows.of_flow(flow_id)
    return held


@contextmanager
def _row_held(lf: Lakefeed, table: sa.Table, *where: sa.ColumnElement[bool]) -> Iterator[None]:
    """Another transaction holds the row (as a competing scheduler would while it changes it)."""
    with lf.db.connect() as other:
        transaction = other.begin()
        assert other.execute(sa.select(table).where(*where).with_for_update()).first()
        try:
            yield
        finally:
            transaction.rollback()


def _without_waiting(call: Callable[[], T]) -> T:
    """``call``'s result; fails (instead of hanging) when it waits for the other transaction."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "waited for the competing transaction's row lock"
    return result[0]


def test_one_of_two_schedulers_takes_an_expired_window_over(lf: Lakefeed, make_flow: Any) -> None:
    flow = make_flow(lf, "drops")
    held = _expired_window(lf, flow.id)
    later = ManualClock(1000)
    two = [lf.windows.claims(owner=f"s{n}", clock=later, lease_seconds=60) for n in (2, 3)]
    taken = [claims.take_over(held) for claims in two]
    assert sum(claim is not None for claim in taken) == 1
    (window,) = lf.windows.of_flow(flow.id)
    assert (window.owner, window.takeovers) in {("s2", 1), ("s3", 1)}


def test_a_window_another_scheduler_is_taking_is_skipped_at_once(
    lf: Lakefeed, make_flow: Any, database_backend: str
) -> None:
    if database_backend != "postgresql":
        pytest.skip("SQLite has no row locks: one writer at a time decides")
    flow = make_flow(lf, "drops")
    held = _expired_window(lf, flow.id)
    claims = lf.windows.claims(owner="second", clock=ManualClock(1000), lease_seconds=60)
    windows = tables.schedule_windows
    with _row_held(lf, windows, windows.c.flow_id == flow.id):
        assert _without_waiting(lambda: claims.take_over(held)) is None
        assert _without_waiting(lambda: claims.close_abandoned(held, done=True)) is False
    assert claims.take_over(held) is not None  # free again: taken


def test_a_scheduled_run_another_process_is_adopting_is_skipped_at_once(
    lf: Lakefeed, make_flow: Any, database_backend: str
) -> None:
    flow = make_flow(lf, "drops")
    run = lf.runs.schedule(flow.id, {}, {})
    runs = tables.runs
    if database_backend == "postgresql":
        with _row_held(lf, runs, runs.c.id == run.id):
            assert _without_waiting(lambda: lf.runs.adopt_scheduled(run.id, {})) is None
            assert _without_waiting(lambda: lf.runs.fail_scheduled(run.id, {})) is False
    adopted = lf.runs.adopt_scheduled(run.id, {})
    assert adopted is not None and adopted.state == "inProgress"
    assert lf.runs.adopt_scheduled(run.id, {}) is None  # once only


def test_an_interrupted_run_is_adopted_by_one_process(
    lf: Lakefeed, make_flow: Any, database_backend: str
) -> None:
    flow = make_flow(lf, "drops")
    run = lf.runs.start(flow.id, {}, {})
    lf.runs.set_owner(run.id, owner="gone-host:1", heartbeat_at=1000)
    gone = lf.runs.get(run.id)
    runs = tables.runs
    if database_backend == "postgresql":
        with _row_held(lf, runs, runs.c.id == run.id):
            assert _without_waiting(lambda: lf.runs.adopt_interrupted(gone)) is False
    assert lf.runs.adopt_interrupted(gone) is True
    assert lf.runs.adopt_interrupted(gone) is False


def test_the_tests_run_on_the_backend_they_are_named_for(
    lf: Lakefeed, database_backend: str
) -> None:
    assert lf.db.dialect.name == database_backend
