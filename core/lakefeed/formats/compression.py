"""Compressed files and archives: which ``compressionType`` a file has, and its members as
streams of decompressed bytes.

Flow Service names the kinds ``bzip2``, ``gzip``, ``deflate``, ``zipDeflate``, ``tarGzip`` and
``tar``; lakefeed adds ``zstd`` and ``none``. A stream compression (gzip, bzip2, zstd, deflate)
holds one member, the file itself; a zip or tar archive holds one member per regular file.
Members are decompressed as they are read, a block at a time, so memory stays bounded whatever
their size. A failure of the compressed data (truncated, damaged, not that compression) is
:class:`~lakefeed.errors.CorruptCompressedFile`; a failure reading the underlying file is left
as it came, for the storage session to translate.
"""

from __future__ import annotations

import contextlib
import io
import weakref
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

from lakefeed.errors import CorruptCompressedFile, InvalidFormatOption

#: Every ``compressionType`` value, as Flow Service spells it.
COMPRESSION_TYPES = ("none", "gzip", "bzip2", "zstd", "deflate", "zipDeflate", "tar", "tarGzip")
#: The kinds whose files hold several members, each a file of its own.
ARCHIVES = ("zipDeflate", "tar", "tarGzip")

_ALIASES = {
    **{kind.lower(): kind for kind in COMPRESSION_TYPES},
    "zip": "zipDeflate",
    "tgz": "tarGzip",
    "tar.gz": "tarGzip",
    "targz": "tarGzip",
    "zst": "zstd",
    "gz": "gzip",
    "bz2": "bzip2",
}
# Longest first: ".tar.gz" before ".gz".
_EXTENSIONS = (
    (".tar.gz", "tarGzip"),
    (".tgz", "tarGzip"),
    (".tar", "tar"),
    (".zip", "zipDeflate"),
    (".gzip", "gzip"),
    (".gz", "gzip"),
    (".bz2", "bzip2"),
    (".zstd", "zstd"),
    (".zst", "zstd"),
    (".deflate", "deflate"),
    (".zz", "deflate"),
)
#: How a file of a format may end: as it is, or with a stream compression's extension
#: (``.csv``, ``.csv.gz``, ``.csv.zst`` …); archives are recognised by their own extension.
STREAM_SUFFIXES = ("", *(ext for ext, kind in _EXTENSIONS if kind not in ARCHIVES))


def with_compressions(endings: tuple[str, ...]) -> tuple[str, ...]:
    """``endings`` (``(".csv", ".tsv")``) each as it is and with every stream compression's
    extension: what a text format recognises."""
    return tuple(ending + suffix for ending in endings for suffix in STREAM_SUFFIXES)


#: Names in archives that are never data: macOS resource forks and their folder.
_SKIPPED_PREFIXES = ("__MACOSX/",)


def normalize(value: Any) -> str:
    """``value`` (any case, or an alias: ``zip``, ``tgz``, ``tar.gz``, ``zst``) as one of
    :data:`COMPRESSION_TYPES`; :class:`InvalidFormatOption` otherwise."""
    found = _ALIASES.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise InvalidFormatOption(
            f"compressionType {shown(value)} is not one lakefeed reads "
            f"(accepted: {', '.join(COMPRESSION_TYPES)}).",
            fix="Give one of those (any case), or leave compressionType out to go by the "
            "file name's extension.",
            property="compressionType",
        )
    return found


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message never echoes a huge value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detect(file_name: str) -> str | None:
    """The compression a file name's extension says (``a.csv.gz`` → ``gzip``), or None."""
    lower = file_name.lower()
    return next((kind for ext, kind in _EXTENSIONS if lower.endswith(ext)), None)


def inner_name(file_name: str) -> str:
    """The name of what a compressed file holds: ``a.csv.gz`` → ``a.csv``; an archive's or an
    uncompressed file's name stays."""
    lower = file_name.lower()
    for ext, kind in _EXTENSIONS:
        if lower.endswith(ext):
            return file_name if kind in ARCHIVES else file_name[: -len(ext)] or file_name
    return file_name


def is_archive(kind: str) -> bool:
    return kind in ARCHIVES


