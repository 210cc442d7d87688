"""Schedule arithmetic: boundaries, the first window, catch-up after downtime."""

from __future__ import annotations

import pytest

from lakefeed.schedules.rules import UNIT_SECONDS, Schedule
from lakefeed.schedules.windows import Window, due_window, latest_boundary, next_boundary

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
