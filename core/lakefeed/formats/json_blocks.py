"""Reading JSON rows a block at a time: JSON Lines cut into blocks of whole lines (a line
longer than :data:`~lakefeed.formats.json_documents.MAX_RECORD_SIZE` stepped over as a
rejected row), an array's records gathered into blocks, and a block parsed by Arrow with the
sample's schema — or, when a line in it cannot be read, split until that line is found and
rejected with a reason a person can act on, while the others are read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from lakefeed.formats.base import REJECTED_TEXT_CHARS, RejectedRow, RejectedRows, RowItem
from lakefeed.formats.json_documents import (
    MAX_NESTING,
    MAX_RECORD_SIZE,
    Documents,
    nesting,
    too_deep,
)
from lakefeed.formats.text import SAMPLE_BYTES, SAMPLE_ROWS, cut_text

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes of lines parsed at a time (Arrow splits them among its threads).
BLOCK_BYTES = 8 << 20
#: Arrow's JSON block: lines parsed by one thread. A block holding a longer line is parsed
#: again as one block (a line may be up to MAX_RECORD_SIZE long).
ARROW_BLOCK = 1 << 20

# -- blocks of lines ----------------------------------------------------------------------------

#: The line (or record) numbers of a block's lines: (first, count) when they follow each
#: other, else the list of them.
Numbers = tuple[int, int] | list[int]


def line_blocks(stream: IO[bytes]) -> Iterator[tuple[Numbers, bytes] | RejectedRow]:
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


def record_blocks(records: Documents) -> Iterator[tuple[Numbers, bytes]]:
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


def read_block(
    numbers: Numbers, data: bytes, schema: pa.Schema, batch_rows: int
) -> Iterator[RowItem]:
    """A block's rows: parsed at once when they all parse, else split until the lines that do
    not are found (each a rejected row) and the rest parsed around them, in order."""
    try:
        table = parse(data, schema)
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
    for found in isolate(lines, numbers, schema):
        if isinstance(found, RejectedRow):
            rejected.append(found)
            continue
        if rejected:
            yield RejectedRows(tuple(rejected))
            rejected = []
        yield from found.to_batches(max_chunksize=batch_rows)
    if rejected:
        yield RejectedRows(tuple(rejected))


def isolate(
    lines: list[bytes], numbers: list[int], schema: pa.Schema
) -> Iterator[pa.Table | RejectedRow]:
    """The rows of ``lines`` that parse (as tables) and those that do not, in order."""
    try:
        yield parse(b"\n".join(lines), schema)
        return
    except Exception as exc:
        if len(lines) == 1:
            if lines[0].strip():
                yield _rejected(numbers[0], lines[0], exc, schema)
            return
    half = len(lines) // 2
    yield from isolate(lines[:half], numbers[:half], schema)
    yield from isolate(lines[half:], numbers[half:], schema)


def parse(data: bytes, schema: pa.Schema | None) -> pa.Table:
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
        table = read(ARROW_BLOCK)
    except pa.ArrowInvalid as exc:
        # A line longer than Arrow's block "straddles" blocks: the whole data as one block.
        if "straddl" not in str(exc) or len(data) < ARROW_BLOCK:
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
