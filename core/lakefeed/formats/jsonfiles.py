"""JSON files, Flow Service's ``data.format`` ``json``: JSON Lines (one object per line), a
file holding one array of objects, or objects one after another (pretty-printed); nested
objects become structs and arrays lists.

Inspection infers the fields and their types from a sample (Arrow's JSON inference); rows are
read with that schema, a block of lines at a time, by Arrow's JSON reader. A line that cannot be
read — malformed JSON, not an object, a value of another type than the sample's, a field the
sample did not have — does not fail the file: the block it is in is split until the line is
found, and it comes out as a :class:`~lakefeed.formats.base.RejectedRow` with its line number
(its record number in an array) while the other lines go on. Strings the sample showed to be
dates or timestamps are read as text, converted by the target schema row by row.

Registered through the ``lakefeed`` entry point ``json`` like any format plugin.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import MalformedFile, UndecodableText
from lakefeed.files import FileEntry
from lakefeed.formats.base import (
    FileFormat,
    InspectedFile,
    RangeReader,
    RangeStream,
    RejectedRow,
    RejectedRows,
    RowItem,
)
from lakefeed.formats.compression import ReadStream, binary, members, with_compressions
from lakefeed.formats.json_blocks import (
    isolate,
    line_blocks,
    parse,
    read_block,
    record_blocks,
)
from lakefeed.formats.json_documents import (
    ARRAY,
    LINES,
    MAX_RECORD_SIZE,
    Documents,
    is_object,
    layout_of,
)
from lakefeed.formats.text import (
    COMPRESSION_PROPERTY,
    ENCODING_PROPERTY,
    SAMPLE_BYTES,
    SAMPLE_ROWS,
    Head,
    Prefixed,
    TextFormat,
    TextSample,
    compression,
    empty_file,
    encoding,
    encoding_label,
    is_utf8,
    read_at_most,
    where,
)
from lakefeed.markers import hookimpl

if TYPE_CHECKING:
    import pyarrow as pa

#: Decompressed bytes inspection reads, at most, to find the first records when they do not
#: end in the sample (a first line longer than MAX_RECORD_SIZE is stepped over).
_SAMPLE_LIMIT = 2 * MAX_RECORD_SIZE
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class JsonSample(TextSample):
    """A JSON file as inspection sampled it: ``schema`` is what its rows are read as (dates
    and timestamps as text), ``inferred`` the types its sample suggests."""

    layout: str = LINES  # lines | array | documents, of the sampled member

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        found = super().to_dict(details=details)
        if details:
            found["layout"] = self.layout
        return found


@dataclass(frozen=True, repr=False)
class JsonFormat(TextFormat):
    """JSON Lines and JSON arrays. Configure with :meth:`configure` (``data.properties``)."""

    name = "json"
    label = "JSON"
    extensions = with_compressions((".json", ".jsonl", ".ndjson"))
    data_formats = ("json",)
    file_type = "json"
    properties: ClassVar[Mapping[str, str]] = {
        "encoding": ENCODING_PROPERTY,
        "compressionType": COMPRESSION_PROPERTY,
    }

    encoding: str = "utf-8"
    compression: str | None = None

    def configure(self, properties: Mapping[str, Any]) -> JsonFormat:
        given = self.check_properties(properties)
        changes: dict[str, Any] = {}
        if "encoding" in given:  # null is the default
            value = given["encoding"]
            changes["encoding"] = "utf-8" if value is None else encoding(value)
        if "compressionType" in given:
            changes["compression"] = compression(given["compressionType"])
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict[str, Any]:
        return {"encoding": encoding_label(self.encoding), "compressionType": self.compression}

    def __repr__(self) -> str:
        return f"<JsonFormat {self.settings()}>"

    # -- inspection ----------------------------------------------------------------------------

    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
        try:
            return super().inspect_bytes(entry, data, read)
        except _FirstRecordPastSample as short:
            # Rare: the member is read again, on to the end of its first records.
            kind = self.compression_of(entry.name)
            with _member(entry, kind, short.head.member, data, read) as stream:
                return self._sample_further(entry, short.head, short.layout, stream)

    def sample(self, entry: FileEntry, head: Head) -> JsonSample:
        here = where(entry.path, head.member)
        text = _decode(head.data, self.encoding, here, final=head.complete)
        layout = layout_of(text, final=head.complete)
        if layout is None:
            raise empty_file(entry.path, head.member, header=False)
        if layout == LINES:
            lines = text.split("\n") if head.complete else text.split("\n")[:-1]
            complete = head.complete and len(lines) <= SAMPLE_ROWS
            lines = lines[:SAMPLE_ROWS]
        else:
            stream = io.BytesIO(text.encode("utf-8"))
            records = Documents(stream, layout == ARRAY, here, final=head.complete)
            lines = []
            try:
                for _, record, _ in records:
                    lines.append(record)
                    if len(lines) >= SAMPLE_ROWS:
                        break
            except MalformedFile:
                if head.complete:
                    raise
            complete = head.complete and records.done
        if not head.complete and not any(line.strip() for line in lines):
            raise _FirstRecordPastSample(here, head, layout)
        return self._sampled(entry, lines, layout, complete and head.whole_file)

    def _sample_further(
        self, entry: FileEntry, head: Head, layout: str, stream: IO[bytes]
    ) -> JsonSample:
        """The sample of a member whose first record does not end in ``head``: its records
        read from ``stream`` (the member from its start) to :data:`SAMPLE_BYTES` past the
        first record; a line longer than :data:`MAX_RECORD_SIZE` is stepped over."""
        here = where(entry.path, head.member)
        if not is_utf8(self.encoding):
            stream = binary(_Transcoded(stream, self.encoding))
        source = _Limited(stream, _SAMPLE_LIMIT)
        lines: list[str] = []
        too_long = 0
        size, enough = 0, _SAMPLE_LIMIT
        complete = False
        try:
            if layout == LINES:
                for found in line_blocks(binary(source)):
                    if isinstance(found, RejectedRow):
                        too_long += 1
                        continue
                    text = found[1].decode("utf-8", "replace")
                    block = (text if size else text.lstrip("\ufeff")).split("\n")
                    lines.extend(block[:-1] if text.endswith("\n") else block)
                    size += len(found[1])
                    if enough == _SAMPLE_LIMIT and any(line.strip() for line in lines):
                        enough = size + SAMPLE_BYTES
                    if len(lines) >= SAMPLE_ROWS or size >= enough:
                        break
                else:
                    complete = True
                lines = lines[:SAMPLE_ROWS]
            else:
                records = Documents(binary(source), layout == ARRAY, here)
                try:
                    for _, record, _ in records:
                        lines.append(record)
                        size += len(record)
                        enough = min(enough, size + SAMPLE_BYTES)
                        if len(lines) >= SAMPLE_ROWS or size >= enough:
                            break
                except MalformedFile:
                    if not lines:
                        raise
                complete = records.done
        except _LimitReached:
            pass
        if not any(line.strip() for line in lines):
            raise MalformedFile(
                f"{here} has no record that ends in its first {_SAMPLE_LIMIT >> 20} MiB: no "
                f"line (or record) is at most {MAX_RECORD_SIZE >> 20} MiB long, the longest "
                "lakefeed reads.",
                fix="Write one JSON object per line (JSON Lines), each under "
                f"{MAX_RECORD_SIZE >> 20} MiB.",
            )
        whole = complete and head.whole_file
        return self._sampled(entry, lines, layout, whole, rejected=too_long)

    def _sampled(
        self, entry: FileEntry, lines: list[str], layout: str, whole: bool, *, rejected: int = 0
    ) -> JsonSample:
        """The sample of ``lines`` (each a record, or what should be one); ``whole``: they are
        the whole file, with ``rejected`` lines more that were too long to keep."""
        import pyarrow as pa

        good = [line.encode("utf-8") for line in lines if is_object(line)]
        inferred = _infer(good)
        schema = _readable(inferred)
        # Lines of another type than the first ones are row errors when read: left out here.
        tables = list(isolate(good, list(range(len(good))), schema)) if good else []
        found = [t for t in tables if not isinstance(t, RejectedRow)]
        rows = pa.concat_tables(found) if found else None
        inferred = _dates(inferred, rows)
        count = len([line for line in lines if line.strip()]) + rejected
        return JsonSample(
            entry,
            schema,
            num_rows=count if whole else None,
            inferred=pa.schema(inferred),
            layout=layout,
            sampled_rows=0 if rows is None else rows.num_rows,
        )

    # -- rows ----------------------------------------------------------------------------------

    def member_rows(
        self, stream: IO[bytes], file: InspectedFile, member: str, *, batch_rows: int
    ) -> Iterator[RowItem]:
        here = where(file.entry.path, member)
        if not is_utf8(self.encoding):
            stream = binary(_Transcoded(stream, self.encoding))
        peek = read_at_most(stream, 64 * 1024)
        layout = layout_of(peek.decode("utf-8", "replace"), final=len(peek) < 64 * 1024)
        if layout is None:
            more = stream.read(1)
            if not more:
                raise empty_file(file.entry.path, member, header=False)
            peek += more
            layout = LINES
        source = binary(Prefixed(peek, stream))
        try:
            if layout == LINES:
                blocks = line_blocks(source)
            else:
                blocks = record_blocks(Documents(source, layout == ARRAY, here))
            for found in blocks:
                if isinstance(found, RejectedRow):
                    yield RejectedRows((found,))
                    continue
                numbers, data = found
                yield from read_block(numbers, data, file.schema, batch_rows)
        except UnicodeDecodeError as exc:
            raise _undecodable(here, self.encoding, exc) from None


# -- inference -----------------------------------------------------------------------------------


def _infer(lines: list[bytes]) -> list[pa.Field]:
    """The fields Arrow infers from the sampled lines: from all of them, else from the longest
    first lines that agree (a later line of another type is a row error when read)."""
    if not lines:
        return []
    try:
        return list(parse(b"\n".join(lines), None).schema)
    except Exception:
        pass
    low, high = 0, len(lines)  # the first `low` lines agree; the first `high` do not
    while high - low > 1:
        middle = (low + high) // 2
        try:
            parse(b"\n".join(lines[:middle]), None)
            low = middle
        except Exception:
            high = middle
    return list(parse(b"\n".join(lines[:low]), None).schema) if low else []


def _readable(fields: list[pa.Field]) -> pa.Schema:
    """The schema rows are read with: timestamps (which Arrow infers from strings) as text,
    fields that were only ever null as text."""
    import pyarrow as pa

    return pa.schema([pa.field(f.name, _as_read(f.type)) for f in fields])


def _as_read(t: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_null(t) or pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _as_read(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_as_read(t.value_type))
    return t


def _dates(fields: list[pa.Field], rows: pa.Table | None) -> list[pa.Field]:
    """Inferred types as a schema should get them: nulls as strings; a top-level field of
    timestamps that are all dates (``2026-01-31``) as dates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = []
    for f in fields:
        t = _typed(f.type)
        if rows is not None and pa.types.is_timestamp(t):
            values = rows.column(f.name)
            dated = pc.match_substring_regex(values, _DATE.pattern)
            if pc.all(pc.or_kleene(dated, values.is_null())).as_py():
                t = pa.date32()
        out.append(pa.field(f.name, t))
    return out


