"""A dataset's scheduled table maintenance: which steps ``lakefeed scheduler`` runs on its
table, with which settings, how often. Stored as the JSON of the dataset's ``maintenance``
(NULL: none), e.g. ``{"every": "1d", "compact": true, "expireOlderThan": "7d"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lakefeed.datasets.compaction import DEFAULT_MIN_INPUT_FILES
from lakefeed.datasets.maintenance import (
    DEFAULT_RETAIN_LAST,
    MIN_ORPHAN_OLDER_THAN,
    parse_duration,
    parse_size,
)
from lakefeed.errors import InternalError, InvalidRequest, LakefeedError
from lakefeed.schedules.rules import Schedule

log = logging.getLogger("lakefeed.maintenance")

#: The keys of the JSON, with their defaults (None: the step is off unless given).
DEFAULTS: dict[str, Any] = {
    "every": "1d",
    "compact": False,
    "targetFileSize": "128MiB",
    "minInputFiles": DEFAULT_MIN_INPUT_FILES,
    "expireOlderThan": None,
    "retainLast": DEFAULT_RETAIN_LAST,
    "removeOrphansOlderThan": None,
}
#: Maintenance runs at most this often (a pass reads every manifest of the table).
MIN_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class MaintenancePolicy:
    """What a scheduled maintenance pass of one dataset does, every ``every``."""

    every: timedelta
    compact: bool
    target_file_bytes: int
    min_input_files: int
    expire_older_than: timedelta | None
    retain_last: int
    remove_orphans_older_than: timedelta | None
    document: dict[str, Any]  # as stored: every key, defaults filled in

    @classmethod
    def from_json(cls, given: Mapping[str, Any]) -> MaintenancePolicy:
        """Check the settings (:class:`InvalidRequest` naming what is wrong and what is
        allowed) and fill in the defaults."""
        if not isinstance(given, Mapping):
            raise _invalid(f"must be a JSON object, not {type(given).__name__}")
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            raise _invalid(f"has no setting {', '.join(map(repr, unknown))}")
        doc = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
        if not isinstance(doc["compact"], bool):
            raise _invalid("'compact' must be true or false")
        for key, least in (("minInputFiles", 2), ("retainLast", 1)):
            if not isinstance(doc[key], int) or isinstance(doc[key], bool) or doc[key] < least:
                raise _invalid(f"{key!r} must be a whole number of at least {least}")
        every = _duration(doc, "every")
        if every is None or every < MIN_EVERY or every.total_seconds() % 60:
            raise _invalid("'every' must be whole minutes, at least 15m (e.g. 6h, 1d)")
        policy = cls(
            every=every,
            compact=doc["compact"],
            target_file_bytes=parse_size(str(doc["targetFileSize"]), "'targetFileSize'"),
            min_input_files=doc["minInputFiles"],
            expire_older_than=_duration(doc, "expireOlderThan"),
            retain_last=doc["retainLast"],
            remove_orphans_older_than=_duration(doc, "removeOrphansOlderThan"),
            document=doc,
        )
        orphans = policy.remove_orphans_older_than
        if orphans is not None and orphans < MIN_ORPHAN_OLDER_THAN:
            # Never forced here: a scheduled pass cannot know that nothing writes meanwhile.
            raise _invalid("'removeOrphansOlderThan' must be at least 24h (the minimum)")
        if not policy.steps():
            raise _invalid(
                "runs nothing: set 'compact': true, 'expireOlderThan' or 'removeOrphansOlderThan'"
            )
        return policy

    @classmethod
    def stored(cls, dataset_name: str, document: Mapping[str, Any] | None) -> MaintenancePolicy:
        """The policy a dataset's record holds; :class:`InvalidRequest` when it has none."""
        if not document:
            raise InvalidRequest(
                f"Dataset {dataset_name!r} has no scheduled maintenance.",
                fix="Set it: lakefeed datasets update NAME --maintenance "
                '\'{"compact": true, "expireOlderThan": "7d"}\'',
            )
        return cls.from_json(document)

    def steps(self) -> list[str]:
        """The steps a pass runs, in order."""
        return [
            name
            for name, on in (
                ("compaction", self.compact),
                ("expiry", self.expire_older_than is not None),
                ("orphanRemoval", self.remove_orphans_older_than is not None),
            )
            if on
        ]

    def schedule(self) -> Schedule:
        """When passes are due: every ``every``, on boundaries counted from the epoch."""
        return Schedule(
            start_time=0,
            frequency="minute",
            interval=int(self.every.total_seconds() // 60),
            backfill=False,
        )


def run_policy(
    policy: MaintenancePolicy,
    *,
    compact: Callable[..., Any],
    expire: Callable[..., Any],
    remove_orphans: Callable[..., Any],
    dataset_name: str = "",
) -> dict[str, Any]:
    """Run the policy's steps with the given callables (a dataset's ``compact_dataset``,
    ``expire_snapshots`` and ``remove_orphan_files``): compaction first, so the expiry that
    follows deletes the files it replaced. A step that fails is reported and the next one
    runs, whatever the failure (an unexpected one is logged with ``dataset_name``). Returns
    each step's result (``to_dict()``) or ``{"error": …}``, by step."""
    calls: dict[str, Callable[[], Any]] = {
        "compaction": lambda: compact(
            target_file_bytes=policy.target_file_bytes,
            min_input_files=policy.min_input_files,
        ),
        "expiry": lambda: expire(
            older_than=policy.expire_older_than, retain_last=policy.retain_last
        ),
        "orphanRemoval": lambda: remove_orphans(older_than=policy.remove_orphans_older_than),
    }
    report: dict[str, Any] = {}
    for step in policy.steps():
        try:
            report[step] = calls[step]().to_dict()
        except LakefeedError as exc:
            report[step] = {"error": exc.to_dict()}
        except Exception as exc:  # a broken table: the other steps and datasets still run
            log.exception("dataset %s: maintenance step %s failed", dataset_name, step)
            report[step] = {"error": _unexpected(step, dataset_name, exc).to_dict()}
    return report


def _unexpected(step: str, dataset_name: str, exc: Exception) -> InternalError:
    # The type only: the exception's text may quote a storage request (the log has it all).
    return InternalError(
        f"Maintenance step {step} of dataset {dataset_name!r} failed unexpectedly "
        f"({type(exc).__name__}).",
        fix="See the log (lakefeed.maintenance) for the traceback; check the table's files "
        "(a data file missing after a restore?).",
    )


def _duration(doc: Mapping[str, Any], key: str) -> timedelta | None:
    value = doc[key]
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{key!r} must be a duration such as '7d'")
    return parse_duration(value, repr(key))


def _invalid(problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"The maintenance settings {problem}.",
        fix="Give a JSON object of: every (e.g. '1d'), compact (true), targetFileSize "
        "('128MiB'), minInputFiles (5), expireOlderThan ('7d'), retainLast (1), "
        "removeOrphansOlderThan ('3d'); {} turns scheduled maintenance off.",
    )
