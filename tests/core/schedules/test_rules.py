"""``scheduleParams`` validation: every rule, with its Flow Service code."""

from __future__ import annotations

from typing import Any

import pytest

from lakefeed.errors import (
    BackfillNotAllowed,
    IntervalNotAllowed,
    IntervalTooSmall,
    InvalidSchedule,
    ScheduleLocked,
    StartTimeInPast,
)
from lakefeed.schedules.rules import Schedule, validate_schedule

NOW = 1_900_000_000


def check(params: dict[str, Any], **kwargs: Any) -> Schedule:
    return validate_schedule(params, now=NOW, **kwargs)


def test_numbers_and_numeric_strings_are_both_accepted() -> None:
    as_strings = check({"startTime": str(NOW), "frequency": "minute", "interval": "15",
                        "backfill": "false"})  # fmt: skip
    as_numbers = check({"startTime": NOW, "frequency": "minute", "interval": 15, "backfill": False})
    assert as_strings == as_numbers == Schedule(NOW, "minute", 15, False)
    assert as_strings.to_dict() == {
        "startTime": str(NOW), "frequency": "minute", "interval": "15", "backfill": "false"
    }  # fmt: skip
    assert check({"startTime": float(NOW), "frequency": "HOUR", "interval": 1.0}).interval == 1


def test_defaults_are_once_from_now_and_backfill_true() -> None:
    assert check({}) == Schedule(NOW, "once")
    assert check({"startTime": NOW, "frequency": "day", "interval": 2}).backfill is True


@pytest.mark.parametrize(
    ("params", "error", "code", "words"),
    [
        ({"startTime": NOW - 3600, "frequency": "once"}, StartTimeInPast, "LF-1360", "in the past"),
        ({"frequency": "once", "interval": 5}, IntervalNotAllowed, "LF-1361", "interval"),
        ({"frequency": "minute", "interval": 14}, IntervalTooSmall, "LF-1362", "minimum of 15"),
        ({"frequency": "hour", "interval": 0}, IntervalTooSmall, "LF-1362", "minimum of 1"),
        ({"frequency": "week", "interval": -2}, IntervalTooSmall, "LF-1362", "minimum of 1"),
        ({"frequency": "once", "backfill": True}, BackfillNotAllowed, "LF-1364", "backfill"),
        ({"frequency": "hourly", "interval": 1}, InvalidSchedule, "LF-1397", "not one of"),
        ({"frequency": "day"}, InvalidSchedule, "LF-1397", "interval is required"),
        ({"frequency": "day", "interval": "two"}, InvalidSchedule, "LF-1397", "whole number"),
        ({"frequency": "day", "interval": 1.5}, InvalidSchedule, "LF-1397", "whole number"),
        ({"frequency": "day", "interval": True}, InvalidSchedule, "LF-1397", "whole number"),
        ({"frequency": "day", "interval": 1, "backfill": "yes"}, InvalidSchedule, "LF-1397",
         "true or false"),
        ({"startTime": "soon"}, InvalidSchedule, "LF-1397", "whole number"),
        ({"startTime": NOW * 1000}, InvalidSchedule, "LF-1397", "milliseconds"),
        ({"frequency": "week", "interval": 10**9}, InvalidSchedule, "LF-1397", "100 years"),
    ],
)  # fmt: skip
def test_each_rule_has_its_code(
    params: dict[str, Any], error: type[Exception], code: str, words: str
) -> None:
    with pytest.raises(error, match=words) as raised:
        check(params)
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert raised.value.fix  # type: ignore[attr-defined]


@pytest.mark.parametrize("interval", [0, "0", " 0 ", 0.0, None])
def test_interval_zero_or_null_with_once_is_no_interval(interval: Any) -> None:
    """Adobe's clients send ``interval: 0`` with ``once``; it is not refused as an interval."""
    schedule = check({"startTime": NOW, "frequency": "once", "interval": interval})
    assert schedule.period is None
    # A 0 is echoed back as sent (never silently dropped); null stays absent.
    echoed = {} if interval is None else {"interval": "0"}
    assert schedule.to_dict() == {"startTime": str(NOW), "frequency": "once", **echoed}
    assert Schedule.from_stored(schedule.to_stored()) == schedule


def test_a_start_a_little_in_the_past_is_accepted() -> None:
    """Clients send int(time.time()); the request may arrive a second later."""
    assert check({"startTime": NOW - 30}).start_time == NOW - 30


def test_the_minute_minimum_is_a_server_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_SCHEDULE_MINUTE_MINIMUM", "1")
    assert check({"frequency": "minute", "interval": 1}).period == 60
    monkeypatch.setenv("LAKEFEED_SCHEDULE_MINUTE_MINIMUM", "30")
    with pytest.raises(IntervalTooSmall, match="minimum of 30"):
        check({"frequency": "minute", "interval": 15})
    monkeypatch.setenv("LAKEFEED_SCHEDULE_MINUTE_MINIMUM", "zero")
    with pytest.raises(InvalidSchedule, match="LAKEFEED_SCHEDULE_MINUTE_MINIMUM"):
        check({"frequency": "minute", "interval": 15})
    assert check({"frequency": "minute", "interval": 2}, minimum_minutes=2).interval == 2


def test_updates_after_the_start_cannot_switch_to_once_or_change_backfill() -> None:
    started = Schedule(NOW - 86_400, "hour", 1, True)
    keep = {"startTime": started.start_time, "frequency": "hour", "interval": 3}
    assert check(keep, current=started).interval == 3  # the unchanged past start is fine
    with pytest.raises(ScheduleLocked, match="cannot become 'once'") as raised:
        check({"startTime": started.start_time, "frequency": "once"}, current=started)
    assert raised.value.code == "LF-1366"
    with pytest.raises(ScheduleLocked, match="backfill cannot change"):
        check({**keep, "backfill": False}, current=started)
    with pytest.raises(StartTimeInPast):
        check({**keep, "startTime": NOW - 7200}, current=started)  # a new start in the past


def test_updates_before_the_start_may_change_anything() -> None:
    pending = Schedule(NOW + 3600, "hour", 1, True)
    assert check({"startTime": NOW + 3600, "frequency": "once"}, current=pending).frequency == (
        "once"
    )
    changed = check({"startTime": NOW + 60, "frequency": "day", "interval": 1, "backfill": False},
                    current=pending)  # fmt: skip
    assert changed == Schedule(NOW + 60, "day", 1, False)


def test_the_rest_shape_reads_back_as_the_same_schedule() -> None:
    """Flows over REST carry their schedule as strings ("false" included)."""
    schedule = Schedule(NOW, "minute", 15, False)
    assert Schedule.from_stored(schedule.to_dict()) == schedule
    assert Schedule.from_stored(schedule.to_stored()) == schedule
