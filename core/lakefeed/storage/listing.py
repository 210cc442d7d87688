"""Listing a path (file, folder, or ``*`` glob in the last component) into FileEntries.

A glob matches file names in its folder; with ``recursive``, file names at every depth and
paths below its folder too (:func:`glob_selects`).

Listing is a generator that walks one directory at a time, so memory is bounded by the
largest single directory, never by the whole tree. Object stores with paged listings (S3,
Azure, GCS) use :mod:`lakefeed.storage.object_store` instead, bounded by one page; SFTP streams
directories through paramiko's ``listdir_iter``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Any

from lakefeed.storage.entries import FileEntry

#: Only ``*`` and ``?`` make a glob: ``[`` is common in real file names ("export [1].parquet").
GLOB_CHARS = "*?"


def split_glob(path: str) -> tuple[str, str | None]:
    """``"dir/*.parquet"`` → ``("dir", "*.parquet")``; a path without a glob → ``(path, None)``."""
    parent, _, last = path.rstrip("/").rpartition("/")
    if any(c in parent for c in GLOB_CHARS):
        raise ValueError(f"a glob is allowed only in the last path component: {path!r}")
    if any(c in last for c in GLOB_CHARS):
        return parent, last
    return path, None


def matches(name: str, pattern: str) -> bool:
    """``*`` and ``?`` globbing; every other character, ``[`` included, is literal."""
    return fnmatch.fnmatchcase(name, pattern.replace("[", "[[]"))


def has_glob(path: str) -> bool:
    """Whether ``path`` holds a glob (``*`` or ``?``) in its last component."""
    return any(c in path.rstrip("/").rpartition("/")[2] for c in GLOB_CHARS)


def glob_selects(entry: FileEntry, base: str, pattern: str, *, recursive: bool) -> bool:
    """Whether the glob ``base/pattern`` names a listed file: when its name matches; and with
    ``recursive`` also when its path below ``base`` matches, ``*`` then spanning folders, so
    ``2026-11-*.parquet`` takes ``2026-11-27/orders-0.parquet`` as well as
    ``old/2026-11-30.parquet``."""
    if matches(entry.name, pattern):
        return True
    if not recursive:
        return False
    prefix, below = base.strip("/"), entry.path.strip("/")
    if prefix:
        if not below.startswith(f"{prefix}/"):
            return False
        below = below[len(prefix) + 1 :]
    return matches(below, pattern)


def is_file_info(info: dict[str, Any]) -> bool:
    # Object stores show "folder/" marker objects as zero-byte files; they are not data.
    return info.get("type") == "file" and not str(info.get("name", "")).endswith("/")


def walk_files(
    fs: Any,
    path: str,
    *,
    recursive: bool,
    to_entry: Callable[[dict[str, Any]], FileEntry],
) -> Iterator[FileEntry]:
    """Yield every file under directory ``path`` (one level unless ``recursive``), sorted per
    directory, using ``fs.walk`` so only one directory listing is held at a time."""
    for _dirpath, _dirs, files in fs.walk(path, maxdepth=None if recursive else 1, detail=True):
        for name in sorted(files):
            info = files[name]
            if is_file_info(info):
                yield to_entry(info)


def list_path(
    fs: Any,
    path: str,
    *,
    recursive: bool,
    to_entry: Callable[[dict[str, Any]], FileEntry],
    walk: Callable[..., Iterator[FileEntry]] = walk_files,
) -> Iterator[FileEntry]:
    """List ``path``: a single file, a directory, or a glob over the last component."""
    base, pattern = split_glob(path)
    if pattern is not None:
        if not fs.isdir(base):  # same answer on every backend: a missing folder is an error
            raise FileNotFoundError(base)
        for entry in walk(fs, base, recursive=recursive, to_entry=to_entry):
            if glob_selects(entry, base, pattern, recursive=recursive):
                yield entry
        return
    info = fs.info(path)
    if is_file_info(info):
        yield to_entry(info)
        return
    yield from walk(fs, path, recursive=recursive, to_entry=to_entry)
