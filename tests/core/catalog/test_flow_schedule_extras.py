"""``scheduleParams`` fields lakefeed does not use: kept as sent through the Python API too,
replaced whole by an update, and refused (never stored) when they are not JSON or too large."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.flow_shapes import SCHEDULE_EXTRAS_MAX_BYTES, schedule_extras
from lakefeed.catalog.flows import Flow
from lakefeed.errors import InvalidSchedule

MakeFlow = Callable[[Lakefeed, str], Flow]  # the make_flow fixture of conftest.py


def test_extras_are_kept_and_replaced_whole(lf: Lakefeed, make_flow: MakeFlow) -> None:
    flow = make_flow(lf, "extras")
    start = int(time.time()) + 600
    schedule = {"startTime": start, "frequency": "day", "interval": 1, "timezone": "UTC",
                "window": {"hours": [1, 2]}}  # fmt: skip
    updated = lf.flows.update_flow(flow.id, schedule=schedule)
    assert updated.schedule_extras == {"timezone": "UTC", "window": {"hours": [1, 2]}}
    assert updated.to_dict()["scheduleParams"] == {
        "startTime": str(start), "frequency": "day", "interval": "1", "backfill": "true",
        "timezone": "UTC", "window": {"hours": [1, 2]},
    }  # fmt: skip
    assert updated.schedule.period == 86_400  # the extras do not reach the schedule
    again = lf.flows.update_flow(flow.id, schedule={"startTime": start, "frequency": "once"})
    assert again.schedule_extras == {}


@pytest.mark.parametrize(
    ("extras", "words"),
    [
        ({"when": object()}, "'when' is not a JSON value"),
        ({"ratio": math.nan}, "'ratio' is not a JSON value"),
        ({"half": "\ud800"}, "'half' is not a JSON value"),
        ({7: "x"}, "'7' is not a JSON value under a text name"),
        ({"blob": "x" * SCHEDULE_EXTRAS_MAX_BYTES}, "largest: 'blob'"),
        ({f"k{i}": "v" * 100 for i in range(100)}, "bytes as JSON"),
    ],
)
def test_extras_that_cannot_be_kept_are_refused(
    lf: Lakefeed, make_flow: MakeFlow, extras: dict, words: str
) -> None:
    flow = make_flow(lf, "refused")
    schedule = {"startTime": int(time.time()) + 600, "frequency": "once", **extras}
    with pytest.raises(InvalidSchedule, match=words) as raised:
        lf.flows.update_flow(flow.id, schedule=schedule)
    assert raised.value.code == "LF-1397" and raised.value.fix
    assert lf.flows.flow(flow.id).schedule_params == flow.schedule_params


def test_extras_up_to_the_limit_are_kept() -> None:
    name = "n"
    fits = {name: "x" * (SCHEDULE_EXTRAS_MAX_BYTES - len('{"n":""}'))}
    assert schedule_extras({"frequency": "once", **fits}) == fits
    with pytest.raises(InvalidSchedule):
        schedule_extras({name: fits[name] + "x"})
