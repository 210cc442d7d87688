"""``FileFormat``: the class a format plugin subclasses, and what inspecting a file yields.

A format makes sense of a file's bytes; storage supplies them. Inspection gets the bytes through
a :data:`RangeReader` (ranged reads, many files at once, pinned to the listed version where the
backend pins), so it never needs a whole file; rows are read from an open file, record batch by
record batch, so memory stays bounded however large the file is.
"""

from __future__ import annotations

import difflib
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeAlias

from lakefeed.errors import InvalidFormatOption, LakefeedError
from lakefeed.files import FileEntry

if TYPE_CHECKING:
    import pyarrow as pa

#: Reads a batch of ``(entry, start, end)`` byte ranges, each of the version ``entry`` names
#: where the backend pins versions; an exception in place of a range that failed.
RangeReader = Callable[[list[tuple[FileEntry, int, int]]], list["bytes | BaseException"]]


@dataclass(frozen=True)
class InspectedFile:
    """What inspecting a file told, without reading its rows: the same three facts for every
    format. A format adds its own (statistics, the metadata it needs again to read the rows)
    in a subclass, as :class:`lakefeed.formats.parquet_footer.ParquetFooter` does."""

    entry: FileEntry
    schema: Any  # pyarrow.Schema; typed loosely so importing this module stays cheap
    #: rows in the file; None when the format cannot tell without reading them all
    num_rows: int | None

    def typed_schema(self) -> Any:
        """The schema a target inferred from this file should have (``ingest --infer``,
        ``schemas infer``): :attr:`schema` by default. A text format reads every column as
        text and infers the types from a sample; it answers those types here."""
        return self.schema

    def schema_fields(self) -> list[dict[str, Any]]:
        """The fields ``inspect`` shows: those of :meth:`typed_schema`."""
        fields = self.typed_schema()
        return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in fields]

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """The file as ``lakefeed inspect --json`` shows it; ``details``: what the format adds
        beyond the summary (Parquet: row groups with column statistics)."""
        return {
            "path": self.entry.path,
            "size": self.entry.size,
            "numRows": self.num_rows,
            "schema": self.schema_fields(),
        }


#: (entry, what inspecting it told) or (entry, the exception that stopped it)
InspectResult = tuple[FileEntry, "InspectedFile | BaseException"]

#: Longest row text a :class:`RejectedRow` keeps.
REJECTED_TEXT_CHARS = 1000


@dataclass(frozen=True)
class RejectedRow:
    """A row a format could not parse (too many or too few fields, malformed JSON, …)."""

    #: 1-based line number in the (decompressed) file or archive member for delimited files
    #: and JSON Lines; the 1-based record number in a JSON array
    number: int
    text: str | None  # the raw row (cut to REJECTED_TEXT_CHARS), None when unknown
    message: str  # what is wrong and the fix: "has 3 fields, the header has 4; …"


@dataclass(frozen=True)
class RejectedRows:
    """Rows that could not be parsed, yielded by :meth:`FileFormat.read_rows` between record
    batches: read and failed, as rows that break the target schema are."""

    rows: tuple[RejectedRow, ...]


@dataclass(frozen=True)
class PartStarted:
    """Yielded by :meth:`FileFormat.read_rows` before the rows of each archive member."""

    name: str  # the member's name inside the archive ("data/a.csv")


@dataclass(frozen=True)
class PartFailed:
    """An archive member could not be read (its rows so far do not count). ``read_rows`` goes
    on with the next member when the archive allows it, else raises ``error`` after this."""

    name: str
    error: LakefeedError


#: What :meth:`FileFormat.read_rows` yields.
RowItem: TypeAlias = "pa.RecordBatch | RejectedRows | PartStarted | PartFailed"


def schemas_agree(files: Sequence[InspectedFile]) -> bool:
    """True when every file carries the same Arrow schema (field names, types, order)."""
    if not files:
        return True
    first = files[0].schema
    return all(f.schema.equals(first, check_metadata=False) for f in files[1:])


