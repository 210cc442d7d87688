"""Table maintenance: snapshot expiry and orphan-file removal (compaction is in
:mod:`.compaction`), with the duration and size notations the CLI and settings use.

**Expiry** removes snapshots older than a retention from the table's metadata, then deletes the
files only they referenced (manifest lists, manifests, data files that a compaction replaced).
It never removes the current snapshot, nor the ``retain_last`` newest of the current history,
nor a branch or tag head, nor the snapshot of a batch whose run has not settled yet: recovery
looks a batch's snapshot up (``lakefeed.batch-id``) to decide whether it committed, and a run
that stopped after its commit must still find it. Batches already settled are never looked up
again, so their snapshots may go.

**Orphan removal** deletes files under the table's location that its metadata does not
reference, once they are older than a retention: a run or a compaction writes its files before
it commits them, and the retention is what keeps those safe; the data folders of batches still
loading are skipped whatever their age. The retention is at least
:data:`MIN_ORPHAN_OLDER_THAN` (24 hours, as Iceberg's Spark procedure enforces) unless
``force`` is given, which is safe only while no run or compaction writes to the table.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lakefeed.datasets.iceberg import BATCH_PROPERTY
from lakefeed.datasets.table_files import (
    delete_files,
    list_files,
    metadata_references,
    normalised,
    referenced_files,
)
from lakefeed.errors import DatasetError, InvalidRequest, MaintenanceConflict

DEFAULT_EXPIRE_OLDER_THAN = "7d"
DEFAULT_RETAIN_LAST = 1
DEFAULT_ORPHAN_OLDER_THAN = "3d"
#: The shortest orphan retention without ``force``: a compaction's new files are protected by
#: nothing else until it commits.
MIN_ORPHAN_OLDER_THAN = timedelta(hours=24)
#: The longest duration accepted (longer ones overflow the dates they are subtracted from).
MAX_DURATION = timedelta(days=3650)
#: Commits of one expiry (the metadata is read again before each).
COMMIT_ATTEMPTS = 5

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_duration(text: str | timedelta, option: str = "--older-than") -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` (``s`` seconds too) as a :class:`timedelta`, at most
    :data:`MAX_DURATION`."""
    if isinstance(text, timedelta):
        duration = text
    else:
        match = _DURATION.match(text or "")
        if match is None:
            raise InvalidRequest(
                f"{option} {text[:40]!r} is not a duration.",
                fix="Write a whole number and a unit: 90s, 30m, 12h, 7d or 2w.",
            )
        seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
        # Clipped just past the maximum: a timedelta of 10**20 seconds overflows.
        duration = timedelta(seconds=min(seconds, MAX_DURATION.total_seconds() + 1))
    if duration > MAX_DURATION:
        raise InvalidRequest(
            f"{option} {str(text)[:40]!r} is longer than the maximum of 3650d (10 years).",
            fix="Give a duration of at most 3650d.",
        )
    return duration


