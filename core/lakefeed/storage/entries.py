"""``FileEntry``: one file as every backend lists it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file in a storage backend.

    ``path`` is the filesystem path lakefeed reads (``bucket/key`` on object stores, an absolute
    path on local disks and SFTP). ``etag`` and ``version`` are what the backend offers to tell
    file versions apart (S3 ETag, Azure etag and version id, GCS generation); ``None`` where it
    has none. :attr:`identity` is what the ingestion ledger keys on.
    """

    path: str
    size: int
    mtime: datetime | None = None
    etag: str | None = None
    version: str | None = None

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def identity(self) -> tuple[str, str | None, str | None, int, str | None]:
        mtime = self.mtime.isoformat() if self.mtime else None
        return (self.path, self.etag, self.version, self.size, mtime)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "size": self.size,
            "mtime": self.mtime.isoformat() if self.mtime else None,
            "etag": self.etag,
            "version": self.version,
        }


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
