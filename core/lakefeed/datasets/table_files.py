"""The files of an Iceberg table: those its metadata references, and those its location holds.

Snapshot expiry deletes what only the expired snapshots referenced; orphan removal deletes what
nothing references. Both compare locations, so they are normalised first (``/x``, ``file:/x``
and ``file:///x`` are one file). Listing goes through the table's own FileIO (its pyarrow or
fsspec filesystem, with the warehouse's credentials), so an object-store warehouse is listed
as a local one is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class StoredFile:
    """A file under a table's location: its location as the table's FileIO names it."""

    location: str
    size: int
    modified: datetime | None  # None when the store does not say: never old enough to delete


def normalised(location: str) -> str:
    """One spelling per file: ``file:///abs/path`` for local ones, ``scheme://bucket/key``
    for the others."""
    parsed = urlparse(location)
    if not parsed.scheme or parsed.scheme == "file" or len(parsed.scheme) == 1:  # C:\ too
        path = unquote(parsed.path) if parsed.scheme == "file" else location
        return "file://" + os.path.normpath(os.path.abspath(path))
    scheme = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}.get(parsed.scheme, parsed.scheme)
    return f"{scheme}://{parsed.netloc}{parsed.path}"


def referenced_files(metadata: Any, io: Any, snapshots: Iterable[Any] | None = None) -> set[str]:
    """The files of ``snapshots`` (default: every snapshot ``metadata`` keeps)."""
    files: set[str] = set()
    manifests_seen: set[str] = set()
    for snapshot in metadata.snapshots if snapshots is None else snapshots:
        files.add(normalised(snapshot.manifest_list))
        for manifest in snapshot.manifests(io):
            path = normalised(manifest.manifest_path)
            files.add(path)
            if path in manifests_seen:  # shared by many snapshots: read once
                continue
            manifests_seen.add(path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=True):
                files.add(normalised(entry.data_file.file_path))
    return files


def metadata_references(table: Any) -> set[str]:
    """Every file the table's metadata references: the current metadata file and those in its
    log, statistics files, and every snapshot's files."""
    metadata = table.metadata
    files = referenced_files(metadata, table.io)
    files.add(normalised(table.metadata_location))
    files.update(normalised(log.metadata_file) for log in metadata.metadata_log)
    for statistics in (*metadata.statistics, *metadata.partition_statistics):
        files.add(normalised(statistics.statistics_path))
    return files


def list_files(io: Any, location: str) -> Iterator[StoredFile]:
    """Every file under ``location`` (a folder), through ``io``: a pyiceberg ``PyArrowFileIO``
    or ``FsspecFileIO``."""
    root = location.rstrip("/")
    if hasattr(io, "fs_by_scheme"):
        yield from _list_pyarrow(io, root)
    elif hasattr(io, "get_fs"):
        yield from _list_fsspec(io, root)
    else:
        raise TypeError(f"Cannot list files through {type(io).__name__}")


def _list_pyarrow(io: Any, root: str) -> Iterator[StoredFile]:
    from pyarrow import fs as pafs

    scheme, netloc, path = io.parse_location(root, io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        location = f"file://{info.path}" if scheme == "file" else f"{scheme}://{info.path}"
        yield StoredFile(location, int(info.size or 0), _utc(info.mtime))


def _list_fsspec(io: Any, root: str) -> Iterator[StoredFile]:
    parsed = urlparse(root)
    scheme = parsed.scheme if parsed.scheme and len(parsed.scheme) > 1 else "file"
    filesystem = io.get_fs(scheme, parsed.hostname)
    path = unquote(parsed.path) if scheme == "file" else f"{parsed.netloc}{parsed.path}"
    if not filesystem.exists(path):
        return
    # Names come back as the filesystem spells them (adlfs drops abfs's "@account host"):
    # under the root, they are given the root's own spelling, as the table's metadata has it.
    stripped = filesystem._strip_protocol(root).rstrip("/") if scheme != "file" else None
    for name, info in filesystem.find(path, detail=True).items():
        if info.get("type", "file") != "file":
            continue
        if stripped is not None and name.startswith(stripped + "/"):
            location = root + name[len(stripped) :]
        else:
            location = f"file://{name}" if scheme == "file" else f"{scheme}://{name}"
        modified = None
        for key in ("mtime", "LastModified", "last_modified", "updated", "modified"):
            if info.get(key) is not None:
                modified = _utc(info[key])
                break
        yield StoredFile(location, int(info.get("size") or 0), modified)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def delete_files(io: Any, locations: Iterable[str]) -> tuple[int, list[str]]:
    """Delete each file through ``io``; returns how many went and the locations that could not
    be deleted (a file already gone counts as deleted)."""
    deleted, failed = 0, []
    for location in locations:
        try:
            io.delete(location)
        except FileNotFoundError:
            pass
        except Exception:
            failed.append(location)
            continue
        deleted += 1
    return deleted, failed
