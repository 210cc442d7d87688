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
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import MalformedFile, UndecodableText
from lakefeed.files import FileEntry
from lakefeed.formats.base import (
    REJECTED_TEXT_CHARS,
    FileFormat,
    InspectedFile,
    RangeReader,
    RangeStream,
    RejectedRow,
    RejectedRows,
    RowItem,
)
from lakefeed.formats.compression import binary, members
from lakefeed.formats.json_documents import (
    ARRAY,
    LINES,
    MAX_NESTING,
    MAX_RECORD_SIZE,
    Documents,
    is_object,
    layout_of,
    nesting,
    too_deep,
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
    cut_text,
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

#: Bytes of lines parsed at a time (Arrow splits them among its threads).
BLOCK_BYTES = 8 << 20
#: Arrow's JSON block: lines parsed by one thread. A block holding a longer line is parsed
#: again as one block (a line may be up to MAX_RECORD_SIZE long).
_ARROW_BLOCK = 1 << 20
#: Decompressed bytes inspection reads, at most, to find the first records when they do not
#: end in the sample (a first line longer than MAX_RECORD_SIZE is stepped over).
_SAMPLE_LIMIT = 2 * MAX_RECORD_SIZE
_COMPRESSED = ("", ".gz", ".gzip", ".bz2", ".zst", ".zstd", ".deflate", ".zz")
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
    extensions = tuple(base + ext for base in (".json", ".jsonl", ".ndjson") for ext in _COMPRESSED)
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
                for found in _line_blocks(binary(source)):
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
        tables = list(_isolate(good, list(range(len(good))), schema)) if good else []
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
                blocks = _line_blocks(source)
            else:
                blocks = _record_blocks(Documents(source, layout == ARRAY, here))
            for found in blocks:
                if isinstance(found, RejectedRow):
                    yield RejectedRows((found,))
                    continue
                numbers, data = found
                yield from _read_block(numbers, data, file.schema, batch_rows)
        except UnicodeDecodeError as exc:
            raise _undecodable(here, self.encoding, exc) from None


# -- blocks of lines ----------------------------------------------------------------------------

#: The line (or record) numbers of a block's lines: (first, count) when they follow each
#: other, else the list of them.
Numbers = tuple[int, int] | list[int]


def _line_blocks(stream: IO[bytes]) -> Iterator[tuple[Numbers, bytes] | RejectedRow]:
    """JSON Lines as blocks of whole lines, with the number of each block's first line. A line
    longer than :data:`MAX_RECORD_SIZE` is a :class:`RejectedRow`, read on to its end without
    being kept; a line longer than a block is kept in the blocks read (joined once)."""
    line = 1
    held: list[bytes] = []  # a line begun in the blocks read, not ended yet
    size = 0  # bytes in ``held``
    skipping = False  # inside a line too long to keep
    while chunk := stream.read(BLOCK_BYTES):
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            skipping, line = False, line + 1
            chunk = chunk[end + 1 :]
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            if chunk:
                held.append(chunk)
                size += len(chunk)
            if size > MAX_RECORD_SIZE:
                yield _too_long(line, held[0])
                held, size, skipping = [], 0, True
            continue
        if held:
            end = chunk.find(b"\n")
            if size + end > MAX_RECORD_SIZE:
                yield _too_long(line, held[0])
                held, size, line = [], 0, line + 1
                chunk, cut = chunk[end + 1 :], cut - end - 1
        block = b"".join((*held, chunk[:cut])) if held else chunk[:cut]
        held = [chunk[cut:]] if cut < len(chunk) else []
        size = len(chunk) - cut
        if block:
            count = block.count(b"\n")
            yield (line, count), block
            line += count
    if held and not skipping:
        data = b"".join(held)
        if data.strip():
            yield (line, 1), data


def _too_long(number: int, start: bytes) -> RejectedRow:
    text = start[: 4 * REJECTED_TEXT_CHARS].decode("utf-8", "replace")
    return RejectedRow(
        number,
        cut_text(text),
        f"is longer than {MAX_RECORD_SIZE >> 20} MiB, the longest line lakefeed reads: split "
        "the record, or check that the file has a line break after each object",
    )


def _record_blocks(records: Documents) -> Iterator[tuple[Numbers, bytes]]:
    """An array's (or a stream of objects') records as blocks of lines, one a record."""
    numbers: list[int] = []
    lines: list[str] = []
    size = 0
    for number, text, _ in records:
        # A line break in valid JSON is whitespace between tokens: a record on one line.
        numbers.append(number)
        lines.append(text.replace("\r", " ").replace("\n", " "))
        size += len(text)
        if size >= BLOCK_BYTES:
            yield numbers, "\n".join(lines).encode("utf-8")
            numbers, lines, size = [], [], 0
    if lines:
        yield numbers, "\n".join(lines).encode("utf-8")


def _read_block(
    numbers: Numbers, data: bytes, schema: pa.Schema, batch_rows: int
) -> Iterator[RowItem]:
    """A block's rows: parsed at once when they all parse, else split until the lines that do
    not are found (each a rejected row) and the rest parsed around them, in order."""
    try:
        table = _parse(data, schema)
    except Exception:
        table = None
    if table is not None:
        # Arrow hands a block back in 1 MiB chunks: one batch per chunk would mean small
        # batches, and small row groups and slow writes downstream.
        yield from table.combine_chunks().to_batches(max_chunksize=batch_rows)
        return
    lines = data.split(b"\n")
    if isinstance(numbers, tuple):
        first, _ = numbers
        numbers = list(range(first, first + len(lines)))
    rejected: list[RejectedRow] = []
    for found in _isolate(lines, numbers, schema):
        if isinstance(found, RejectedRow):
            rejected.append(found)
            continue
        if rejected:
            yield RejectedRows(tuple(rejected))
            rejected = []
        yield from found.to_batches(max_chunksize=batch_rows)
    if rejected:
        yield RejectedRows(tuple(rejected))


def _isolate(
    lines: list[bytes], numbers: list[int], schema: pa.Schema
) -> Iterator[pa.Table | RejectedRow]:
    """The rows of ``lines`` that parse (as tables) and those that do not, in order."""
    try:
        yield _parse(b"\n".join(lines), schema)
        return
    except Exception as exc:
        if len(lines) == 1:
            if lines[0].strip():
                yield _rejected(numbers[0], lines[0], exc, schema)
            return
    half = len(lines) // 2
    yield from _isolate(lines[:half], numbers[:half], schema)
    yield from _isolate(lines[half:], numbers[half:], schema)


def _parse(data: bytes, schema: pa.Schema | None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.json as pj

    def read(block_size: int) -> pa.Table:
        return pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(block_size=block_size),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="error"
            ),
        )

    try:
        table = read(_ARROW_BLOCK)
    except pa.ArrowInvalid as exc:
        # A line longer than Arrow's block "straddles" blocks: the whole data as one block.
        if "straddl" not in str(exc) or len(data) < _ARROW_BLOCK:
            raise
        table = read(len(data) + 1)
    if not data.isascii():
        table.validate(full=True)  # Arrow's JSON reader takes strings that are not UTF-8
    if schema is not None and table.schema != schema:
        table = table.select(schema.names).cast(schema)
    return table


