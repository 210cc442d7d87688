"""``StorageSession``: one connection's view of its storage — ls, inspect, preview, explore, test.

Every vendor exception that crosses this class becomes a lakefeed error with secrets removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from lakefeed.errors import InvalidRequest, LakefeedError, StorageError
from lakefeed.secrets import AuthParams
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.errors import translate
from lakefeed.storage.listing import is_file_info, split_glob
from lakefeed.storage.parquet import ParquetFooter
from lakefeed.storage.source import SourceType
from lakefeed.values import jsonable

PREVIEW_MAX_ROWS = 100


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be inspected, and why."""

    entry: FileEntry
    error: LakefeedError

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.entry.path, "size": self.entry.size, "error": self.error.to_dict()}


@dataclass(frozen=True)
class Preview:
    path: str
    schema: Any  # pyarrow.Schema
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service ``/explore?objectType=file&preview=true`` answer."""
        return {
            "format": "parquet",
            "path": self.path,
            "schema": {
                "columns": [
                    {"name": f.name, "type": str(f.type), "nullable": f.nullable}
                    for f in self.schema
                ]
            },
            "data": self.rows,
        }


class StorageSession:
    """A source type opened with one connection's auth params."""

    def __init__(self, source_type: SourceType, auth: AuthParams, *, label: str | None = None):
        self.source_type = source_type
        self.auth = auth
        self.label = label or source_type.spec.name

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except LakefeedError:
            raise
        except Exception as exc:
            raise self._translate(exc, action) from exc

    def translate(self, exc: BaseException, action: str) -> LakefeedError:
        """``exc`` as a lakefeed error of this session's backend, secrets removed."""
        if isinstance(exc, LakefeedError):
            return exc
        return self._translate(exc, action)

    def open_input(self, path: str) -> Any:
        """A file object (or local path) for pyarrow to read ``path`` from, as fast as the
        backend allows: local files are read natively, remote ones through fsspec."""
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(self.fs, LocalFileSystem):
            return path
        with self._errors(f"opening {path!r}"):
            return self.fs.open(path, "rb")

    def _translate(self, exc: BaseException, action: str) -> LakefeedError:
        return translate(
            exc,
            action=action,
            source=repr(self.label),
            secrets=self.auth.secret_values(),
            error_class=self.source_type.translate_error(exc),
        )

    @cached_property
    def fs(self) -> Any:
        self.source_type.check_installed()
        with self._errors("connecting"):
            return self.source_type.filesystem(self.auth)

    def resolve(self, path: str) -> str:
        return self.source_type.resolve(self.auth, self.fs, path)

    # -- operations ----------------------------------------------------------------------------

    def test(self) -> str:
        """Raise a lakefeed error when the connection does not work; describe it when it does."""
        endpoint = self.source_type.endpoint(self.auth)
        if endpoint is not None:
            with self._errors(f"connecting to {endpoint[0]}:{endpoint[1]}"):
                check_reachable(*endpoint)
        with self._errors("testing the connection"):
            return self.source_type.test(self.auth, self.fs)

    def ls(self, path: str, *, recursive: bool = False) -> Iterator[FileEntry]:
        """Stream the files at ``path`` (file, folder, or glob in the last component)."""
        resolved = self.resolve(path)
        try:
            split_glob(resolved)
        except ValueError as exc:
            raise InvalidRequest(str(exc), fix="Put '*' only in the file-name part.") from exc
        with self._errors(f"listing {resolved!r}"):
            yield from self.source_type.list_files(self.fs, resolved, recursive=recursive)

    def inspect(
        self, path: str, *, recursive: bool = False
    ) -> Iterator[ParquetFooter | FileFailure]:
        """Footers of every file at ``path``; a file that fails is reported, never fatal."""
        return self.footers(self.ls(path, recursive=recursive))

    def footers(self, entries: Iterable[FileEntry]) -> Iterator[ParquetFooter | FileFailure]:
        """Footers of already-listed ``entries``, in order."""
        for entry, result in self.source_type.read_footers(self.fs, entries):
            if isinstance(result, BaseException):
                yield FileFailure(entry, self._translate(result, f"reading {entry.path!r}"))
            else:
                yield result

    def footer(self, path: str) -> ParquetFooter:
        """The footer of the single file ``path``."""
        entries = list(self.ls(path))
        if len(entries) != 1 or entries[0].path != self.resolve(path):
            raise InvalidRequest(f"{path!r} is not a single file.", fix="Name one file.")
        (result,) = self.footers(entries)
        if isinstance(result, FileFailure):
            raise result.error
        return result

    def preview(self, path: str, *, rows: int = 10) -> Preview:
        """The schema and the first ``rows`` rows of one Parquet file (read batch by batch)."""
        import pyarrow.parquet as pq

        footer = self.footer(path)  # validates the file before any row is read
        rows = max(0, min(rows, PREVIEW_MAX_ROWS))
        resolved = footer.entry.path
        data: list[dict[str, Any]] = []
        with self._errors(f"reading {resolved!r}"), self.fs.open(resolved, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            for batch in parquet.iter_batches(batch_size=max(rows, 1)):
                data.extend(batch.slice(0, rows - len(data)).to_pylist())
                if len(data) >= rows:
                    break
        return Preview(resolved, footer.schema, [jsonable(r) for r in data])

    def explore(self, object_type: str = "root", obj: str | None = None) -> list[dict[str, Any]]:
        """Flow Service ``/explore`` for ``root`` and ``folder``: files and folders, one level."""
        kind = object_type.lower()
        if kind == "root":
            target = self.resolve("")
        elif kind == "folder":
            if not obj:
                raise InvalidRequest(
                    "objectType=folder needs object=PATH.", fix="Pass the folder to list."
                )
            target = self.resolve(obj)
        else:
            raise InvalidRequest(
                f"objectType {object_type!r} cannot be listed (use root or folder; "
                "file answers with a preview).",
                fix="Use objectType=file with preview=true for one file.",
            )
        with self._errors(f"exploring {target!r}"):
            infos = self.fs.ls(target, detail=True)
        items = []
        for info in sorted(infos, key=lambda i: str(i["name"])):
            name = str(info["name"]).rstrip("/")
            if name == target.rstrip("/"):
                continue  # some backends list a folder's own marker object
            is_file = is_file_info(info)
            items.append(
                {
                    "type": "file" if is_file else "folder",
                    "name": name.rsplit("/", 1)[-1],
                    "path": name if name.startswith("/") else "/" + name,
                    "canPreview": is_file and name.endswith(".parquet"),
                    "canFetchSchema": is_file and name.endswith(".parquet"),
                }
            )
        return items


def check_reachable(host: str, port: int, timeout: float = 10.0) -> None:
    """Open and close one TCP connection; raise the socket error when that fails."""
    import socket

    with socket.create_connection((host, port), timeout=timeout):
        pass


__all__ = ["FileFailure", "Preview", "StorageError", "StorageSession"]
