"""Local files: the embedded default source (``file://``)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lakefeed import hookimpl
from lakefeed.errors import InvalidAuthParams, InvalidRequest, LakefeedError
from lakefeed.formats import FileFormat, InspectResult
from lakefeed.secrets import AuthParams
from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage import SourceType
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.listing import list_path

LOCAL_SPEC_ID = "6f1e7c2a-9b0d-4c53-8a2e-1d5f3c7b9e41"

SPEC = ConnectionSpec(
    id=LOCAL_SPEC_ID,
    name="local-files",
    label="Local files",
    description="Parquet files on a disk of the machine lakefeed runs on.",
    path_root="folder",
    documentation_link="docs/reference/plugins.md#local-files",
    auth_specs=(
        AuthSpec(
            name="Local Path",
            type="Local Path",
            description="No credentials: the files are read with lakefeed's own permissions.",
            params=(
                Param(
                    "rootPath",
                    "Root folder",
                    "Absolute folder that relative paths start from; absolute paths work anywhere.",
                    default="/",
                ),
            ),
        ),
    ),
)


class LocalFiles(SourceType):
    spec = SPEC
    reads_local_paths = True  # the server's disk: confined to LAKEFEED_LOCAL_ROOTS over REST

    def filesystem(self, auth: AuthParams) -> Any:
        from lakefeed_local.links import RootedLocalFileSystem

        return RootedLocalFileSystem(root=self.root(auth, None))

    def check_params(self, auth: AuthParams) -> None:
        root = os.path.expanduser(str(auth.get("rootPath") or "/"))
        if not os.path.isabs(root):
            raise InvalidAuthParams(
                f"rootPath {root!r} is relative; a stored connection must not depend on the "
                "directory it is used from.",
                # Not resolved against the working directory: over REST that is the server's.
                fix="Give an absolute path, starting with '/' (e.g. rootPath=/data/landing).",
            )

    def root(self, auth: AuthParams, fs: Any) -> str:
        return os.path.expanduser(str(auth.get("rootPath") or "/"))

    def resolve(self, auth: AuthParams, fs: Any, path: str) -> str:
        """As the shared rule, but a relative path may not climb out of the root with ``..``
        (absolute paths still work anywhere)."""
        resolved = super().resolve(auth, fs, path)
        if path.startswith("/") or "://" in path:
            return resolved
        root = posixpath.normpath(self.root(auth, fs))
        normal = posixpath.normpath(resolved)
        if posixpath.commonpath([root, normal]) != root:
            raise InvalidRequest(
                f"Path {path!r} leaves the connection's root folder {root!r} through '..'.",
                fix="Give a path inside the root folder, or an absolute path.",
            )
        return resolved

    # Symbolic links are followed inside the root only (lakefeed_local.links).

    def list_files(self, fs: Any, path: str, *, recursive: bool) -> Iterator[FileEntry]:
        from lakefeed_local.links import walk_following_links

        return list_path(
            fs, path, recursive=recursive, to_entry=self.entry_from_info, walk=walk_following_links
        )

    def inspect_files(
        self, fs: Any, entries: Iterable[FileEntry], file_format: FileFormat
    ) -> Iterator[InspectResult]:
        # A refused link is listed with no size: say why it fails, not that it is empty.
        refused: dict[str, LakefeedError] = {}

        def vetted() -> Iterator[FileEntry]:
            for entry in entries:
                try:
                    fs.check_readable(entry.path)
                except LakefeedError as exc:
                    refused[entry.path] = exc
                yield entry

        for entry, result in super().inspect_files(fs, vetted(), file_format):
            yield entry, refused.pop(entry.path, result)

    def read_range(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        fs.check_readable(entry.path)
        return super().read_range(fs, entry, start, end)

    def stat(self, fs: Any, entry: FileEntry) -> FileEntry | None:
        fs.check_readable(entry.path)
        return super().stat(fs, entry)


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(LocalFiles())
