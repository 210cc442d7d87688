"""``SourceType``: the class a storage plugin subclasses.

A minimal plugin sets :attr:`SourceType.spec` and implements :meth:`SourceType.filesystem`;
listing, ranged reads for inspection, the connection test and error translation have shared
defaults that work for any fsspec filesystem. Override a method only where the backend can do
better. What a file's bytes mean is its format's business (:mod:`lakefeed.formats`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import MissingDependency, StorageError
from lakefeed.formats import FileFormat, InspectResult, RangeReader
from lakefeed.secrets import AuthParams
from lakefeed.specs import ConnectionSpec
from lakefeed.storage.entries import FileEntry, entry_from_info
from lakefeed.storage.listing import list_path
from lakefeed.storage.ranges import async_reader, gathered_reader, pooled_reader
from lakefeed.storage.versions import read_retrying

if TYPE_CHECKING:
    from urllib.parse import SplitResult


class SourceType:
    """A kind of storage a connection can point at (S3, SFTP, …)."""

    #: the connection spec: id, name, auth specs
    spec: ClassVar[ConnectionSpec]
    #: modules the backend needs, each with the pip requirement that installs it
    requires: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: ranged reads in flight at once for non-async filesystems
    read_concurrency: ClassVar[int] = 8
    #: True for a source type that reads the server machine's own files (with the server's
    #: permissions): ``lakefeed serve`` then confines its connections' roots and paths to the
    #: folders of ``LAKEFEED_LOCAL_ROOTS`` (:mod:`lakefeed.api.local_roots`)
    reads_local_paths: ClassVar[bool] = False

    # -- required ------------------------------------------------------------------------------

    def filesystem(self, auth: AuthParams) -> Any:
        """Build the fsspec filesystem for a connection's validated auth params.

        Must not perform network I/O beyond what the filesystem's constructor does; import the
        backend's SDK inside this method.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement filesystem()")

    # -- overridable defaults ------------------------------------------------------------------

    def check_params(self, auth: AuthParams) -> None:
        """Backend-specific checks beyond the auth spec's JSON Schema (URL shapes, key files),
        run before a connection is stored; raise :class:`lakefeed.errors.InvalidAuthParams`."""

    def root(self, auth: AuthParams, fs: Any) -> str:
        """The folder relative paths start from and ``explore`` shows as root ("" = top)."""
        return ""

    def resolve(self, auth: AuthParams, fs: Any, path: str) -> str:
        """Turn a user path into the filesystem path: ``/x`` and URLs (``s3://b/k``,
        ``abfss://c@account.dfs.core.windows.net/k``) are absolute, ``x`` is under root."""
        marker = getattr(fs, "root_marker", "")
        while path == "." or path.startswith("./"):  # "." is the root, "./x" is "x"
            path = path[2:]
        if "://" in path:
            stripped = str(fs._strip_protocol(path))
            path = stripped if stripped.startswith("/") else "/" + stripped
        if path.startswith("/"):
            return path if marker == "/" else path.strip("/")
        root = self.root(auth, fs).rstrip("/")
        joined = f"{root}/{path}" if root and path else (root or path)
        if marker == "/" and not joined.startswith("/"):
            joined = "/" + joined
        return joined.rstrip("/") or marker

    def endpoint(self, auth: AuthParams) -> tuple[str, int] | None:
        """``(host, port)`` the backend is reached at, for a fast reachability check before
        the connection test (vendor clients retry unreachable hosts for a minute or more);
        None for backends without a network endpoint."""
        return None

    def endpoints(self, auth: AuthParams) -> list[tuple[str, int]]:
        """Every ``(host, port)`` a connection with these params makes lakefeed contact: the
        storage endpoint, and any other the params name (a token URL, a second endpoint).
        ``lakefeed serve`` refuses connections whose endpoints resolve to loopback, private
        or link-local addresses unless its operator allows them
        (:mod:`lakefeed.storage.endpoints`), so a plugin whose params name more than one
        host must list them all here. Default: :meth:`endpoint`, when there is one."""
        endpoint = self.endpoint(auth)
        return [] if endpoint is None else [endpoint]

    def entry_from_info(self, info: dict[str, Any]) -> FileEntry:
        return entry_from_info(info)

    def list_files(self, fs: Any, path: str, *, recursive: bool) -> Iterator[FileEntry]:
        """Every file at ``path`` (file, folder or last-component glob), streamed."""
        return list_path(fs, path, recursive=recursive, to_entry=self.entry_from_info)

    def inspect_files(
        self, fs: Any, entries: Iterable[FileEntry], file_format: FileFormat
    ) -> Iterator[InspectResult]:
        """What ``file_format`` makes of ``entries`` (``(entry, InspectedFile or the exception
        that stopped it)``), in order: the format's inspection over :meth:`ranged_reads`.

        Override where the backend can inspect better; keep the order, and report a file's
        failure in its place rather than raise. Call ``super()`` (or the format's
        ``inspect(entries, read)``) for whatever your backend does not do itself."""
        with self.ranged_reads(fs) as read:
            yield from file_format.inspect(entries, read)

    @contextmanager
    def ranged_reads(self, fs: Any, *, concurrency: int | None = None) -> Iterator[RangeReader]:
        """A :data:`~lakefeed.formats.RangeReader` for inspecting files, valid inside the
        block, with at most ``concurrency`` (default :attr:`read_concurrency`) reads in
        flight: batches of ranges through :meth:`async_read` on the filesystem's event loop
        where the backend has it, else through :meth:`read_range` (so pinned to the listed
        version where it pins) on a pool of threads; with the default ``read_range`` on an
        async filesystem, concurrent requests on its event loop. An override that reads in
        its own way (SFTP: one connection per worker) may leave ``concurrency`` out."""
        workers = max(1, concurrency or self.read_concurrency)
        read_async = self.async_read(fs)
        if read_async is not None:
            yield gathered_reader(
                fs, read_async, lambda e, a, b: self.read_listed(fs, e, a, b), workers
            )
            return
        if getattr(fs, "async_impl", False) and type(self).read_range is SourceType.read_range:
            # The default read_range, as concurrent requests on the filesystem's event loop.
            yield async_reader(fs)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield pooled_reader(
                pool, lambda entry, start, end: self.read_listed(fs, entry, start, end)
            )

    def async_read(self, fs: Any) -> Callable[[FileEntry, int, int], Awaitable[bytes]] | None:
        """A coroutine function that reads what :meth:`read_range` reads (the same version
        pin), on ``fs``'s event loop, for backends whose filesystem is async: many ranges then
        share the loop instead of a thread each. None (the default): no such reads."""
        return None

    def read_listed(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of the version ``entry`` names: :meth:`read_range`, and
        where it pins the version, a broken transfer retried from where it broke (without a
        pin a short read may be a changed file, which the re-stat after reading tells)."""
        if not self.pins_version(fs, entry):
            return self.read_range(fs, entry, start, end)
        return read_retrying(entry, start, end, lambda a, b: self.read_range(fs, entry, a, b))

    # -- reading the listed version ------------------------------------------------------------

    def pins_version(self, fs: Any, entry: FileEntry) -> bool:
        """Whether :meth:`read_range` reads only the version ``entry`` names: once the file is
        another version, it reads that version still (S3 ``VersionId``) or raises
        :class:`lakefeed.errors.FileChangedWhileReading` (``If-Match`` on the etag). False by
        default: lakefeed then re-stats the file with :meth:`stat` after reading it
        and compares the two, which is as safe but one request dearer and blind to a rewrite
        that keeps the size and modification time."""
        return False

    def read_range(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file ``entry`` names; of its listed version when
        :meth:`pins_version` is true. Used to inspect files and, through a buffered file, to
        read their rows."""
        return bytes(fs.cat_file(entry.path, start=start, end=end))

    def stat(self, fs: Any, entry: FileEntry) -> FileEntry | None:
        """The file ``entry`` names as it is now, or None when it no longer exists. Compared
        with the listed entry (only what both carry) to tell whether the file changed."""
        try:
            info = fs.info(entry.path)
        except FileNotFoundError:
            return None
        return self.entry_from_info(info)

    def test(self, auth: AuthParams, fs: Any) -> str:
        """Check that the connection works; return a short description of what was reached."""
        root = self.root(auth, fs)
        target = root or getattr(fs, "root_marker", "") or ""
        items = fs.ls(target, detail=False)
        return f"listed {target or 'the top level'!r}: {len(items)} entries"

    def translate_error(self, exc: BaseException) -> type[StorageError] | None:
        """Map a backend-specific exception to a lakefeed error class, or None for the
        shared rules in :mod:`lakefeed.storage.errors`."""
        return None

    # -- helpers -------------------------------------------------------------------------------

    def auth_params(
        self, params: Mapping[str, Any], auth_spec_name: str | None = None
    ) -> AuthParams:
        """Validate ``params`` against the auth spec (None: the only one), then run
        :meth:`check_params`; the one path by which credentials become AuthParams."""
        auth = self.spec.auth_spec(auth_spec_name)
        values = self.spec.validate_auth(auth.name, params)
        auth_params = AuthParams(auth.name, values, auth.secret_names)
        self.check_params(auth_params)
        return auth_params

    def missing_requirements(self) -> list[tuple[str, str]]:
        """The ``(module, requirement)`` pairs of :attr:`requires` whose module is not
        installed (``lakefeed plugins`` shows them with the ``pip install`` hint)."""
        missing = []
        for module, requirement in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):  # a parent package missing or blocked
                found = False
            if not found:
                missing.append((module, requirement))
        return missing

    def check_installed(self) -> None:
        """Raise :class:`MissingDependency` with an install hint when the SDK is missing."""
        missing = self.missing_requirements()
        if missing:
            module, requirement = missing[0]
            raise MissingDependency(
                f"The {self.spec.label} source needs the Python package {module!r}, "
                "which is not installed.",
                fix=f"Install it with: pip install '{requirement}'",
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.name} {self.spec.id}>"


def split_url(url: str, what: str = "An endpoint URL") -> SplitResult:
    """``urlsplit(url)``, its port checked: :class:`InvalidAuthParams` naming ``what`` for a
    URL Python cannot split (an IPv6 address without its closing bracket, a port that is not a
    number from 0 to 65535) instead of the ``ValueError`` plugins would let through. The URL
    itself is not repeated: it may carry a signature."""
    from urllib.parse import urlsplit

    from lakefeed.errors import InvalidAuthParams

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (reading it is the check)
    except ValueError:
        raise InvalidAuthParams(
            f"{what} is not a valid URL: its host or port cannot be read.",
            fix="Close the brackets around an IPv6 address ([::1]) and give the port as a "
            "number from 0 to 65535, e.g. https://host:8443.",
        ) from None
    return parts


def url_endpoint(url: str, default_port: int = 443) -> tuple[str, int]:
    """``(host, port)`` of an endpoint URL, with the scheme's default port."""
    parts = split_url(url if "://" in url else f"https://{url}")
    port = parts.port or (80 if parts.scheme == "http" else default_port)
    return parts.hostname or "", port
