"""Listing into :class:`FileEntry`: modification times and fsspec ``info`` dicts of any backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lakefeed.files import FileEntry


def to_utc(value: Any) -> datetime | None:
    """Normalise the many shapes of a modification time (datetime, epoch, ISO text) to UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        try:
            return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


_MTIME_KEYS = ("LastModified", "last_modified", "mtime", "updated", "time", "created")
_ETAG_KEYS = ("ETag", "etag", "md5Hash")
_VERSION_KEYS = ("VersionId", "version_id", "generation")


def entry_from_info(info: dict[str, Any]) -> FileEntry:
    """Build a FileEntry from an fsspec ``info``/``ls(detail=True)`` dict of any backend."""

    def first(keys: tuple[str, ...]) -> Any:
        return next((info[k] for k in keys if info.get(k) not in (None, "")), None)

    etag = first(_ETAG_KEYS)
    version = first(_VERSION_KEYS)
    return FileEntry(
        path=str(info["name"]),
        size=int(info.get("size") or 0),
        mtime=to_utc(first(_MTIME_KEYS)),
        etag=str(etag).strip('"') if etag is not None else None,
        version=str(version) if version is not None else None,
    )


__all__ = ["FileEntry", "entry_from_info", "to_utc"]
