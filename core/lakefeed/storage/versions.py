"""Reading exactly the file version a listing saw.

The ledger records a file version by its identity (:attr:`FileEntry.identity`), so nothing may
be committed under an identity its content does not have. Backends that can pin a read to a
version do (S3 ``VersionId``/``If-Match``, GCS generation, Azure ``If-Match``); for the others
lakefeed re-stats the file after reading it. Either way a file that is no longer its
listed version is :class:`FileChangedWhileReading`, and the next run takes its new version.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from lakefeed.errors import FileChangedWhileReading, LakefeedError, StorageUnreachable
from lakefeed.storage.entries import FileEntry

#: Bytes fetched per request when a pinned file is read (fewer if the file is smaller).
READ_BLOCK_SIZE = 32 * 2**20
#: Tries of one ranged read that broke on the way: a reset, a body cut short, a 5xx.
READ_ATTEMPTS = 4
#: Seconds before the second try; doubled for each further one.
READ_BACKOFF = 0.2


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


def read_retrying(
    entry: FileEntry, start: int, end: int, read: Callable[[int, int], bytes]
) -> bytes:
    """``read(start, end)``, tried again when the transfer broke: a connection reset, a 5xx, or
    a body shorter than the range (a response cut short). Vendor clients retry a request that
    fails before its body, not a body that breaks while it streams; such a break is not the
    file's fault, so one run should not fail the file for it. Timeouts are not tried again: the
    read timeout already bounds how long a stalled read may take."""
    expected = max(min(end, entry.size) - start, 0)
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            data = read(start, end)
        except Exception as exc:
            if attempt == READ_ATTEMPTS or not broken_transfer(exc):
                raise
        else:
            if len(data) == expected:
                return data
            if attempt == READ_ATTEMPTS:
                raise StorageUnreachable(
                    f"Reading bytes {start}-{end} of {entry.path!r} returned {len(data):,} of "
                    f"{expected:,} bytes, {READ_ATTEMPTS} times: the responses were cut short.",
                    fix="Retry later; check proxies or load balancers between lakefeed and "
                    "the storage.",
                )
        time.sleep(READ_BACKOFF * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def broken_transfer(exc: BaseException) -> bool:
    """Whether ``exc`` is a transfer that broke on the way (a reset, a body cut short, a
    5xx), worth reading again; not a timeout, nor an error lakefeed decided already."""
    from lakefeed.errors import StorageServerError
    from lakefeed.storage.errors import cause_chain, classify

    if isinstance(exc, LakefeedError):
        return False  # decided already (a changed file, a refused endpoint, …)
    if any(
        isinstance(e, socket.timeout | TimeoutError) or "Timeout" in type(e).__name__
        for e in cause_chain(exc)
    ):
        return False
    # Resets, bodies cut short (IncompleteRead, ClientPayloadError, …) and 5xx.
    return classify(exc) in (StorageUnreachable, StorageServerError)
