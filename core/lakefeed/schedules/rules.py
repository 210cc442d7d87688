"""``scheduleParams``: what a flow's schedule may say, checked with the Flow Service codes.

Values come as numbers or numeric strings (users send both); they are stored as numbers and
echoed back as strings, as Flow Service does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakefeed.errors import (
    BackfillNotAllowed,
    IntervalNotAllowed,
    IntervalTooSmall,
    InvalidSchedule,
    ScheduleLocked,
    StartTimeInPast,
)

FREQUENCIES = ("once", "minute", "hour", "day", "week")
#: Length of one unit of each repeating frequency, in seconds (UTC; no calendar arithmetic).
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400, "week": 604_800}
#: Smallest ``interval`` for ``frequency: minute`` unless ``LAKEFEED_SCHEDULE_MINUTE_MINIMUM``
#: says otherwise (Flow Service's limit).
DEFAULT_MINUTE_MINIMUM = 15
#: The last second of the year 9999, and 100 years: bounds of startTime and of a period.
LATEST_START = 253_402_300_799
LONGEST_PERIOD = 100 * 366 * 86_400
#: A ``startTime`` this many seconds in the past is still accepted: clocks and requests drift.
START_TIME_GRACE = 60


def minute_minimum() -> int:
    """The server setting ``LAKEFEED_SCHEDULE_MINUTE_MINIMUM`` (default 15)."""
    raw = os.environ.get("LAKEFEED_SCHEDULE_MINUTE_MINIMUM", "").strip()
    if not raw:
        return DEFAULT_MINUTE_MINIMUM
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidSchedule(
            f"LAKEFEED_SCHEDULE_MINUTE_MINIMUM must be a whole number of minutes ≥ 1, not {raw!r}.",
            fix="Unset it for the default of 15.",
        )
    return int(raw)


@dataclass(frozen=True)
class Schedule:
    start_time: int  # epoch seconds
    frequency: str
    interval: int | None = None
    backfill: bool = True

    @property
    def period(self) -> int | None:
        """Seconds between two runs; None for ``once``."""
        if self.frequency == "once" or self.interval is None:
            return None
        return UNIT_SECONDS[self.frequency] * self.interval

    @classmethod
    def from_stored(cls, params: Mapping[str, Any]) -> Schedule:
        """From stored params, or from a flow's REST shape (values as strings)."""
        return cls(
            start_time=int(params["startTime"]),
            frequency=str(params["frequency"]),
            interval=None if params.get("interval") is None else int(params["interval"]),
            backfill=_bool(params.get("backfill", True), "backfill"),
        )

    def to_stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {"startTime": self.start_time, "frequency": self.frequency}
        if self.interval is not None:
            out["interval"] = self.interval  # with once only 0, kept as sent
        if self.frequency != "once":
            out["backfill"] = self.backfill
        return out

    def to_dict(self) -> dict[str, Any]:
        """Flow Service echoes schedule values back as strings."""
        out = {"startTime": str(self.start_time), "frequency": self.frequency}
        if self.interval is not None:
            out["interval"] = str(self.interval)
        if self.frequency != "once":
            out["backfill"] = "true" if self.backfill else "false"
        return out