def parse_size(text: str | int, option: str = "--target-file-size") -> int:
    """``128MiB``, ``64MB``, ``1GiB``, ``512KiB`` or a number of bytes, as bytes (at least 1)."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE.match(text or "")
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _SIZE_UNITS:
            raise InvalidRequest(
                f"{option} {text[:40]!r} is not a size.",
                fix="Write a number and a unit: 128MiB, 64MB, 1GiB (or bytes).",
            )
        value = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if value < 1:
        raise InvalidRequest(f"{option} must be at least 1 byte.", fix="Give e.g. 128MiB.")
    return value


@dataclass(frozen=True)
class ExpiryResult:
    """Snapshots expired (or, with ``dry_run``, those that would be) and the files they alone
    referenced, deleted (or to delete)."""

    expired_snapshots: list[int]
    kept_snapshots: int
    deleted_files: int
    failed_files: list[str] = field(default_factory=list)  # could not be deleted: orphans now
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "expiredSnapshots": self.expired_snapshots,
            "keptSnapshots": self.kept_snapshots,
            "deletedFiles": self.deleted_files,
            "failedFiles": self.failed_files,
            "dryRun": self.dry_run,
        }


@dataclass(frozen=True)
class OrphanResult:
    """Files under the table's location no metadata references, older than the retention:
    deleted (or, with ``dry_run``, to delete)."""

    orphans: list[str]
    orphan_bytes: int
    kept_recent: int  # unreferenced but within the retention, or in a loading batch's folder
    failed_files: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "orphanFiles": self.orphans,
            "orphanBytes": self.orphan_bytes,
            "keptRecentFiles": self.kept_recent,
            "failedFiles": self.failed_files,
            "dryRun": self.dry_run,
        }


def expirable_snapshots(
    metadata: Any,
    *,
    older_than_ms: int,
    retain_last: int,
    protected_batches: Collection[str] = (),
) -> list[int]:
    """Ids of the snapshots of ``metadata`` taken before ``older_than_ms`` (epoch ms) that
    neither are the current one or among its ``retain_last - 1`` newest ancestors, nor head a
    branch or tag, nor committed a batch of ``protected_batches``."""
    keep: set[int] = {ref.snapshot_id for ref in metadata.refs.values()}
    snapshot = metadata.current_snapshot()
    for _ in range(max(retain_last, 1)):
        if snapshot is None:
            break
        keep.add(snapshot.snapshot_id)
        parent = snapshot.parent_snapshot_id
        snapshot = None if parent is None else metadata.snapshot_by_id(parent)
    return [
        s.snapshot_id
        for s in metadata.snapshots
        if s.snapshot_id not in keep
        and s.timestamp_ms < older_than_ms
        and (s.summary is None or s.summary.get(BATCH_PROPERTY) not in protected_batches)
    ]


def expire_snapshots(
    table: Any,
    *,
    older_than: timedelta,
    retain_last: int = DEFAULT_RETAIN_LAST,
    protected_batches: Collection[str] = (),
    dry_run: bool = False,
    now: datetime | None = None,
) -> ExpiryResult:
    """Expire the table's snapshots older than ``older_than`` (see :func:`expirable_snapshots`),
    then delete the files only they referenced."""
    from pyiceberg.exceptions import CommitFailedException

    if retain_last < 1:
        raise InvalidRequest(
            "--retain-last must be at least 1: the current snapshot always stays.",
            fix="Give --retain-last 1 or more.",
        )
    cutoff = int(((now or datetime.now(UTC)) - older_than).timestamp() * 1000)
    for attempt in range(COMMIT_ATTEMPTS):
        table.refresh()
        metadata = table.metadata
        chosen = expirable_snapshots(
            metadata,
            older_than_ms=cutoff,
            retain_last=retain_last,
            protected_batches=set(protected_batches),
        )
        kept = len(metadata.snapshots) - len(chosen)
        if not chosen:
            return ExpiryResult([], kept, 0, dry_run=dry_run)
        expired = [metadata.snapshot_by_id(i) for i in chosen]
        if dry_run:
            others = [s for s in metadata.snapshots if s.snapshot_id not in set(chosen)]
            doomed = _only_in(table.io, metadata, expired, others)
            return ExpiryResult(chosen, kept, len(doomed), dry_run=True)
        try:
            table.maintenance.expire_snapshots().by_ids(chosen).commit()
            break
        except CommitFailedException as exc:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise MaintenanceConflict(
                    "Snapshot expiry could not commit: other commits kept changing the table "
                    f"({exc}). Nothing changed.",
                    fix="Run it again when fewer runs write to the dataset.",
                ) from exc
            time.sleep(0.05 * 2**attempt)  # backoff between commits
    table.refresh()  # the files of every snapshot kept, commits since included
    doomed = _only_in(table.io, table.metadata, expired, table.metadata.snapshots)
    deleted, failed = delete_files(table.io, sorted(doomed))
    return ExpiryResult(chosen, len(table.metadata.snapshots), deleted, failed)


def check_orphan_retention(older_than: timedelta, *, force: bool = False) -> None:
    """:class:`InvalidRequest` for an orphan retention below :data:`MIN_ORPHAN_OLDER_THAN`
    (unless ``force``): a shorter one deletes the uncommitted files of a compaction."""
    if older_than < MIN_ORPHAN_OLDER_THAN and not force:
        raise InvalidRequest(
            f"An orphan retention of {older_than} is below the minimum of 24h: files a "
            "compaction or run has written but not yet committed would be deleted.",
            fix="Give --older-than 24h or more (default 3d); --force (force=True) allows "
            "less, only when no run or compaction is in progress on the dataset.",
        )


def _only_in(io: Any, metadata: Any, expired: Iterable[Any], kept: Iterable[Any]) -> set[str]:
    """Files the ``expired`` snapshots reference and no ``kept`` one does."""
    return referenced_files(metadata, io, expired) - referenced_files(metadata, io, kept)


def remove_orphan_files(
    table: Any,
    *,
    older_than: timedelta,
    protected_prefixes: Iterable[str] = (),
    dry_run: bool = False,
    force: bool = False,
    now: datetime | None = None,
) -> OrphanResult:
    """Delete the files under the table's location that its metadata does not reference and
    that were last modified before ``older_than`` ago; files under ``protected_prefixes`` (the
    data folders of batches still loading) are kept whatever their age. A retention below
    :data:`MIN_ORPHAN_OLDER_THAN` is refused unless ``force`` (dangerous: it deletes the files
    of a compaction or run in progress)."""
    check_orphan_retention(older_than, force=force)
    cutoff = (now or datetime.now(UTC)) - older_than
    protected = tuple(normalised(p).rstrip("/") + "/" for p in protected_prefixes)
    table.refresh()
    referenced = metadata_references(table)  # read before listing: what is listed is older
    current = normalised(table.metadata_location)
    candidates, kept_recent, listed_current = [], 0, False
    for stored in list_files(table.io, table.location()):
        location = normalised(stored.location)
        listed_current = listed_current or location == current
        if location in referenced:
            continue
        if location.startswith(protected) or stored.modified is None or stored.modified >= cutoff:
            kept_recent += 1
            continue
        candidates.append(stored)
    if not listed_current:
        # The listing names files otherwise than the metadata does (or misses them): every
        # file would look unreferenced. Delete nothing rather than the table.
        raise DatasetError(
            f"Listing the location of table {'.'.join(table.name())} did not find its current "
            f"metadata file {table.metadata_location}: nothing was removed.",
            fix="Check the warehouse (LAKEFEED_WAREHOUSE) and its credentials; report this "
            "if the file is there.",
        )
    # Read the references again: a commit since the listing may have taken one of them (only a
    # writer that held its files past the retention could, but it costs one metadata read).
    table.refresh()
    referenced = metadata_references(table)
    orphans = [f for f in candidates if normalised(f.location) not in referenced]
    locations = [f.location for f in orphans]
    size = sum(f.size for f in orphans)
    if dry_run:
        return OrphanResult(locations, size, kept_recent, dry_run=True)
    _, failed = delete_files(table.io, locations)
    return OrphanResult(locations, size, kept_recent, failed)
