"""``StorageSession``: one connection's view of its storage — ls, inspect, preview, explore, test.

Every vendor exception that crosses this class becomes a lakefeed error with secrets removed.
Inspection and previews read files through a format (:mod:`lakefeed.formats`): the one named,
or one of the session's :class:`~lakefeed.formats.FormatRegistry`.
"""

from __future__ import annotations

import inspect
import io
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from lakefeed.errors import (
    FileChangedWhileReading,
    InvalidRequest,
    LakefeedError,
    NoFilesMatch,
    StorageError,
    StorageNotFound,
    StorageTimeout,
)
from lakefeed.formats import FileFormat, FormatRegistry, InspectedFile, RangeReader
from lakefeed.secrets import AuthParams
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.errors import translate
from lakefeed.storage.listing import is_file_info, split_glob
from lakefeed.storage.object_store import MAX_READS_PARAM
from lakefeed.storage.read_ahead import (
    BodyBuffer,
    ahead,
    format_key,
    inspect_once,
    prefetch_bodies,
    scope_key,
    version_key,
    whole_small_files,
)
from lakefeed.storage.source import SourceType
from lakefeed.storage.timeouts import MAX_SECONDS, StorageTimeouts, using_timeouts
from lakefeed.storage.versions import (
    changed_while_reading,
    same_version,
    version_file,
)
from lakefeed.values import jsonable

if TYPE_CHECKING:
    from lakefeed.storage.endpoints import EndpointPolicy