def members(
    stream: IO[bytes], kind: str, *, name: str = "", prefetch: bool = False
) -> Iterator[tuple[str, IO[bytes]]]:
    """``(member name, its decompressed bytes)`` of ``stream`` compressed as ``kind`` (one of
    :data:`COMPRESSION_TYPES`); ``name`` is the file's, for member names and messages.

    A stream compression yields one member named :func:`inner_name` of ``name``; ``none``
    yields ``stream`` itself. An archive yields every regular file in order (folders, macOS
    ``__MACOSX/`` and ``._*`` entries skipped; archives inside are not opened). Read a member
    before asking for the next: a tar streams. A zip needs a seekable ``stream``. With
    ``prefetch``, a stream compression is decompressed a few chunks ahead in a thread (for
    reading every row; inspection reads only what its sample needs)."""
    if kind == "none":
        yield inner_name(name), stream
        return
    source = _Source(stream)
    if kind == "zipDeflate":
        yield from _zip_members(source, name)
    elif kind in ("tar", "tarGzip"):
        yield from _tar_members(source, kind, name)
    else:
        member = inner_name(name)
        checked = _Checked(_decompressor(source, kind), kind, name, None)
        yield member, binary(_Prefetching(checked) if prefetch else checked)


def _decompressor(source: _Source, kind: str) -> Any:
    if kind == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=source, mode="rb")
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(source, mode="rb")
    if kind == "zstd":
        import pyarrow as pa

        # Arrow's zstd reader: frames one after another, and a cut one is an error.
        return pa.CompressedInputStream(pa.PythonFile(source, mode="r"), "zstd")
    if kind == "deflate":
        return io.BufferedReader(_Inflate(source), buffer_size=1 << 20)
    raise ValueError(f"not a stream compression: {kind!r}")


def _zip_members(source: _Source, name: str) -> Iterator[tuple[str, IO[bytes]]]:
    import zipfile

    try:
        archive = zipfile.ZipFile(source)
    except _SourceFailed as failed:
        raise failed.original from None
    except zipfile.BadZipFile as exc:
        # The directory is at the end: a cut upload loses it first.
        reason = EOFError(f"{exc} (its directory at the end is missing: truncated?)")
        raise corrupt("zipDeflate", name, None, reason) from exc
    except Exception as exc:
        raise corrupt("zipDeflate", name, None, exc) from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir() or _skipped(info.filename):
                continue
            try:
                opened: Any = archive.open(info)
            except _SourceFailed as failed:
                raise failed.original from None
            except Exception as exc:
                opened = _Failing(corrupt("zipDeflate", name, info.filename, exc))
            yield info.filename, binary(_Checked(opened, "zipDeflate", name, info.filename))


def _tar_members(source: _Source, kind: str, name: str) -> Iterator[tuple[str, IO[bytes]]]:
    import tarfile

    mode = "r|gz" if kind == "tarGzip" else "r|"
    try:
        archive = tarfile.open(fileobj=source, mode=mode)  # type: ignore[call-overload]  # noqa: SIM115
    except _SourceFailed as failed:
        raise failed.original from None
    except Exception as exc:
        raise corrupt(kind, name, None, exc) from exc
    with archive:
        while True:
            try:
                info = archive.next()
            except _SourceFailed as failed:
                raise failed.original from None
            except Exception as exc:
                raise corrupt(kind, name, None, exc) from exc
            if info is None:
                return
            if not info.isfile() or _skipped(info.name):
                continue
            extracted = archive.extractfile(info)
            assert extracted is not None  # a regular file
            yield info.name, binary(_Checked(extracted, kind, name, info.name))


