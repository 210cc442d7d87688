"""``ObjectStoreSource``: listing for ``bucket/key`` stores, one page of keys at a time.

fsspec's object-store filesystems build a folder's whole listing before returning it; for a
folder of millions of files that is the whole folder in memory. Backends whose API pages
(S3 ListObjectsV2, Azure List Blobs, GCS objects.list) subclass this and implement three
small methods; memory then stays at one page however large the folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lakefeed.specs import Param
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.listing import glob_selects, split_glob
from lakefeed.storage.source import SourceType

PAGE_SIZE = 1000
#: Reads in flight at once while inspecting files, per connection (the object stores' auth
#: specs take it; :attr:`lakefeed.storage.session.StorageSession.read_concurrency`).
MAX_READS_PARAM = Param(
    "maxConcurrentReads",
    "Concurrent reads",
    "Requests in flight at once while reading file footers (default 32, at most 256); lower "
    "it for a store that throttles, raise it for a distant one.",
    type="integer",
    minimum=1,
)


class ObjectStoreSource(SourceType):
    """A SourceType whose paths are ``bucket/key`` and whose listings come in pages."""

    #: footers are read on threads that each wait for one request (pinned reads)
    read_concurrency = 32

    def head(self, fs: Any, bucket: str, key: str) -> FileEntry | None:
        """The object ``key`` in ``bucket``, or None when there is none."""
        raise NotImplementedError

    def pages(self, fs: Any, bucket: str, prefix: str, *, recursive: bool) -> Iterator[FileEntry]:
        """Objects under ``prefix`` (all levels, or one level when not ``recursive``), fetched
        one page at a time; folder marker objects (keys ending in '/') are skipped."""
        raise NotImplementedError

    def prefix_exists(self, fs: Any, bucket: str, prefix: str) -> bool:
        """Whether any object, a folder marker included, starts with ``prefix``."""
        raise NotImplementedError

    def stat(self, fs: Any, entry: FileEntry) -> FileEntry | None:
        bucket, _, key = entry.path.strip("/").partition("/")
        return self.head(fs, bucket, key)

    def list_files(self, fs: Any, path: str, *, recursive: bool) -> Iterator[FileEntry]:
        base, pattern = split_glob(path)
        bucket, _, key = base.strip("/").partition("/")
        if not bucket:
            # The top level lists buckets, which are folders: the shared walk handles them.
            yield from super().list_files(fs, path, recursive=recursive)
            return
        if pattern is None and key:
            single = self.head(fs, bucket, key)
            if single is not None:
                yield single
                return
        prefix = f"{key}/" if key else ""
        found = False
        for entry in self.pages(fs, bucket, prefix, recursive=recursive):
            found = True
            if pattern is None or glob_selects(entry, base, pattern, recursive=recursive):
                yield entry
        if not found and key and not self.prefix_exists(fs, bucket, prefix):
            raise FileNotFoundError(f"{bucket}/{key}")
