"""Schedule arithmetic: boundaries, the first window, catch-up after downtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from lakefeed.schedules.rules import UNIT_SECONDS, Schedule
from lakefeed.schedules.windows import (
    Window,
    due_window,
    latest_boundary,
    next_boundary,
    next_run_at,
)

T0 = 1_900_000_000


@pytest.mark.parametrize("frequency", ["minute", "hour", "day", "week"])
@pytest.mark.parametrize("interval", [1, 15, 3])
def test_boundaries_for_every_frequency(frequency: str, interval: int) -> None:
    schedule = Schedule(T0, frequency, interval, True)
    period = UNIT_SECONDS[frequency] * interval
    assert schedule.period == period
    assert latest_boundary(schedule, T0 - 1) is None
    assert latest_boundary(schedule, T0) == T0
    assert latest_boundary(schedule, T0 + period - 1) == T0
    assert latest_boundary(schedule, T0 + period) == T0 + period
    assert latest_boundary(schedule, T0 + 7 * period + 5) == T0 + 7 * period
    # Before the first run the flow is due at its start; then one period after each window.
    assert next_boundary(schedule, None, T0 - 100) == T0
    assert next_boundary(schedule, T0, T0 + 1) == T0 + period
    assert next_boundary(schedule, T0 + period, T0 + period + 1) == T0 + 2 * period


def test_first_window_honours_backfill() -> None:
    with_backfill = Schedule(T0, "hour", 1, True)
    without = Schedule(T0, "hour", 1, False)
    assert due_window(with_backfill, None, T0 - 1) is None
    assert due_window(with_backfill, None, T0) == Window(start=None, end=T0, previous_end=0)
    assert due_window(without, None, T0 + 10) == Window(start=T0, end=T0, previous_end=0)


def test_windows_follow_each_other_without_gaps() -> None:
    schedule = Schedule(T0, "minute", 15, True)
    period = 900
    first = due_window(schedule, None, T0 + 3)
    assert first is not None and first.end == T0
    assert due_window(schedule, first.end, T0 + period - 1) is None  # not due yet
    second = due_window(schedule, first.end, T0 + period + 2)
    assert second == Window(start=T0, end=T0 + period, previous_end=T0)
    assert second.to_params() == {
        "startTime": str(T0 + period),
        "windowStartTime": str(T0),
        "windowEndTime": str(T0 + period),
    }


def test_catch_up_after_downtime_is_one_window_not_a_burst() -> None:
    schedule = Schedule(T0, "hour", 1, True)
    # Down from just after the first run until 5.5 hours later: one run covers the gap.
    window = due_window(schedule, T0, T0 + 5 * 3600 + 1800)
    assert window == Window(start=T0, end=T0 + 5 * 3600, previous_end=T0)
    assert due_window(schedule, window.end, T0 + 5 * 3600 + 1801) is None
    # A scheduler that was never up before runs one window from the beginning.
    assert due_window(schedule, None, T0 + 3 * 3600 + 5) == Window(None, T0 + 3 * 3600, 0)
    assert next_boundary(schedule, T0, T0 + 5 * 3600 + 1800) == T0 + 5 * 3600


def test_once_runs_at_its_start_only() -> None:
    once = Schedule(T0, "once")
    assert due_window(once, None, T0 - 1) is None
    assert due_window(once, None, T0 + 99) == Window(start=None, end=T0, previous_end=0)
    assert due_window(once, T0, T0 + 10**6) is None
    assert next_boundary(once, T0, T0 + 1) is None


EVERY_15_MINUTES = {"startTime": T0, "frequency": "minute", "interval": 15, "backfill": True}


def test_next_run_at_of_a_disabled_flow_is_none() -> None:
    for params, has_run in (
        (EVERY_15_MINUTES, False),
        ({"startTime": T0, "frequency": "once"}, False),
    ):
        assert (
            next_run_at(params, enabled=False, window_ends=[], has_run=has_run, now=T0 + 5) is None
        )


def test_next_run_at_of_a_once_flow_is_its_start_until_it_ran() -> None:
    once = {"startTime": T0, "frequency": "once"}
    for now in (T0 - 100, T0 + 100):  # ahead, and due (a scheduler was down)
        assert next_run_at(once, enabled=True, window_ends=[], has_run=False, now=now) == T0
    assert next_run_at(once, enabled=True, window_ends=[], has_run=True, now=T0 + 1) is None
    assert next_run_at(once, enabled=True, window_ends=[T0], has_run=True, now=T0 + 1) is None


def test_next_run_at_of_a_repeating_flow_is_the_boundary_after_its_last_window() -> None:
    def at(ends: list[int], now: float, params: Mapping[str, Any] = EVERY_15_MINUTES) -> int | None:
        return next_run_at(
            params, enabled=True, window_ends=iter(ends), has_run=bool(ends), now=now
        )

    assert at([], T0 - 60) == T0  # before its first window: its start
    assert at([], T0 + 3600) == T0  # due since its start, never run
    assert at([T0], T0 + 5) == T0 + 900
    assert at([T0 + 900, T0], T0 + 905) == T0 + 1800  # the latest window counts, in any order
    # A scheduler down for an hour: due now, at the latest boundary (one catch-up run).
    assert at([T0], T0 + 3600 + 10) == T0 + 3600
    # As the REST API shows them: strings.
    shown = {"startTime": str(T0), "frequency": "minute", "interval": "15", "backfill": "true"}
    assert at([T0], T0 + 5, shown) == T0 + 900
    # A run now (no window) does not move the schedule: it has run, but without a window end.
    assert (
        next_run_at(EVERY_15_MINUTES, enabled=True, window_ends=[], has_run=True, now=T0 + 5) == T0
    )