class ReadStream(io.RawIOBase):
    """A readable raw stream defined by its :meth:`read`: ``readinto`` (what Arrow and
    ``io`` call) is derived from it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Prefetching(io.RawIOBase):
    """``stream`` decompressed a few chunks ahead in a thread of its own: zlib, bz2 and zstd
    let go of the GIL while they work, so decompressing the next chunk overlaps with parsing
    this one (two cores do both at once). At most :data:`PREFETCH_CHUNKS` chunks of
    :data:`PREFETCH_BYTES` wait; an error of the stream is raised where the reader reaches it."""

    def __init__(self, stream: Any) -> None:
        import queue
        import threading

        super().__init__()
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(PREFETCH_CHUNKS)
        self._stop = threading.Event()
        self._pending = b""
        self._done = False
        # The thread holds the queue and the event, never this object: a reader that drops
        # the stream unread stops it too (finalize), as closing it does.
        self._thread = threading.Thread(
            target=_fill,
            args=(stream, self._queue, self._stop),
            name="lakefeed-decompress",
            daemon=True,
        )
        weakref.finalize(self, self._stop.set)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import queue

        if self.closed:
            raise ValueError("read of a closed decompressed stream")
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._done:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise ValueError("the decompressing thread stopped") from None
                continue
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
            self._pending = item
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        super().close()


#: Decompressed bytes read ahead per chunk, and chunks that may wait (memory: their product).
PREFETCH_BYTES = 2 << 20
PREFETCH_CHUNKS = 2


def _fill(stream: Any, chunks: Any, stop: Any) -> None:
    """The thread of a :class:`_Prefetching`: read chunks into ``chunks`` until the end, an
    error (handed over, raised by the reader) or ``stop``."""
    import queue

    item: bytes | BaseException
    while not stop.is_set():
        try:
            item = stream.read(PREFETCH_BYTES)
        except BaseException as exc:  # handed to the reader, raised there
            item = exc
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        if isinstance(item, BaseException) or not item:
            return


def binary(stream: Any) -> IO[bytes]:
    """``stream`` (an :class:`io.RawIOBase`, say) as the binary file object it is; to the type
    checker, io's classes are not ``IO[bytes]``."""
    return cast("IO[bytes]", stream)


def _skipped(member: str) -> bool:
    base = member.rsplit("/", 1)[-1]
    return member.startswith(_SKIPPED_PREFIXES) or base.startswith("._") or not base


def corrupt(kind: str, name: str, member: str | None, exc: BaseException) -> CorruptCompressedFile:
    """The error of compressed data that cannot be decompressed."""
    where = f"{name!r}" + (f" (member {member!r})" if member else "")
    reason = str(exc) or type(exc).__name__
    truncated = isinstance(exc, EOFError) or any(
        word in reason.lower() for word in ("end of", "truncated")
    )
    what = "is truncated" if truncated else "cannot be decompressed"
    return CorruptCompressedFile(
        f"{where} {what} as {kind}: {reason}.",
        fix="Upload the complete file again; if it is not compressed that way, set "
        "compressionType to how it is (or 'none').",
        compressionType=kind,
        **({"member": member} if member else {}),
    )


class _SourceFailed(Exception):
    """Reading the underlying file failed: not the compressed data's fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class _Source(io.RawIOBase):
    """The compressed file, with its read failures marked as the file's own."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        try:
            return bool(self._stream.seekable())
        except Exception:
            return False

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._stream.seek(offset, whence)
        except Exception as exc:
            raise _SourceFailed(exc) from exc

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except Exception as exc:
            raise _SourceFailed(exc) from exc
        n = len(data)
        buffer[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as exc:
            raise _SourceFailed(exc) from exc


class _Checked(ReadStream):
    """A member's decompressed bytes: failures of the data become CorruptCompressedFile, the
    underlying file's own failures go on as they came."""

    def __init__(self, inner: Any, kind: str, name: str, member: str | None) -> None:
        super().__init__()
        self._inner = inner
        self._where = (kind, name, member)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read() if size is None or size < 0 else self._inner.read(size)
        except _SourceFailed as failed:
            raise failed.original from None
        except CorruptCompressedFile:
            raise
        except Exception as exc:
            raise corrupt(*self._where, exc) from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):  # nothing more is read of it
            self._inner.close()
        super().close()


class _Failing(io.RawIOBase):
    """A member that cannot be opened: reading it raises its error."""

    def __init__(self, error: CorruptCompressedFile) -> None:
        super().__init__()
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self._error


class _Inflate(io.RawIOBase):
    """``deflate``: zlib-wrapped data (what Hadoop's ``.deflate`` files hold) or raw deflate,
    told apart by the zlib header. Output is bounded by what each read asks for."""

    def __init__(self, source: Any) -> None:
        super().__init__()
        self._source = source
        self._inflate: Any = None
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._inflate is not None and self._inflate.eof:
                return 0  # bytes after the end marker are not data
            if not self._pending:
                self._pending = self._source.read(256 * 1024)
                if not self._pending:
                    if self._inflate is None:
                        return 0  # nothing at all
                    raise EOFError("the compressed data ends before its end marker")
            if self._inflate is None:
                head = self._pending
                wrapped = (
                    len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
                )
                self._inflate = zlib.decompressobj(15 if wrapped else -15)
            out = self._inflate.decompress(self._pending, len(buffer))
            self._pending = self._inflate.unconsumed_tail
            if out:
                buffer[: len(out)] = out
                return len(out)
