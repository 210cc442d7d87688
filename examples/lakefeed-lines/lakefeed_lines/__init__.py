"""Example format plugin: text files read line by line, each line one row of one column.

The whole plugin is one ``FileFormat`` and the hook that registers it: inspection from one
ranged read per file (is it UTF-8 text, and how many lines, when that read is the whole file),
then the rows streamed as record batches. Listing and reading bytes stay the storage plugins'
business, so the format works on every backend. The template for a new format.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lakefeed import hookimpl
from lakefeed.errors import MalformedFile
from lakefeed.files import FileEntry
from lakefeed.formats import FileFormat, InspectedFile, RangeReader, open_binary

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes read to inspect a file: enough to tell text from binary data.
HEAD_BYTES = 64 * 1024


def lines_schema() -> pa.Schema:
    """One column, ``line``: the line's text without its line break."""
    import pyarrow as pa

    return pa.schema([pa.field("line", pa.string(), nullable=False)])


class LinesFormat(FileFormat):
    name = "lines"
    label = "Lines"
    extensions = (".lines", ".log")
    data_formats = ("lines",)
    file_type = "lines"

    def first_range(self, entry: FileEntry) -> tuple[int, int] | None:
        return (0, min(entry.size, HEAD_BYTES)) if entry.size else None  # empty: nothing to read

    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
        whole = len(data) == entry.size
        try:
            # A head cut inside a character is fine (final=False); a bad byte is not.
            text = codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
        except UnicodeDecodeError as exc:
            raise not_text(entry, f"byte {exc.start} is not UTF-8") from exc
        if "\x00" in text:
            raise not_text(entry, "it holds NUL bytes (binary data?)")
        if not whole:  # counting its lines would mean reading all of it: left unknown
            return InspectedFile(entry, lines_schema(), num_rows=None)
        rows = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
        return InspectedFile(entry, lines_schema(), num_rows=rows)

    def batches(
        self, source: Any, file: InspectedFile, *, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        schema = lines_schema()
        chunk: list[str] = []
        with open_binary(source) as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    chunk.append(raw.decode("utf-8").removesuffix("\n").removesuffix("\r"))
                except UnicodeDecodeError as exc:
                    raise not_text(file.entry, f"line {number} is not UTF-8") from exc
                if len(chunk) == batch_rows:
                    yield pa.record_batch([pa.array(chunk, pa.string())], schema=schema)
                    chunk = []
        if chunk:
            yield pa.record_batch([pa.array(chunk, pa.string())], schema=schema)


def not_text(entry: FileEntry, why: str) -> MalformedFile:
    return MalformedFile(
        f"{entry.path!r} is not a text file: {why}.",
        fix="Save it as UTF-8 text, or read it with another format (--format).",
    )


@hookimpl
def register_formats(register: Callable[[FileFormat], None]) -> None:
    register(LinesFormat())