def _rejected(number: int, line: bytes, exc: BaseException, schema: pa.Schema) -> RejectedRow:
    text = line.decode("utf-8", "replace").strip()
    return RejectedRow(number, cut_text(text), _problem(line, exc, schema))


_CHANGED = re.compile(r"Column\((?P<path>[^)]*)\) changed from (?P<old>\w+) to (?P<new>\w+)")
_UNPARSED = re.compile(r"Failed to convert JSON to (?P<type>[\w\[\], ]+), couldn't parse:(?P<v>.*)")


def _problem(line: bytes, exc: BaseException, schema: pa.Schema) -> str:
    """Why one line cannot be read, and the fix."""
    try:
        value = json.loads(line)
    except RecursionError:
        return too_deep()
    except UnicodeDecodeError:
        return (
            "holds bytes that are not UTF-8 text: if the file is in another encoding, set the "
            "encoding property (such as ISO-8859-1)"
        )
    except ValueError as error:
        reason = getattr(error, "msg", str(error))
        column = getattr(error, "colno", None)
        at = f" at column {column}" if column else ""
        return f"is not valid JSON ({reason}{at}): write one JSON object per line"
    if not isinstance(value, dict):
        return f"is a JSON {_kind(value)}, not an object: write one JSON object per line"
    if nesting(value) > MAX_NESTING:
        return too_deep()
    message = str(exc)
    if "unexpected field" in message:
        extra = _unexpected(value, schema)
        return (
            f"has the field {extra!r}, which the rows inspection sampled (the first "
            f"{SAMPLE_ROWS:,} rows or {SAMPLE_BYTES >> 20} MiB) do not have: put a row with "
            "every field near the start of the file"
        )
    if match := _CHANGED.search(message):
        path = ".".join(p for p in match["path"].split("/") if p and p != "[]") or "(row)"
        return (
            f"field {path!r} is a {match['new']} here but a {match['old']} in the rows "
            "inspection sampled: give the field one type in every row"
        )
    if match := _UNPARSED.search(message):
        return (
            f"holds {match['v'].strip()} where the rows inspection sampled hold "
            f"{match['type']} values: give the field one type in every row"
        )
    return f"cannot be read: {message.removeprefix('JSON parse error: ')}"


def _unexpected(value: dict[str, Any], schema: Any, prefix: str = "") -> str:
    """The first field of ``value`` (a path) that ``schema`` does not have."""
    import pyarrow as pa

    names = {f.name: f.type for f in schema}
    for key, item in value.items():
        if key not in names:
            return prefix + key
        t = names[key]
        if isinstance(item, dict) and pa.types.is_struct(t):
            found = _unexpected(item, list(t), f"{prefix}{key}.")
            if found:
                return found
        if isinstance(item, list) and pa.types.is_list(t) and pa.types.is_struct(t.value_type):
            for element in item:
                if isinstance(element, dict):
                    found = _unexpected(element, list(t.value_type), f"{prefix}{key}[].")
                    if found:
                        return found
    return ""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


# -- inference -----------------------------------------------------------------------------------


def _infer(lines: list[bytes]) -> list[pa.Field]:
    """The fields Arrow infers from the sampled lines: from all of them, else from the longest
    first lines that agree (a later line of another type is a row error when read)."""
    if not lines:
        return []
    try:
        return list(_parse(b"\n".join(lines), None).schema)
    except Exception:
        pass
    low, high = 0, len(lines)  # the first `low` lines agree; the first `high` do not
    while high - low > 1:
        middle = (low + high) // 2
        try:
            _parse(b"\n".join(lines[:middle]), None)
            low = middle
        except Exception:
            high = middle
    return list(_parse(b"\n".join(lines[:low]), None).schema) if low else []


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


class _Limited(io.RawIOBase):
    """A stream that raises :class:`_LimitReached` past its first ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

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