class FileFormat(ABC):
    """A kind of file lakefeed can ingest (Parquet, …), registered by ``register_formats``.

    Instances are shared by every session and run of the process, and a run may hand one to
    another process with a conversion task: keep them free of per-file state, and picklable.

    A format inspects files from ranged reads: :meth:`first_range` names the bytes to read
    first, lakefeed reads them for many files at once, and :meth:`inspect_bytes` makes an
    :class:`InspectedFile` of them (reading more through ``read`` when it must). Override
    :meth:`inspect` instead when that shape does not fit. Rows come from :meth:`read_rows`
    (by default the record batches of :meth:`batches`). A format that takes options
    (``data.properties``) lists them in :attr:`properties` and answers :meth:`configure`
    with a configured copy.
    """

    #: the format's name: ``--format NAME``, ``lakefeed plugins``, :attr:`Preview.format`
    name: ClassVar[str]
    #: for people: "Parquet files", "Lines files"
    label: ClassVar[str]
    #: file name endings this format recognises (lower case, with the dot): explore's
    #: ``canPreview`` and a preview without a named format go by them
    extensions: ClassVar[tuple[str, ...]]
    #: the Flow Service ``data.format`` values of source connections it reads
    data_formats: ClassVar[tuple[str, ...]]
    #: the ``fileType`` of ``/explore?objectType=file`` it answers to
    file_type: ClassVar[str]
    #: files whose first ranges are read in one call of the range reader
    inspect_batch: ClassVar[int] = 64
    #: the ``data.properties`` the format accepts (:meth:`configure`), each with a one-line
    #: description for docs and error messages
    properties: ClassVar[Mapping[str, str]] = {}
    #: whether its files may come compressed or archived (``compressionType``); Parquet
    #: compresses its own pages and is not
    compressible: ClassVar[bool] = False

    # -- how it reads ----------------------------------------------------------------------------

    def configure(self, properties: Mapping[str, Any]) -> FileFormat:
        """A copy reading files as ``properties`` say (a source connection's
        ``data.properties``, explore's query parameters, ``--option KEY=VALUE``), keys spelt as
        :attr:`properties` spells them (any case). An unknown key or a bad value raises
        :class:`lakefeed.errors.InvalidFormatOption` naming it, what is accepted and the fix.
        The format itself is never changed: formats are shared.

        This default accepts no property (an empty mapping gives the format itself)."""
        self.check_properties(properties)
        return self

    def settings(self) -> dict[str, Any]:
        """The properties in effect (``describe``, ``inspect --json``); ``{}`` by default."""
        return {}

    def check_properties(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``properties`` keyed as :attr:`properties` spells the keys (given in any case);
        :class:`~lakefeed.errors.InvalidFormatOption` for a key the format does not take."""
        known = {key.lower(): key for key in self.properties}
        found: dict[str, Any] = {}
        for key, value in properties.items():
            name = known.get(str(key).lower())
            if name is None:
                raise self._unknown_property(str(key))
            if name in found:
                raise InvalidFormatOption(
                    f"Property {name!r} is given twice (as {key!r} too).",
                    fix="Give each property once.",
                    property=name,
                )
            found[name] = value
        return found

    def _unknown_property(self, key: str) -> InvalidFormatOption:
        if key.lower() == "compressiontype" and not self.compressible:
            return InvalidFormatOption(
                f"{self.label} files do not take compressionType: the format compresses its "
                "own contents, and lakefeed reads its files as they are.",
                fix="Remove compressionType, or uncompress the files before they land.",
                property=key,
            )
        accepted = ", ".join(self.properties) or "none"
        close = difflib.get_close_matches(key, list(self.properties), n=1)
        return InvalidFormatOption(
            f"Unknown property {key[:80]!r} for {self.label} files (accepted: {accepted}).",
            fix=f"Did you mean {close[0]!r}?" if close else "Remove it.",
            property=key,
        )

    # -- what it answers to --------------------------------------------------------------------

    def lookup_keys(self) -> tuple[str, ...]:
        """Every name the format is looked up by (lower case): its name, its ``data.format``
        values and its ``fileType``."""
        found = [self.name, *self.data_formats, self.file_type]
        return tuple(dict.fromkeys(key.lower() for key in found))

    def recognises(self, file_name: str) -> bool:
        """Whether ``file_name`` ends with one of :attr:`extensions` (any case)."""
        return file_name.lower().endswith(self.extensions)

    # -- inspection ----------------------------------------------------------------------------

    def inspect(self, entries: Iterable[FileEntry], read: RangeReader) -> Iterator[InspectResult]:
        """``(entry, InspectedFile or the exception that stopped it)`` for every entry, in
        order. One file's failure never stops the others.

        Entries are consumed :attr:`inspect_batch` at a time, so an endless listing streams
        through; the first ranges of a batch are read in one call of ``read``."""
        it = iter(entries)
        while batch := list(islice(it, self.inspect_batch)):
            results: dict[int, InspectedFile | BaseException] = {}
            spans: dict[int, tuple[int, int]] = {}  # files with a first range to read
            for i, entry in enumerate(batch):
                try:
                    span = self.first_range(entry)
                except Exception as exc:
                    results[i] = exc
                    continue
                if span is not None:
                    spans[i] = span
            ranges = [(batch[i], start, end) for i, (start, end) in spans.items()]
            data = dict(zip(spans, read(ranges) if ranges else [], strict=True))
            for i, entry in enumerate(batch):
                if i in results:
                    continue
                try:
                    got = data.get(i, b"")
                    if isinstance(got, BaseException):
                        raise got
                    results[i] = self.inspect_bytes(entry, got, read)
                except Exception as exc:
                    results[i] = exc
            for i, entry in enumerate(batch):
                yield entry, results[i]

    @abstractmethod
    def first_range(self, entry: FileEntry) -> tuple[int, int] | None:
        """The ``(start, end)`` byte range of ``entry`` to read first (Parquet: the tail that
        holds its footer), or None to read nothing. Raise a lakefeed error to fail the file
        without reading it (Parquet: an empty file)."""

    @abstractmethod
    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
        """What ``entry`` is, from ``data`` (the bytes of :meth:`first_range`). Read further
        ranges with ``read([(entry, start, end)])`` when ``data`` is not enough. Raise a
        lakefeed error naming the file and the fix when it is not of this format
        (:class:`lakefeed.errors.MalformedFile`, or the format's own class)."""

    # -- rows ----------------------------------------------------------------------------------

    def read_rows(self, source: Any, file: InspectedFile, *, batch_rows: int) -> Iterator[RowItem]:
        """Everything read of ``file``: record batches as :meth:`batches` gives them and, for
        formats that read rows one by one, :class:`RejectedRows` (rows that cannot be parsed:
        the caller counts them read and failed) and an archive's :class:`PartStarted` and
        :class:`PartFailed`. By default, the batches of :meth:`batches`."""
        yield from self.batches(source, file, batch_rows=batch_rows)

    @abstractmethod
    def batches(
        self, source: Any, file: InspectedFile, *, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``file`` as record batches of at most ``batch_rows`` rows, with the
        schema inspection found, read from ``source``: what
        :meth:`lakefeed.storage.session.StorageSession.reading` yields, a local path (``str``)
        or a binary file object (:func:`open_binary` takes either). ``file`` is what this
        format's :meth:`inspect` returned for it: reuse what it holds rather than read again.
        Read lazily: never the whole file in memory. A format that overrides
        :meth:`read_rows` answers the record batches of it here."""

    def preview(self, source: Any, file: InspectedFile, *, rows: int) -> list[dict[str, Any]]:
        """The first ``rows`` rows of ``file`` as Python values (read batch by batch)."""
        data: list[dict[str, Any]] = []
        for batch in self.batches(source, file, batch_rows=max(rows, 1)):
            data.extend(batch.slice(0, rows - len(data)).to_pylist())
            if len(data) >= rows:
                break
        return data

    def read_error(
        self, entry: FileEntry, exc: BaseException, error: LakefeedError
    ) -> LakefeedError:
        """The error to record for ``entry`` when reading its rows raised ``exc``, which the
        storage session translated to ``error``. Override to tell bytes this format cannot
        read from a failing backend (Parquet: Arrow's complaints become ``CorruptParquet``);
        by default, ``error``."""
        return error

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


@contextmanager
def open_binary(source: Any) -> Iterator[IO[bytes]]:
    """``source`` as :meth:`FileFormat.batches` gets it (a local path or a binary file object)
    as a binary file object; a file opened here is closed after the block, one passed in is
    left to its owner."""
    if isinstance(source, str):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


class RangeStream(io.RawIOBase):
    """``entry`` as a read-only, seekable binary file read through a :data:`RangeReader`
    (ranged reads of the listed version, on every backend): for an inspection that must read
    like a file (a text sample, a zip archive's directory). ``head`` is the file's first bytes
    when they were read already; further reads fetch ``chunk`` bytes or more at a time."""

    def __init__(
        self, entry: FileEntry, read: RangeReader, *, head: bytes = b"", chunk: int = 256 * 1024
    ) -> None:
        super().__init__()
        self.entry = entry
        self._read = read
        self._chunk = chunk
        self._pos = 0
        self._start, self._data = 0, head  # the bytes at hand and where they start

    @property
    def name(self) -> str:
        return self.entry.path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.entry.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.entry.size:
            got = self._at_hand(len(view) - done)
            if not got:
                break  # the file ended early
            view[done : done + len(got)] = got
            done += len(got)
            self._pos += len(got)
        return done

    def _at_hand(self, size: int) -> bytes:
        """Up to ``size`` bytes from the position, read when they are not at hand."""
        if not self._start <= self._pos < self._start + len(self._data):
            stop = min(self.entry.size, self._pos + max(size, self._chunk))
            (got,) = self._read([(self.entry, self._pos, stop)])
            if isinstance(got, BaseException):
                raise got
            self._start, self._data = self._pos, bytes(got)
        offset = self._pos - self._start
        return self._data[offset : offset + size]
