"""``FlowPlan``: which files a run takes, and why the others are left alone. Runs and the
backlog's discovery plan the same way (:func:`plan_run`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.ledger import identity_key
from lakefeed.schedules.windows import Window
from lakefeed.storage.entries import FileEntry

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow, SourceConnection
    from lakefeed.flows.context import RunContext
    from lakefeed.storage.session import StorageSession


def is_data_file(entry: FileEntry) -> bool:
    """Files named ``_*`` or ``.*`` (``_SUCCESS``, ``.crc``, in-progress uploads) are markers,
    not data: the Hadoop/Spark convention every writer of Parquet folders follows."""
    return not entry.name.startswith(("_", "."))


def source_files(session: StorageSession, source: SourceConnection) -> Iterator[FileEntry]:
    """The files a source connection reads: those at its path (recursively if it says so)
    whose names end with its ``params.fileExtension``, when it has one."""
    for entry in session.ls(source.path, recursive=source.recursive):
        if source.selects(entry.name):
            yield entry


@dataclass
class FlowPlan:
    take: list[FileEntry] = field(default_factory=list)
    already_ingested: list[FileEntry] = field(default_factory=list)
    failed_before: list[FileEntry] = field(default_factory=list)  # failed for good: not skipped
    before_start: list[FileEntry] = field(default_factory=list)  # backfill false
    outside_window: list[FileEntry] = field(default_factory=list)  # on-demand window
    ignored: list[FileEntry] = field(default_factory=list)  # marker files

    @property
    def skipped(self) -> int:
        return len(self.already_ingested) + len(self.before_start) + len(self.outside_window)

    @classmethod
    def build(
        cls,
        entries: Iterable[FileEntry],
        *,
        ledgered: Collection[str],
        backfill: bool,
        start_time: int,
        window: Window | None = None,
        failed: Collection[str] = frozenset(),
        keys: Sequence[str] | None = None,
    ) -> FlowPlan:
        """Drop what the ledger holds (``ledgered``; ``failed``, identities that failed for
        good, are kept apart: they are reported as such, not as skipped); with ``backfill``
        false, drop files last modified before the flow's ``start_time`` (epoch seconds); with
        a ``window``, drop files last modified outside it (its end second included). Files
        without a modification time are taken: there is no way to know they are old.
        ``keys``: the entries' identity keys, when the caller has them already."""
        plan = cls()
        entries = list(entries)
        identities = keys if keys is not None else [identity_key(e) for e in entries]
        start = datetime.fromtimestamp(start_time, tz=UTC)
        low: datetime | None = None
        high: datetime | None = None
        if window is not None:
            low = datetime.fromtimestamp(window.start or 0, tz=UTC)
            high = datetime.fromtimestamp(window.end + 1, tz=UTC)
        for entry, identity in zip(entries, identities, strict=True):
            if not is_data_file(entry):
                plan.ignored.append(entry)
            elif identity in ledgered:
                plan.already_ingested.append(entry)
            elif identity in failed:
                plan.failed_before.append(entry)
            elif not backfill and entry.mtime is not None and entry.mtime < start:
                plan.before_start.append(entry)
            elif (
                low is not None
                and high is not None
                and entry.mtime is not None
                and not low <= entry.mtime < high
            ):
                plan.outside_window.append(entry)
            else:
                plan.take.append(entry)
        return plan


def plan_run(
    ctx: RunContext,
    flow: Flow,
    listed: Iterable[FileEntry],
    *,
    window: Window | None = None,
    retry_failed: bool = False,
) -> tuple[FlowPlan, Mapping[str, Mapping[str, Any]]]:
    """Plan ``flow``'s next run over the files ``listed`` from its source: the plan, and the
    errors of the file versions that failed for good before (by identity key), which the plan
    keeps apart unless ``retry_failed``."""
    entries = list(listed)
    keys = [identity_key(e) for e in entries]  # hashed once: a no-op run's main own cost
    known = ctx.ledger.lookup(flow.id, keys)
    failed = {} if retry_failed else known.failed
    schedule = flow.schedule
    plan = FlowPlan.build(
        entries,
        ledgered=known.committed,
        failed=failed.keys(),
        backfill=schedule.backfill,
        start_time=schedule.start_time,
        window=window,
        keys=keys,
    )
    return plan, failed