PREVIEW_MAX_ROWS = 100
#: The largest ``maxConcurrentReads`` a connection may set.
MAX_READS_LIMIT = 256


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
    format: str  # the name of the format that read the file

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service ``/explore?objectType=file&preview=true`` answer."""
        return {
            "format": self.format,
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

    def __init__(
        self,
        source_type: SourceType,
        auth: AuthParams,
        *,
        label: str | None = None,
        endpoints: EndpointPolicy | None = None,
        timeouts: StorageTimeouts | None = None,
        formats: FormatRegistry | None = None,
    ):
        """``endpoints``: the policy of ``lakefeed serve``, checked each time the session
        connects; with it, errors also never quote what an endpoint sent. None (the CLI and
        the Python API): any endpoint. ``timeouts``: how long connecting, reading and a
        connection test may take. ``formats``: the installed formats
        (:meth:`lakefeed.plugins.Plugins.formats`), for inspecting and previewing without a
        named format and for ``explore``'s ``canPreview``; None: only the bundled Parquet."""
        self.source_type = source_type
        self.auth = auth
        self.label = label or source_type.spec.name
        self.endpoints = endpoints
        self.timeouts = timeouts or StorageTimeouts()
        self.formats = formats if formats is not None else FormatRegistry.bundled()
        #: small files read whole by the current run's inspection, for :meth:`reading`
        self._bodies: BodyBuffer | None = None

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

    def open_input(self, entry: FileEntry) -> Any:
        """A file object (or local path) for pyarrow to read ``entry`` from, as fast as the
        backend allows: local files are read natively, remote ones through fsspec, pinned to
        the listed version where the backend pins (:meth:`SourceType.pins_version`). Use
        :meth:`reading`, which also checks the version where the backend cannot pin it."""
        from fsspec.implementations.local import LocalFileSystem

        path = entry.path
        if isinstance(self.fs, LocalFileSystem):
            return path
        with self._errors(f"opening {path!r}"):
            source_type, fs = self.source_type, self.fs
            if source_type.pins_version(fs, entry):
                return version_file(
                    fs, entry, lambda start, end: source_type.read_listed(fs, entry, start, end)
                )
            return fs.open(path, "rb")

    @contextmanager
    def reading(self, entry: FileEntry) -> Iterator[Any]:
        """:meth:`open_input` for the block, closed after it; what is read is the version
        ``entry`` names, or :class:`FileChangedWhileReading` is raised.

        Where the backend cannot pin the version, the file is re-statted after the block and
        must still be its listed version (one stat per file: a change before the read is a
        change before the stat too; call this once the listing is over, the stat may use the
        listing's connection). A storage or format error inside
        the block becomes FileChangedWhileReading when the file changed meanwhile: a file
        rewritten under the reader is not corrupt.
        """
        bodies = self._bodies
        body = bodies.take(version_key(entry)) if bodies is not None else None
        if body is not None:
            # Read whole during inspection, pinned to the listed version (read_ahead).
            pinned, source = True, io.BytesIO(body)
        else:
            with self._errors(f"opening {entry.path!r}"):
                pinned = self.source_type.pins_version(self.fs, entry)
            source = self.open_input(entry)
        try:
            yield source
        except Exception as exc:
            if isinstance(exc, FileChangedWhileReading) or (
                isinstance(exc, LakefeedError) and not isinstance(exc, StorageError)
            ):
                raise
            changed = self.changed(entry)
            if changed is not None:
                raise changed from exc
            raise
        finally:
            if hasattr(source, "close"):
                source.close()
        if not pinned:
            self._check_version(entry)

    def changed(self, entry: FileEntry) -> FileChangedWhileReading | None:
        """The error to report for ``entry`` when the file exists but is no longer the version
        it names; None when it still is, is gone, or cannot be looked at now. Ask it about a
        file whose read failed: a failure of a file that changed is that change."""
        try:
            current = self.source_type.stat(self.fs, entry)
        except Exception:
            return None  # the read's own error stands
        if current is None or same_version(entry, current):
            return None
        return changed_while_reading(entry, current)

    def _check_version(self, entry: FileEntry) -> None:
        with self._errors(f"checking {entry.path!r}"):
            current = self.source_type.stat(self.fs, entry)
        if current is None:
            raise StorageNotFound(
                f"{entry.path!r} no longer exists on {self.label!r}: it was deleted after "
                "it was listed.",
                fix="Nothing to do: a file that is deleted is not ingested.",
            )
        if not same_version(entry, current):
            raise changed_while_reading(entry, current)

    def _translate(self, exc: BaseException, action: str) -> LakefeedError:
        return translate(
            exc,
            action=action,
            source=repr(self.label),
            secrets=self.auth.secret_values(),
            error_class=self.source_type.translate_error(exc),
            remote_text=self.endpoints is None,
        )

    def check_credentials(self) -> None:
        """Raise :class:`lakefeed.errors.AmbientCredentialsForbidden` when the session has an
        endpoint policy that refuses the connection's ambient auth spec, or
        :class:`lakefeed.errors.AmbientEndpointForbidden` when it refuses to send the server's
        identity to one of the connection's endpoints (no-op without a policy); no I/O."""
        if self.endpoints is not None:
            auth = self.source_type.spec.auth_spec(self.auth.spec_name)
            endpoints: list[tuple[str, int]] = []
            if auth.ambient and self.endpoints.ambient_credentials:  # else refused anyway
                with self._errors("checking the endpoints"):
                    endpoints = self.source_type.endpoints(self.auth)
            self.endpoints.check_credentials(auth, source=repr(self.label), endpoints=endpoints)

    def check_endpoints(self, *, connecting: bool = False) -> None:
        """Raise :class:`lakefeed.errors.EndpointForbidden` when the session has an endpoint
        policy and one of the connection's endpoints is refused by it (no-op without one), and
        first :meth:`check_credentials`. ``connecting``: the addresses are the ones about to be
        used, so a host that does not resolve is refused too."""
        self.check_credentials()
        if self.endpoints is not None:
            with self._errors("checking the endpoints"):
                endpoints = self.source_type.endpoints(self.auth)
            self.endpoints.check(endpoints, source=repr(self.label), connecting=connecting)

    @cached_property
    def fs(self) -> Any:
        self.source_type.check_installed()
        self.check_endpoints(connecting=True)
        with self._errors("connecting"), using_timeouts(self.timeouts):
            return self.source_type.filesystem(self.auth)

    def resolve(self, path: str) -> str:
        """``path`` (relative to the connection's root, absolute, or a URL) as the backend
        names it. A NUL byte is refused: no storage names a file with one, and filesystems and
        SDKs fail on it each in their own way."""
        if "\x00" in path:
            raise InvalidRequest(
                f"Path {path!r} contains a NUL byte.", fix="Remove the NUL byte (\\x00)."
            )
        return self.source_type.resolve(self.auth, self.fs, path)

    # -- operations ----------------------------------------------------------------------------

    def test(self, *, timeout: float | None = None) -> str:
        """Raise a lakefeed error when the connection does not work; describe it when it does.

        The whole test gives up after ``timeout`` seconds (default: ``timeouts.test``) with
        :class:`StorageTimeout`; a vendor client still waiting then ends in the background,
        within its own connect and read timeouts."""
        deadline = self.timeouts.test if timeout is None else timeout
        if not 0 < deadline <= MAX_SECONDS:  # NaN too
            raise InvalidRequest(
                f"A connection test's timeout must be a number of seconds greater than 0 and "
                f"at most {MAX_SECONDS:g}, not {deadline!r}.",
                fix="Give a timeout such as 30.",
            )
        outcome: list[tuple[str | None, BaseException | None]] = []

        def work() -> None:
            try:
                outcome.append((self._test(), None))
            except BaseException as exc:  # handed to the waiting thread
                outcome.append((None, exc))

        worker = threading.Thread(target=work, name="lakefeed-connection-test", daemon=True)
        worker.start()
        worker.join(deadline)
        if not outcome:
            endpoint = self.source_type.endpoint(self.auth)
            where = f" at {endpoint[0]}:{endpoint[1]}" if endpoint else ""
            raise StorageTimeout(
                f"Storage timed out while testing the connection on {self.label!r}: the "
                f"storage{where} did not answer within {deadline:g} s.",
                fix="Check that the endpoint and port are the storage service's and that it "
                "is up; if it is only slow, allow more time with LAKEFEED_CONNECT_TIMEOUT "
                "(or `lakefeed connections test --timeout`).",
            )
        detail, error = outcome[0]
        if error is not None:
            raise error
        assert detail is not None
        return detail

    def _test(self) -> str:
        self.check_endpoints(connecting=True)
        endpoint = self.source_type.endpoint(self.auth)
        if endpoint is not None:
            with self._errors(f"connecting to {endpoint[0]}:{endpoint[1]}"):
                check_reachable(*endpoint, timeout=self.timeouts.connect)
        with self._errors("testing the connection"):
            return self.source_type.test(self.auth, self.fs)

    def ls(
        self, path: str, *, recursive: bool = False, require_match: bool = False
    ) -> Iterator[FileEntry]:
        """Stream the files at ``path`` (file, folder, or glob in the last component). With
        ``require_match``, a glob that matches no file is :class:`NoFilesMatch` (a person asking
        for files by pattern has mistyped it, or looks in the wrong folder) rather than an empty
        listing; a flow's glob matching nothing is just nothing new, so it stays off there."""
        resolved = self.resolve(path)
        try:
            _folder, pattern = split_glob(resolved)
        except ValueError as exc:
            raise InvalidRequest(str(exc), fix="Put '*' only in the file-name part.") from exc
        matched = False
        with self._errors(f"listing {resolved!r}"):
            for entry in self.source_type.list_files(self.fs, resolved, recursive=recursive):
                matched = True
                yield entry
        if require_match and pattern is not None and not matched:
            raise self._no_match(path, resolved, recursive)

    def _no_match(self, path: str, resolved: str, recursive: bool) -> NoFilesMatch:
        folder, pattern = split_glob(resolved)
        where = f"{folder!r} or its sub-folders" if recursive else repr(folder)
        return NoFilesMatch(
            f"No file matches {pattern!r} in {where} on {self.label!r}.",
            fix=f"Check the names with `lakefeed ls {self.label} "
            f"{split_glob(path)[0] or '.'} --recursive` (Python: session.ls(folder, "
            "recursive=True)). A glob matches file names in its folder; recursively also paths "
            "below it ('2026-11-*.parquet' then takes 2026-11-27/orders-0.parquet).",
        )

    def inspect(
        self,
        path: str,
        *,
        recursive: bool = False,
        file_format: FileFormat | None = None,
        require_match: bool = False,
    ) -> Iterator[InspectedFile | FileFailure]:
        """Every file at ``path`` inspected as ``file_format`` (default: the registry's default
        format, Parquet); a file that fails is reported, never fatal. ``require_match``: as
        :meth:`ls`."""
        entries = self.ls(path, recursive=recursive, require_match=require_match)
        return self.inspect_files(entries, file_format)

    def inspect_files(
        self,
        entries: Iterable[FileEntry],
        file_format: FileFormat | None = None,
        *,
        read_ahead: bool = False,
    ) -> Iterator[InspectedFile | FileFailure]:
        """Already-listed ``entries`` inspected as ``file_format`` (default: the registry's
        default format), in order, from ranged reads, at most :attr:`read_concurrency` at
        once. A file version the backend pins (:meth:`SourceType.pins_version`) is inspected
        once per process: inspecting it again answers what the first inspection told.

        ``read_ahead``, for a run that converts each file in this thread before it asks for
        the next one: inspection runs on a thread of its own, ahead of the caller, and small
        files (up to :data:`~lakefeed.storage.read_ahead.WHOLE_FILE_BYTES`) the backend pins
        are read whole, in one request, for :meth:`reading` to serve while the files before
        them convert (at most :data:`~lakefeed.storage.read_ahead.BODY_BUFFER_BYTES` held,
        until the caller is done with the inspected files)."""
        chosen = file_format or self.formats.default()
        if read_ahead:
            _ = self.fs  # opened in this thread, not on the read-ahead thread
            results = self._ahead(entries, chosen)
        else:
            results = self._inspect(entries, chosen, None)
        for entry, result in results:
            if isinstance(result, BaseException):
                yield FileFailure(entry, self._translate(result, f"reading {entry.path!r}"))
            else:
                yield result

    @property
    def read_concurrency(self) -> int | None:
        """Reads in flight at once while inspecting: the connection's ``maxConcurrentReads``,
        else None (the source type's default)."""
        given = self.auth.get(MAX_READS_PARAM.name)
        if given is None:
            return None
        return max(1, min(int(given), MAX_READS_LIMIT))

    def _ranged_reads(self) -> AbstractContextManager[RangeReader]:
        source_type = self.source_type
        ranged_reads = type(source_type).ranged_reads
        takes_concurrency = "concurrency" in inspect.signature(ranged_reads).parameters
        if takes_concurrency and self.read_concurrency is not None:
            return source_type.ranged_reads(self.fs, concurrency=self.read_concurrency)
        return source_type.ranged_reads(self.fs)

    def _ahead(
        self, entries: Iterable[FileEntry], file_format: FileFormat
    ) -> Iterator[tuple[FileEntry, InspectedFile | BaseException]]:
        """Inspection on a thread of its own; the bytes of the files inspected last stay for
        :meth:`reading` after the last result (a caller may group files before converting
        them), until taken or the next read-ahead; a caller that stops early drops them."""
        bodies = self._bodies = BodyBuffer()

        def produce() -> Iterator[tuple[FileEntry, InspectedFile | BaseException]]:
            return self._inspect(entries, file_format, bodies)

        try:
            for entry, result in ahead(produce, waiting=bodies.starving):
                if isinstance(result, BaseException):
                    bodies.take(version_key(entry))  # a failed file is not read again
                yield entry, result
        except BaseException:
            bodies.stop()
            if self._bodies is bodies:
                self._bodies = None
            raise

    def _inspect(
        self, entries: Iterable[FileEntry], file_format: FileFormat, bodies: BodyBuffer | None
    ) -> Iterator[tuple[FileEntry, InspectedFile | BaseException]]:
        source_type, fs = self.source_type, self.fs
        if type(source_type).inspect_files is not SourceType.inspect_files:
            # The backend inspects in its own way (local files: natively).
            yield from source_type.inspect_files(fs, entries, file_format)
            return

        def pins(entry: FileEntry) -> bool:
            return source_type.pins_version(fs, entry)

        with self._ranged_reads() as read:
            yield from inspect_once(
                entries,
                file_format,
                read if bodies is None else whole_small_files(read, bodies, pins),
                scope=(self._scope, format_key(file_format)),
                pins=pins,
                prefetch=None if bodies is None else prefetch_bodies(read, bodies),
            )

    @cached_property
    def _scope(self) -> str:
        return scope_key(self.source_type.spec.id, self.auth)

    def inspect_file(self, path: str, file_format: FileFormat | None = None) -> InspectedFile:
        """The single file ``path`` inspected as ``file_format`` (default: the format that
        recognises its name, else the registry's default format)."""
        entries = list(self.ls(path))
        if len(entries) != 1 or entries[0].path != self.resolve(path):
            raise InvalidRequest(f"{path!r} is not a single file.", fix="Name one file.")
        (result,) = self.inspect_files(entries, file_format or self._format_of(entries[0].name))
        if isinstance(result, FileFailure):
            raise result.error
        return result

    def preview(
        self, path: str, *, rows: int = 10, file_format: FileFormat | None = None
    ) -> Preview:
        """The schema and the first ``rows`` rows of one file, read batch by batch as
        ``file_format`` (default: the format that recognises its name, else the registry's
        default format)."""
        inspected = self.inspect_file(path, file_format)  # checks the file before its rows
        chosen = file_format or self._format_of(inspected.entry.name)
        rows = max(0, min(rows, PREVIEW_MAX_ROWS))
        resolved = inspected.entry.path
        with self._errors(f"reading {resolved!r}"), self.fs.open(resolved, "rb") as handle:
            data = chosen.preview(handle, inspected, rows=rows)
        return Preview(resolved, inspected.schema, [jsonable(r) for r in data], chosen.name)

    def _format_of(self, file_name: str) -> FileFormat:
        return self.formats.for_file(file_name) or self.formats.default()

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
            readable = is_file and self.formats.for_file(name) is not None
            items.append(
                {
                    "type": "file" if is_file else "folder",
                    "name": name.rsplit("/", 1)[-1],
                    "path": name if name.startswith("/") else "/" + name,
                    "canPreview": readable,
                    "canFetchSchema": readable,
                }
            )
        return items


def check_reachable(host: str, port: int, timeout: float = 10.0) -> None:
    """Open and close one TCP connection; raise the socket error when that fails."""
    import socket

    with socket.create_connection((host, port), timeout=timeout):
        pass


__all__ = ["FileFailure", "Preview", "StorageError", "StorageSession"]
