"""Symbolic links on a local disk, seen from a connection's root folder.

A link is followed when its target, every link resolved, lies inside the connection's root
folder: it is listed, explored and read like the file or folder it points to. A link that
leads outside the root (or nowhere) is still listed in folders — as a file, so a run reports
it — but reading it fails with an error naming the link (:class:`lakefeed.errors.LinkOutsideRoot`,
or ``StorageNotFound`` for a dangling link), never fatal for the other files. Where a refused
link leads is never said.

Listing walks folders itself (not ``fsspec``'s ``walk``, which follows linked folders into
loops): a linked folder whose target lies inside the folder being listed is left to the walk,
which reaches it by its own path, and no folder is walked twice, so loops end and nothing is
listed twice.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

from fsspec.implementations.local import LocalFileSystem

from lakefeed.errors import LinkOutsideRoot, StorageNotFound
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.listing import is_file_info


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive (Windows)
        return False


class RootedLocalFileSystem(LocalFileSystem):
    """The local disk as one local-files connection sees it: links followed inside ``root``
    only. Instances are cached per root, as fsspec caches filesystems per arguments."""

    def __init__(self, root: str = "/", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lakefeed_root = os.path.normpath(os.path.abspath(root))

    @property
    def real_root(self) -> str:
        return os.path.realpath(self.lakefeed_root)

    def refusal(self, path: str) -> str | None:
        """``outside`` for a link (or a path under the root through one) that leads outside
        the root, ``dangling`` for a link to nothing, None for anything else."""
        real = os.path.realpath(path)
        is_link = os.path.islink(path)
        if _inside(real, self.real_root):
            return "dangling" if is_link and not os.path.exists(real) else None
        if is_link or _inside(os.path.normpath(os.path.abspath(path)), self.lakefeed_root):
            # An absolute path outside the root that is no link stays readable, as before.
            return "outside" if os.path.exists(real) or not is_link else "dangling"
        return None

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        listed = isinstance(path, os.DirEntry)
        if listed:
            if not path.is_symlink():
                return dict(super().info(path, **kwargs))  # listed from a folder already vetted
            path = path.path
        name = self._strip_protocol(path)
        refusal = self.refusal(name)
        if refusal is None or (refusal == "dangling" and not listed):
            # A path, not a DirEntry: links are followed, and a path named that leads nowhere
            # fails as a missing path (or a loop of links) does.
            return dict(super().info(name, **kwargs))
        own = os.lstat(name)
        return {
            "name": name,
            "size": 0,
            "type": "file",
            "created": own.st_ctime,
            "islink": stat.S_ISLNK(own.st_mode),
            "mtime": own.st_mtime,
        }

    def ls(self, path: Any, detail: bool = False, **kwargs: Any) -> list[Any]:
        self.check_readable(self._strip_protocol(path))
        return list(super().ls(path, detail=detail, **kwargs))

    def check_readable(self, path: str) -> None:
        """Raise for a refused link, naming the link and not its target."""
        refusal = self.refusal(path)
        if refusal == "outside":
            raise LinkOutsideRoot(
                f"{path!r} is, or goes through, a symbolic link that leads outside the "
                f"connection's root folder {self.lakefeed_root!r}: links are followed only to "
                "files and folders inside it.",
                fix="Point the link inside the root folder, or give the connection a rootPath "
                "that contains its target.",
            )
        if refusal == "dangling":
            raise StorageNotFound(
                f"{path!r} is a symbolic link that leads nowhere: its target does not exist, "
                "or links to itself through other links.",
                fix="Point the link at an existing file, or remove it.",
            )


def walk_following_links(
    fs: RootedLocalFileSystem,
    path: str,
    *,
    recursive: bool,
    to_entry: Callable[[dict[str, Any]], FileEntry],
) -> Iterator[FileEntry]:
    """Every file under folder ``path`` (one level unless ``recursive``), sorted per folder,
    links followed as :class:`RootedLocalFileSystem` allows; one folder listing held at a
    time, plus the identity of every folder walked (so none is walked twice)."""
    top_real = os.path.realpath(path)
    walked: set[tuple[int, int]] = set()
    pending = [path]
    first = True
    while pending:
        folder = pending.pop()
        try:
            own = os.stat(folder)
            if (own.st_dev, own.st_ino) in walked:
                continue  # reached again through a link: a loop, or a second name
            walked.add((own.st_dev, own.st_ino))
            with os.scandir(folder) as listing:
                infos = [info for item in listing if (info := _info(fs, item)) is not None]
        except OSError:
            if first:
                raise
            continue  # a sub-folder that cannot be listed is left out, as fsspec's walk does
        first = False
        for info in sorted((i for i in infos if is_file_info(i)), key=lambda i: i["name"]):
            yield to_entry(info)
        if not recursive:
            return
        folders = [
            info["name"]
            for info in infos
            if info["type"] == "directory"
            # A linked folder inside the listed one is walked by its own path instead.
            and not (info["islink"] and _inside(os.path.realpath(info["name"]), top_real))
        ]
        pending.extend(sorted(folders, reverse=True))


def _info(fs: RootedLocalFileSystem, item: os.DirEntry[str]) -> dict[str, Any] | None:
    try:
        return fs.info(item)
    except FileNotFoundError:
        return None  # deleted since the folder was read