def validate_schedule(
    params: Mapping[str, Any] | None,
    *,
    now: float | None = None,
    current: Schedule | None = None,
    minimum_minutes: int | None = None,
) -> Schedule:
    """Check ``scheduleParams`` of a new flow, or of a flow whose schedule is ``current``.

    Without params a flow runs once, from now. ``startTime`` may not be in the past (unless it
    is the unchanged start of ``current``); once ``current``'s start has passed, ``frequency``
    cannot become ``once`` and ``backfill`` cannot change. ``interval`` 0 or null with ``once``
    is taken as no interval (no :attr:`Schedule.period`); a 0 is kept, to be echoed back as
    sent. Fields other than these four are not looked at.
    """
    params = dict(params or {})
    now = time.time() if now is None else now
    frequency = str(params.get("frequency", "once")).strip().lower()
    if frequency not in FREQUENCIES:
        raise InvalidSchedule(
            f"scheduleParams.frequency {params.get('frequency')!r} is not one of "
            f"{', '.join(FREQUENCIES)}.",
            fix="Use once, minute, hour, day or week.",
        )
    start = _whole(params["startTime"], "startTime") if "startTime" in params else int(now)
    if start > LATEST_START:
        raise InvalidSchedule(
            f"scheduleParams.startTime {start} is after the year 9999: it is epoch seconds, "
            "not milliseconds?",
            fix="Send startTime in epoch seconds, e.g. 1900000000.",
        )
    unchanged_start = current is not None and start == current.start_time
    if start < now - START_TIME_GRACE and not unchanged_start:
        raise StartTimeInPast(
            f"scheduleParams.startTime {start} is in the past (now is {int(now)}).",
            fix="Send a startTime at or after the current time, in epoch seconds.",
        )
    if current is not None and current.start_time <= now:
        if frequency == "once" and current.frequency != "once":
            raise ScheduleLocked(
                "The flow's startTime has passed, so its frequency cannot become 'once'.",
                fix="Create a new flow with frequency once for a one-off run.",
            )
        backfill = _bool(params.get("backfill", True), "backfill")
        if frequency != "once" and current.frequency != "once" and backfill != current.backfill:
            raise ScheduleLocked(
                "The flow's startTime has passed, so backfill cannot change.",
                fix="Create a new flow to ingest with the other backfill setting.",
            )
    if frequency == "once":
        # Adobe's clients send interval 0 with once: no interval, as null or absent is.
        if "interval" in params and not _no_interval(params["interval"]):
            raise IntervalNotAllowed(
                "scheduleParams.interval is not allowed with frequency 'once'.",
                fix="Remove interval, or choose another frequency.",
            )
        if "backfill" in params:
            raise BackfillNotAllowed(
                "scheduleParams.backfill is not allowed with frequency 'once'.",
                fix="Remove backfill, or choose another frequency.",
            )
        # A 0 is kept so that it is echoed back as sent; period stays None either way.
        zero = params.get("interval") is not None
        schedule = Schedule(start_time=start, frequency="once", interval=0 if zero else None)
    else:
        if params.get("interval") is None:
            raise InvalidSchedule(
                f"scheduleParams.interval is required with frequency {frequency!r}.",
                fix="Add interval, e.g. 15 for every 15 minutes.",
            )
        interval = _whole(params["interval"], "interval")
        least = (
            (minute_minimum() if minimum_minutes is None else minimum_minutes)
            if (frequency == "minute")
            else 1
        )
        if interval * UNIT_SECONDS[frequency] > LONGEST_PERIOD:
            raise InvalidSchedule(
                f"scheduleParams.interval {interval} {frequency}s is longer than 100 years.",
                fix="Use a shorter interval, or frequency once.",
            )
        if interval < least:
            raise IntervalTooSmall(
                f"scheduleParams.interval {interval} is below the minimum of {least} for "
                f"frequency {frequency!r}.",
                fix=f"Use an interval of at least {least}.",
            )
        backfill = _bool(params.get("backfill", True), "backfill")
        schedule = Schedule(start, frequency, interval, backfill)
    return schedule


def _no_interval(value: Any) -> bool:
    """Whether ``interval`` says "none": null, or zero as a number or a numeric string."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and value.strip() in ("0", "0.0")


def _whole(value: Any, field: str) -> int:
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return int(value) if isinstance(value, float) else int(str(value).strip())
    except ValueError:
        raise InvalidSchedule(
            f"scheduleParams.{field} must be a whole number, not {value!r}.",
            fix=f"Send {field} as digits.",
        ) from None


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidSchedule(
        f"scheduleParams.{field} must be true or false, not {value!r}.",
        fix=f"Send {field}: true or false.",
    )
