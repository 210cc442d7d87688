"""Reading exactly the file version a listing saw.

The ledger records a file version by its identity (:attr:`FileEntry.identity`), so nothing may
be committed under an identity its content does not have. Backends that can pin a read to a
version do (S3 ``VersionId``/``If-Match``, GCS generation, Azure ``If-Match``); for the others
lakefeed re-stats the file before and after reading it. Either way a file that is no longer its
listed version is :class:`FileChangedWhileReading`, and the next run takes its new version.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from lakefeed.errors import FileChangedWhileReading
from lakefeed.storage.entries import FileEntry

#: Bytes fetched per request when a pinned file is read (fewer if the file is smaller).
READ_BLOCK_SIZE = 32 * 2**20


def same_version(listed: FileEntry, current: FileEntry) -> bool:
    """Whether ``current`` (the file as it is now) is still the version ``listed`` names.

    Only what both report is compared: a HEAD may carry a version id, or a modification time
    to the second, that a listing did not. An etag or version decides; without one, the
    modification time does (local disks and SFTP).
    """
    if listed.size != current.size:
        return False
    decided = False
    for mine, theirs in ((listed.version, current.version), (listed.etag, current.etag)):
        if mine and theirs:
            if mine != theirs:
                return False
            decided = True
    if decided or listed.mtime is None or current.mtime is None:
        return True
    return listed.mtime == current.mtime


def changed_while_reading(
    listed: FileEntry, current: FileEntry | None = None
) -> FileChangedWhileReading:
    """The error for a file that is no longer the version ``listed`` (``current``: what it is
    now, when known)."""
    now = f", and is now {_describe(current)}" if current is not None else ""
    return FileChangedWhileReading(
        f"{listed.path!r} changed while it was being read: it was listed as "
        f"{_describe(listed)}{now}. This run does not ingest it.",
        fix=(
            "Nothing to do: the next run ingests the file's new version, once. To avoid it, "
            "write files under a name starting with '_' or '.' (ignored) and rename them when "
            "complete, instead of rewriting them in place."
        ),
    )


def _describe(entry: FileEntry) -> str:
    parts = [f"{entry.size:,} bytes"]
    if entry.mtime is not None:
        parts.append(f"modified {entry.mtime.isoformat()}")
    if entry.etag:
        parts.append(f"etag {entry.etag}")
    if entry.version:
        parts.append(f"version {entry.version}")
    return ", ".join(parts)


def version_file(fs: Any, entry: FileEntry, read_range: Callable[[int, int], bytes]) -> Any:
    """A read-only, seekable file over one version of one file: ``read_range(start, end)``
    returns its bytes ``[start, end)``, pinned by the backend. Reads are buffered in blocks of
    up to :data:`READ_BLOCK_SIZE`, ahead of where the reader is; the listed size is the
    version's size, so opening makes no request."""
    return _version_file_class()(
        fs, entry.path, "rb", block_size=READ_BLOCK_SIZE, size=entry.size, read_range=read_range
    )


@cache
def _version_file_class() -> type:
    from fsspec.spec import AbstractBufferedFile  # imported on first use: fsspec is not cheap

    class VersionFile(AbstractBufferedFile):
        def __init__(self, *args: Any, read_range: Callable[[int, int], bytes], **kw: Any):
            self.read_range = read_range
            super().__init__(*args, **kw)

        def _fetch_range(self, start: int, end: int) -> bytes:
            return self.read_range(start, end)

    return VersionFile
