"""Local files: the embedded default source (``file://``)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from typing import Any

from lakefeed import hookimpl
from lakefeed.errors import InvalidAuthParams, InvalidRequest
from lakefeed.secrets import AuthParams
from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage import SourceType

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

    def filesystem(self, auth: AuthParams) -> Any:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()

    def check_params(self, auth: AuthParams) -> None:
        root = os.path.expanduser(str(auth.get("rootPath") or "/"))
        if not os.path.isabs(root):
            raise InvalidAuthParams(
                f"rootPath {root!r} is relative; a stored connection must not depend on the "
                "directory it is used from.",
                fix=f"Give an absolute path, e.g. rootPath={os.path.abspath(root)}",
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


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(LocalFiles())
