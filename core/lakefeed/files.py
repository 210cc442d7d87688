"""``FileEntry``: one file as every backend lists it, and what formats and storage share of it.

It sits below both :mod:`lakefeed.storage` (which lists and reads files) and
:mod:`lakefeed.formats` (which makes sense of their bytes), so neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
