"""Scheduled maintenance settings: checked, defaults filled in, stored with the dataset."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lakefeed.datasets.maintenance import parse_duration, parse_size
from lakefeed.datasets.maintenance_policy import MaintenancePolicy
from lakefeed.errors import InvalidRequest
from maintenance_support import SmallBatches


def test_settings_get_their_defaults_and_steps() -> None:
    policy = MaintenancePolicy.from_json({"compact": True, "expireOlderThan": "7d"})

    assert policy.steps() == ["compaction", "expiry"]
    assert policy.every == timedelta(days=1) and policy.target_file_bytes == 128 << 20
    assert (policy.min_input_files, policy.retain_last) == (5, 1)
    assert policy.document == {
        "every": "1d", "compact": True, "targetFileSize": "128MiB", "minInputFiles": 5,
        "expireOlderThan": "7d", "retainLast": 1, "removeOrphansOlderThan": None,
    }  # fmt: skip
    assert policy.schedule().period == 86400


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"compact": True, "vacuum": True}, "no setting 'vacuum'"),
        ({}, "runs nothing"),
        ({"compact": False}, "runs nothing"),
        ({"compact": "yes"}, "'compact' must be true or false"),
        ({"compact": True, "every": "5m"}, "at least 15m"),
        ({"compact": True, "every": "90s"}, "whole minutes"),
        ({"compact": True, "minInputFiles": 1}, "'minInputFiles' must be"),
        ({"compact": True, "retainLast": True}, "'retainLast' must be"),
        ({"expireOlderThan": 7}, "'expireOlderThan' must be a duration"),
        ({"expireOlderThan": "a week"}, "is not a duration"),
        ({"compact": True, "targetFileSize": "huge"}, "is not a size"),
        ({"removeOrphansOlderThan": "0s"}, "'removeOrphansOlderThan' must be at least 24h"),
        ({"removeOrphansOlderThan": "23h"}, "'removeOrphansOlderThan' must be at least 24h"),
        ({"expireOlderThan": "99999999999d"}, "maximum of 3650d"),
        ({"compact": True, "every": "9999999999d"}, "maximum of 3650d"),
        ([], "must be a JSON object"),
    ],
)
def test_wrong_settings_say_what_is_wrong(settings: Any, says: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        MaintenancePolicy.from_json(settings)
    assert says in str(raised.value) and raised.value.code == "LF-1001"


def test_durations_and_sizes() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2w") == timedelta(weeks=2) and parse_duration(" 12H ") == timedelta(
        hours=12
    )
    assert parse_size("128MiB") == 128 << 20 and parse_size("64MB") == 64_000_000
    assert parse_size("1.5KiB") == 1536 and parse_size("4096") == 4096
    for bad in ("", "7", "-1d", "1.5d"):
        with pytest.raises(InvalidRequest):
            parse_duration(bad)
    for bad in ("0", "1TB", "MiB"):
        with pytest.raises(InvalidRequest):
            parse_size(bad)


def test_settings_are_stored_with_the_dataset_and_turned_off_with_nothing(
    tmp_path: Path,
) -> None:
    batches = SmallBatches.make(tmp_path)
    lf = batches.lf
    etag = batches.dataset.etag

    stored = lf.update_dataset("profiles", maintenance={"compact": True, "every": "6h"})

    assert stored.maintenance is not None and stored.maintenance["every"] == "6h"
    assert stored.etag != etag
    assert [d.id for d in lf.maintained_datasets()] == [stored.id]
    with pytest.raises(InvalidRequest):
        lf.update_dataset("profiles", maintenance={"every": "6h"})
    assert lf.datasets.get("profiles").maintenance == stored.maintenance  # unchanged
    assert lf.update_dataset("profiles", description="x").maintenance == stored.maintenance

    off = lf.update_dataset("profiles", maintenance={})

    assert off.maintenance is None and lf.maintained_datasets() == []
    with pytest.raises(InvalidRequest) as raised:
        lf.run_maintenance("profiles")
    assert "has no scheduled maintenance" in str(raised.value)


def test_durations_stop_at_ten_years() -> None:
    assert parse_duration("3650d") == timedelta(days=3650)
    for too_long in ("3651d", "9999999999d", "99999999999999999999w", timedelta(days=4000)):
        with pytest.raises(InvalidRequest) as raised:
            parse_duration(too_long)
        assert "maximum of 3650d" in str(raised.value)
    assert MaintenancePolicy.from_json({"removeOrphansOlderThan": "24h"}).steps() == [
        "orphanRemoval"
    ]
