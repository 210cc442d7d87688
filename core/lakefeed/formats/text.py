"""What the text formats (delimited, JSON) share: compression and archives, inspection from a
bounded sample read through ranged reads, an archive's members read one after another as files
of their own, and the parsing of their ``data.properties``.

A text file says nothing about its rows up front, as a Parquet footer does: inspection reads a
*sample*, the first :data:`SAMPLE_BYTES` of decompressed data (at most :data:`SAMPLE_ROWS`
rows), and infers the columns from it. The sample is read through the storage's range reader
(:class:`~lakefeed.formats.base.RangeStream`), so it works the same on every backend; a
compressed file costs only the compressed bytes its sample needs (a zip also its directory).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import (
    CorruptCompressedFile,
    EmptyFile,
    InvalidFormatOption,
    MalformedFile,
)
from lakefeed.files import FileEntry
from lakefeed.formats.base import (
    REJECTED_TEXT_CHARS,
    FileFormat,
    InspectedFile,
    PartFailed,
    PartStarted,
    RangeReader,
    RangeStream,
    RejectedRows,
    RowItem,
    open_binary,
)
from lakefeed.formats.compression import (
    COMPRESSION_TYPES,
    ReadStream,
    binary,
    detect,
    inner_name,
    is_archive,
    members,
    normalize,
    shown,
)

if TYPE_CHECKING:
    import pyarrow as pa

#: Decompressed bytes of a file (its first member, for an archive) that inspection samples.
SAMPLE_BYTES = 1 << 20
#: Rows of the sample that inference looks at, at most.
SAMPLE_ROWS = 10_000
#: Bytes of a compressed file read first (more follow as its sample needs them).
COMPRESSED_HEAD_BYTES = 256 * 1024

COMPRESSION_PROPERTY = (
    "how the files are compressed: "
    + ", ".join(COMPRESSION_TYPES)
    + " (any case); by default the file name's extension says (.gz, .bz2, .zst, .deflate, "
    ".zip, .tar, .tar.gz, .tgz), and 'none' turns that off"
)
ENCODING_PROPERTY = "the files' text encoding: UTF-8 (default), ISO-8859-1 or any Python knows"


@dataclass(frozen=True)
class TextSample(InspectedFile):
    """A text file as inspection sampled it: ``schema`` is what its rows are read as (text
    where the file holds text), ``inferred`` the types its sample suggests — what a schema
    inferred from it gets (:meth:`typed_schema`) and what ``inspect`` shows."""

    inferred: Any = None  # pyarrow.Schema
    sampled_rows: int = 0

    def typed_schema(self) -> Any:
        return self.inferred

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        found = super().to_dict(details=details)
        if details:
            found["sampledRows"] = self.sampled_rows
        return found


@dataclass(frozen=True)
class Head:
    """What inspection samples of a file: the first bytes of its first member."""

    member: str  # the member's name (the file's path, less a stream compression's extension)
    data: bytes  # at most SAMPLE_BYTES of its decompressed bytes
    complete: bool  # ``data`` is all of the member
    whole_file: bool  # the member is the whole file (not one of an archive's members)


class TextFormat(FileFormat):
    """A row-by-row text format (CSV, JSON): compressed or archived files, a sampled
    inspection, and rows with :class:`RejectedRows` for what cannot be parsed.

    Subclasses are frozen dataclasses holding their options, with fields ``compression`` (one
    of :data:`~lakefeed.formats.compression.COMPRESSION_TYPES`, or None for the extension's)
    and ``encoding`` (a Python codec name); they implement :meth:`sample` and
    :meth:`member_rows`."""

    compressible: ClassVar[bool] = True
    compression: str | None
    encoding: str

    # -- inspection ----------------------------------------------------------------------------

    def compression_of(self, file_name: str) -> str:
        """The compression files named ``file_name`` are read with: ``compressionType``, else
        what the extension says, else ``none``."""
        return self.compression or detect(file_name) or "none"

    def first_range(self, entry: FileEntry) -> tuple[int, int]:
        if entry.size == 0:
            raise empty_file(entry.path)
        plain = self.compression_of(entry.name) == "none"
        # A compressed sample needs fewer bytes: more are read as decompression asks.
        return 0, min(entry.size, SAMPLE_BYTES if plain else COMPRESSED_HEAD_BYTES)

    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
        kind = self.compression_of(entry.name)
        if kind == "none":
            head = Head(entry.path, data, complete=len(data) >= entry.size, whole_file=True)
        else:
            stream = binary(RangeStream(entry, read, head=data))
            head = self._compressed_head(stream, kind, entry)
        return self.sample(entry, head)

    def _compressed_head(self, stream: IO[bytes], kind: str, entry: FileEntry) -> Head:
        for name, member in members(stream, kind, name=entry.path):
            data = read_at_most(member, SAMPLE_BYTES + 1)
            if not data and is_archive(kind):
                continue  # an empty member fails when it is read; the sample is the next
            return Head(
                name,
                data[:SAMPLE_BYTES],
                complete=len(data) <= SAMPLE_BYTES,
                whole_file=not is_archive(kind),
            )
        raise EmptyFile(
            f"{entry.path!r} is an archive with no files in it (or only empty ones).",
            fix="Put the data files in the archive, or set compressionType if it is not one.",
        )

    @abstractmethod
    def sample(self, entry: FileEntry, head: Head) -> InspectedFile:
        """What ``entry`` holds, inferred from ``head``. Raise :class:`EmptyFile`,
        :class:`MalformedFile` or :class:`UndecodableText` naming the file and the fix."""

    # -- rows ----------------------------------------------------------------------------------

    def read_rows(self, source: Any, file: InspectedFile, *, batch_rows: int) -> Iterator[RowItem]:
        kind = self.compression_of(file.entry.name)
        archive = is_archive(kind)
        with open_binary(source) as stream:
            for name, member in members(stream, kind, name=file.entry.path, prefetch=True):
                if not archive:
                    yield from self.member_rows(member, file, name, batch_rows=batch_rows)
                    continue
                yield PartStarted(name)
                try:
                    yield from self.member_rows(member, file, name, batch_rows=batch_rows)
                except (MalformedFile, CorruptCompressedFile) as error:
                    yield PartFailed(name, error)
                    # A tar streams: past damaged data there is no next member to find.
                    if isinstance(error, CorruptCompressedFile) and kind != "zipDeflate":
                        raise
                finally:
                    member.close()

    def batches(
        self, source: Any, file: InspectedFile, *, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """The record batches of :meth:`read_rows` (rejected rows and failed members left
        out: a preview shows what can be read)."""
        for item in self.read_rows(source, file, batch_rows=batch_rows):
            if not isinstance(item, RejectedRows | PartStarted | PartFailed):
                yield item

    @abstractmethod
    def member_rows(
        self, stream: IO[bytes], file: InspectedFile, member: str, *, batch_rows: int
    ) -> Iterator[RowItem]:
        """The rows of one member (the whole file, when it is not an archive) read from
        ``stream``, its decompressed bytes: record batches with ``file.schema``, and
        :class:`RejectedRows` numbered by line within the member."""


def read_at_most(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes of ``stream`` (fewer only at its end)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def cut_text(text: str) -> str:
    """A rejected row's text as diagnostics keep it."""
    if len(text) <= REJECTED_TEXT_CHARS:
        return text
    return text[: REJECTED_TEXT_CHARS - 1] + "…"


def where(path: str, member: str | None = None) -> str:
    """A file, or an archive's member, as messages name it: ``'/in/b.zip' (member 'a.csv')``.
    ``member`` names the file itself when it is the path (less a compression's extension)."""
    if not member or member in (path, inner_name(path)):
        return repr(path)
    return f"{path!r} (member {member!r})"


def empty_file(path: str, member: str | None = None, *, header: bool = True) -> EmptyFile:
    nothing = "no rows, not even a header" if header else "no rows"
    return EmptyFile(
        f"{where(path, member)} is empty: it holds {nothing} (batch error 106).",
        fix="Upload the file with its data; an empty file is not ingested.",
    )


# -- property values ----------------------------------------------------------------------------


def one_character(name: str, value: Any, *, allow_none: bool = False) -> str | None:
    """A delimiter, quote or escape character: one ASCII character; ``\\t`` (the two
    characters) means a tab. ``allow_none``: an empty string or null turns it off."""
    if value is None or value == "":
        if allow_none:
            return None
        raise InvalidFormatOption(
            f"{name} must be one character, not empty.",
            fix=f"Give {name} as one character, such as ',' or '\\t' for a tab.",
            property=name,
        )
    if isinstance(value, str) and value == "\\t":
        value = "\t"
    if not isinstance(value, str) or len(value) != 1 or not value.isascii():
        raise InvalidFormatOption(
            f"{name} must be one ASCII character, not {shown(value)}.",
            fix=f"Give {name} as one character, such as ',' ';' '|' or '\\t' for a tab.",
            property=name,
        )
    if value in "\r\n":
        raise InvalidFormatOption(
            f"{name} cannot be a line break.",
            fix=f"Give {name} as another character.",
            property=name,
        )
    return value


def boolean(name: str, value: Any) -> bool:
    """True or false, as a JSON boolean or the words (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidFormatOption(
        f"{name} must be true or false, not {shown(value)}.",
        fix=f"Give {name} as true or false.",
        property=name,
    )


#: The largest whole number a count property (``skipRows``) takes: what Arrow's readers take.
MAX_COUNT = 2**31 - 1


def count(name: str, value: Any) -> int:
    """A whole number from 0 to :data:`MAX_COUNT`, as a JSON number or ASCII digits."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_COUNT:
        raise InvalidFormatOption(
            f"{name} must be a whole number from 0 to {MAX_COUNT}, not {shown(value)}.",
            fix=f"Give {name} as a number such as 0 or 2.",
            property=name,
        )
    return number


def strings(name: str, value: Any) -> tuple[str, ...]:
    """A list of strings: a JSON list, a string holding one (``'["NA", "-"]'``), or one
    string (``NA``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            with contextlib.suppress(ValueError):  # then not a list: refused below
                value = json.loads(text)
        else:
            value = [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(dict.fromkeys(value))
    raise InvalidFormatOption(
        f"{name} must be a list of strings, not {shown(value)}.",
        fix=f'Give {name} as a list such as ["NA", "-"] (or one string).',
        property=name,
    )


def encoding(value: Any) -> str:
    """The Python codec of an ``encoding`` property (``UTF-8``, ``ISO-8859-1``, …)."""
    try:
        if not isinstance(value, str) or value.strip().lower().replace("_", "-") in _NOT_FILES:
            raise LookupError(value)
        codec = codecs.lookup(value.strip()).name
        if codec in _NOT_FILES:
            raise LookupError(value)
        # A text encoding that decodes a stream piece by piece, not base64 or a compression.
        probe = "a;b".encode(codec)
        if codecs.getincrementaldecoder(codec)("strict").decode(probe, final=True) != "a;b":
            raise LookupError(value)
    except Exception:
        raise InvalidFormatOption(
            f"encoding {shown(value)} is not a text encoding lakefeed can read files in.",
            fix="Give one such as UTF-8 (the default), ISO-8859-1, windows-1252 or UTF-16.",
            property="encoding",
        ) from None
    return codec


#: Codecs Python knows that no file of rows is written in (domain names, escapes, a codec that
#: decodes nothing): refused as an ``encoding``.
_NOT_FILES = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "unicode_escape",
     "raw_unicode_escape", "mbcs", "oem", "palmos"}
)  # fmt: skip


def encoding_label(codec: str) -> str:
    """``utf-8`` → ``UTF-8``, ``iso8859-1`` → ``ISO-8859-1``: how settings show it."""
    label = codec.upper()
    return "ISO-8859-" + label[len("ISO8859-") :] if label.startswith("ISO8859-") else label


def is_utf8(codec: str) -> bool:
    return codec in ("utf-8", "utf-8-sig")


def compression(value: Any) -> str | None:
    """A ``compressionType`` property; None (null) leaves it to the extension."""
    return None if value is None else normalize(value)


class Prefixed(ReadStream):
    """``head`` (bytes read of ``rest`` already), then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)
