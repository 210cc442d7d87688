"""``FileFormat``: the class a format plugin subclasses, and what inspecting a file yields.

A format makes sense of a file's bytes; storage supplies them. Inspection gets the bytes through
a :data:`RangeReader` (ranged reads, many files at once, pinned to the listed version where the
backend pins), so it never needs a whole file; rows are read from an open file, record batch by
record batch, so memory stays bounded however large the file is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import LakefeedError
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

    def schema_fields(self) -> list[dict[str, Any]]:
        return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in self.schema]

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
    :meth:`inspect` instead when that shape does not fit. Rows come from :meth:`batches`.
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

    @abstractmethod
    def batches(
        self, source: Any, file: InspectedFile, *, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``file`` as record batches of at most ``batch_rows`` rows, with the
        schema inspection found, read from ``source``: what
        :meth:`lakefeed.storage.session.StorageSession.reading` yields, a local path (``str``)
        or a binary file object (:func:`open_binary` takes either). ``file`` is what this
        format's :meth:`inspect` returned for it: reuse what it holds rather than read again.
        Read lazily: never the whole file in memory."""

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
