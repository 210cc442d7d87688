"""Schedule arithmetic: when a flow is due and which window its run covers.

A repeating schedule has boundaries ``startTime + k * period`` (k = 0, 1, …). The run at a
boundary covers the window from the previous run's boundary to it; the first run's window
starts at nothing with ``backfill`` (everything already there) and at ``startTime`` without.
A scheduler that was down does not run the boundaries it missed one by one: the next run
covers everything since the last one, up to the latest boundary (one catch-up run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lakefeed.schedules.rules import Schedule


@dataclass(frozen=True)
class Window:
    """The span a run covers, in epoch seconds; ``start`` None means "since the beginning"."""

    start: int | None
    end: int
    #: The window's predecessor's end (0 for a flow's first window): two schedulers that race
    #: for one window agree on it, which is what makes a claim unique.
    previous_end: int

    def to_params(self) -> dict[str, str]:
        """The run's ``params``, as Flow Service on-demand runs carry them (epoch seconds)."""
        return {
            "startTime": str(self.end),
            "windowStartTime": str(self.start if self.start is not None else 0),
            "windowEndTime": str(self.end),
        }


def latest_boundary(schedule: Schedule, now: float) -> int | None:
    """The last boundary at or before ``now``; None before ``startTime``."""
    if now < schedule.start_time:
        return None
    period = schedule.period
    if period is None:
        return schedule.start_time
    return schedule.start_time + int((now - schedule.start_time) // period) * period


def next_boundary(schedule: Schedule, last_end: int | None, now: float) -> int | None:
    """When the flow is next due: ``startTime`` before its first run, the boundary after the
    last window otherwise (never, for a ``once`` flow that ran)."""
    if last_end is None:
        return schedule.start_time
    period = schedule.period
    if period is None:
        return None
    latest = latest_boundary(schedule, now)
    if latest is not None and latest > last_end:
        return latest  # due now: a catch-up
    return last_end + period


def due_window(schedule: Schedule, last_end: int | None, now: float) -> Window | None:
    """The window a run at ``now`` covers, or None when nothing is due. ``last_end`` is the
    end of the flow's last window (None before its first run)."""
    latest = latest_boundary(schedule, now)
    if latest is None:
        return None
    if last_end is None:
        start = None if schedule.backfill or schedule.frequency == "once" else schedule.start_time
        return Window(start=start, end=latest, previous_end=0)
    if schedule.period is None or latest <= last_end:
        return None
    return Window(start=last_end, end=latest, previous_end=last_end)


def next_run_at(
    schedule_params: Mapping[str, Any],
    *,
    enabled: bool,
    window_ends: Iterable[int],
    has_run: bool,
    now: float,
) -> int | None:
    """When a scheduler runs a flow next (epoch seconds; at or before ``now``: due now), from
    its stored ``scheduleParams`` and the ends of the windows its runs took. None for a
    disabled flow, or a ``once`` flow that has run."""
    if not enabled:
        return None
    schedule = Schedule.from_stored(schedule_params)
    if schedule.frequency == "once" and has_run:
        return None
    ends = list(window_ends)
    return next_boundary(schedule, max(ends) if ends else None, now)