def _typed(t: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _typed(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_typed(t.value_type))
    return t


# -- text ------------------------------------------------------------------------------------------


def _decode(data: bytes, codec: str, where: str, *, final: bool) -> str:
    utf8 = is_utf8(codec)
    decoder = codecs.getincrementaldecoder(codec)("replace" if utf8 else "strict")
    try:
        return decoder.decode(data, final=final).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise _undecodable(where, codec, exc) from None


def _undecodable(where: str, codec: str, exc: UnicodeDecodeError) -> UndecodableText:
    byte = exc.object[exc.start : exc.start + 1].hex() if exc.object else "?"
    return UndecodableText(
        f"{where} is not {encoding_label(codec)} text: byte 0x{byte} ({exc.reason}).",
        fix="Set the encoding property to the files' encoding (such as UTF-8 or ISO-8859-1).",
        encoding=encoding_label(codec),
    )


class _FirstRecordPastSample(MalformedFile):
    """Inspection's sample ends inside the member's first record: :meth:`JsonFormat.inspect_bytes`
    reads on."""

    def __init__(self, where: str, head: Head, layout: str) -> None:
        super().__init__(
            f"{where}: its first record does not end in the first {SAMPLE_BYTES >> 20} MiB, "
            "the sample inspection reads.",
            fix="Inspect it through FileFormat.inspect, which reads on to the first records.",
        )
        self.head = head
        self.layout = layout


@contextlib.contextmanager
def _member(
    entry: FileEntry, kind: str, name: str, head: bytes, read: RangeReader
) -> Iterator[IO[bytes]]:
    """The decompressed bytes of ``entry``'s member ``name`` (the file, when ``kind`` is
    ``none``), read from its start through ``read``; ``head``: the file's first bytes, read
    already."""
    stream = binary(RangeStream(entry, read, head=head, chunk=4 << 20))
    if kind == "none":
        yield stream
        return
    for found, member in members(stream, kind, name=entry.path):
        if found == name:
            yield member
            return
    raise MalformedFile(
        f"{where(entry.path, name)} was not found on a second read of {entry.path!r}.",
        fix="Upload the file again; it may have changed while it was inspected.",
    )


class _LimitReached(Exception):
    """More of a stream was asked for than a :class:`_Limited` allows."""


class _Limited(ReadStream):
    """A stream that raises :class:`_LimitReached` past its first ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise _LimitReached
        data = self._stream.read(self._left if size is None or size < 0 else min(size, self._left))
        self._left -= len(data)
        return data


class _Transcoded(io.RawIOBase):
    """A stream in another encoding, read as UTF-8."""

    def __init__(self, stream: IO[bytes], codec: str) -> None:
        super().__init__()
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(codec)()
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            raw = self._stream.read(len(buffer))
            self._done = not raw
            self._pending = self._decoder.decode(raw, final=self._done).encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@hookimpl
def register_formats(register: Callable[[FileFormat], None]) -> None:
    register(JsonFormat())
