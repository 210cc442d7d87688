"""Reading one member of a delimited file: the rows Arrow's CSV reader gives, with the rows it
rejected (too many or too few fields, bytes that are not UTF-8) numbered and placed where they
stand among the good ones, and an unclosed quote made the file's error. The format's options
come in as :class:`RowOptions`; :mod:`lakefeed.formats.delimited` drives it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from lakefeed.errors import EmptyFile, MalformedFile
from lakefeed.formats.base import RejectedRow, RejectedRows, RowItem
from lakefeed.formats.compression import ReadStream
from lakefeed.formats.text import cut_text

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class RowOptions:
    """What reading rows needs of the format: its quoting, header, skipped rows, encoding and
    block size, and how to tell a last value left open (``left_open(value, tail, codec)``)."""

    quote: str | None
    escape: str | None
    header: bool
    skip_rows: int
    encoding: str
    block_bytes: int
    left_open: Callable[[Any, bytes, str], bool]


def slices(
    batch: pa.RecordBatch, start: int, end: int, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    for at in range(start, end, batch_rows):
        yield batch.slice(at, min(batch_rows, end - at))


class MemberRows:
    """One member's read in progress: rejected rows numbered and placed between batches,
    bytes that are not UTF-8 found and rejected, an unclosed quote made the file's error."""

    def __init__(self, options: RowOptions, where: str, delimiter: str, source: Tail) -> None:
        self.options = options
        self.where = where
        self.delimiter = delimiter
        self.source = source  # the member's bytes as Arrow reads them, with their tail
        self.last: Any = None  # the last value of the last row read (pyarrow scalar)
        # Arrow numbers rows from 1 counting skipped rows and the header, not blank lines.
        self.next_number = options.skip_rows + int(options.header) + 1
        self.pending: deque[RejectedRow] = deque()  # Arrow parses a block ahead of its batch
        self.unclosed: int | None = None  # the line of a quote never closed

    def reject(self, row: Any) -> str:
        """Arrow's ``invalid_row_handler``: a row with too many or too few fields."""
        text = row.text or ""
        number = row.number if row.number is not None and row.number >= 0 else self.next_number
        if unbalanced(text, self.options.quote, self.options.escape):
            if self.unclosed is None:
                self.unclosed = number
            return "skip"
        other = "the header has" if self.options.header else "the first row has"
        message = (
            f"has {row.actual_columns} fields but {other} {row.expected_columns}: give every "
            f"row {row.expected_columns}, and quote values that hold the delimiter"
        )
        self.pending.append(RejectedRow(number, cut_text(text), message))
        return "skip"

    def batch(self, batch: pa.RecordBatch, names: list[str], batch_rows: int) -> Iterator[RowItem]:
        import pyarrow as pa

        self._check_quotes()
        before, inside = self._place(batch.num_rows)
        if batch.num_rows:
            self.last = batch.column(batch.num_columns - 1)[batch.num_rows - 1]
        if before:
            yield RejectedRows(tuple(before))
        columns, bad = as_text(batch.columns)
        rejected = inside
        first = self.next_number - batch.num_rows - len(inside)  # the batch's first row
        if bad:
            rejected = inside + self._not_utf8(batch, bad, first, inside, names)
            rejected.sort(key=lambda row: row.number)
            keep = pa.array([i not in bad for i in range(batch.num_rows)])
            columns = [c.filter(keep) for c in columns]
        out = pa.RecordBatch.from_arrays(
            columns, schema=pa.schema([pa.field(n, pa.string()) for n in names])
        )
        # Rejected rows come out where they stand among the good ones, so that every row,
        # good or rejected, keeps its place in the file (lineage and diagnostics count rows).
        done = 0
        group: list[RejectedRow] = []
        for k, row in enumerate(rejected):
            good_before = row.number - first - k
            if good_before > done:
                if group:
                    yield RejectedRows(tuple(group))
                    group = []
                yield from slices(out, done, good_before, batch_rows)
                done = good_before
            group.append(row)
        if group:
            yield RejectedRows(tuple(group))
        yield from slices(out, done, out.num_rows, batch_rows)

    def finish(self) -> Iterator[RowItem]:
        self._check_quotes()
        last_row = self.next_number - 1
        after = any(row.number > last_row for row in self.pending)  # rows after the last row
        if self.last is not None and not after:
            tail, codec = self.source.tail(), self.options.encoding
            if self.options.left_open(self.last.as_py(), tail, codec):
                raise unclosed_quote(self.where, last_row)
        rest = list(self.pending)
        self.pending.clear()
        if rest:
            yield RejectedRows(tuple(rest))

    def _place(self, count: int) -> tuple[list[RejectedRow], list[RejectedRow]]:
        """The pending rejected rows before a batch of ``count`` rows, and those among its
        rows; moves :attr:`next_number` past them all."""
        before: list[RejectedRow] = []
        while self.pending and self.pending[0].number <= self.next_number:
            row = self.pending.popleft()
            before.append(row)
            self.next_number = max(self.next_number, row.number + 1)
        inside: list[RejectedRow] = []
        end = self.next_number + count
        while count and self.pending and self.pending[0].number < end:
            inside.append(self.pending.popleft())
            end += 1
        self.next_number = end
        return before, inside

    def _check_quotes(self) -> None:
        if self.unclosed is not None:
            raise unclosed_quote(self.where, self.unclosed)

    def _not_utf8(
        self,
        batch: pa.RecordBatch,
        bad: dict[int, int],
        first: int,
        inside: list[RejectedRow],
        names: list[str],
    ) -> list[RejectedRow]:
        """Rows with bytes that are not UTF-8, numbered: the batch's rows take the numbers
        from ``first`` on that the rejected rows among them do not."""
        taken = {row.number for row in inside}
        numbers: list[int] = []
        number = first
        for _ in range(batch.num_rows):
            while number in taken:
                number += 1
            numbers.append(number)
            number += 1
        rows = []
        for index, position in sorted(bad.items()):
            values = [c[index].as_py() for c in batch.columns]
            text = self.delimiter.join(
                "" if v is None else v.decode("utf-8", "replace") for v in values
            )
            rows.append(
                RejectedRow(
                    numbers[index],
                    cut_text(text),
                    f"holds bytes that are not UTF-8 text (in column {names[position]!r}): "
                    "if the file is in another encoding, set the encoding property (such as "
                    "ISO-8859-1)",
                )
            )
        return rows

    def failure(self, exc: Exception) -> MalformedFile:
        """The file's error for what Arrow could not read past."""
        text = str(exc)
        if self.unclosed is not None:
            return unclosed_quote(self.where, self.unclosed)
        if "straddl" in text or "out of sync" in text:
            return unclosed_quote(
                self.where, self.next_number, block_bytes=self.options.block_bytes
            )
        if "empty csv" in text.lower():
            return EmptyFile(
                f"{self.where} has no rows, not even a header, after the {self.options.skip_rows} "
                "rows skipped (batch error 106).",
                fix="Check skipRows; an empty file is not ingested.",
            )
        return MalformedFile(
            f"{self.where} cannot be read as delimited text: {cut_text(text)}.",
            fix="Check columnDelimiter, quoteChar, escapeChar and skipRows.",
        )


def as_text(columns: list[pa.Array]) -> tuple[list[pa.Array], dict[int, int]]:
    """Binary columns as strings, and the rows whose bytes are not UTF-8 (row → the position
    of a column holding such bytes; null in their place). Only a column that fails is looked
    into."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: list[pa.Array] = []
    bad: dict[int, int] = {}
    for position, column in enumerate(columns):
        try:
            out.append(column.cast(pa.string()))
        except pa.ArrowInvalid:
            rows = invalid_rows(column, 0)
            for row in rows:
                bad.setdefault(row, position)
            mask = pc.is_in(pa.array(range(len(column)), pa.int64()), pa.array(rows, pa.int64()))
            out.append(pc.if_else(mask, pa.scalar(None, column.type), column).cast(pa.string()))
    return out, bad


def invalid_rows(values: pa.Array, offset: int) -> list[int]:
    """The indexes (plus ``offset``) of the values that are not UTF-8, by bisection."""
    import pyarrow as pa

    if len(values) <= 8:
        found = []
        for i in range(len(values)):
            try:
                values.slice(i, 1).cast(pa.string())
            except pa.ArrowInvalid:
                found.append(offset + i)
        return found
    half = len(values) // 2
    found = []
    for start, part in ((0, values.slice(0, half)), (half, values.slice(half))):
        try:
            part.cast(pa.string())
        except pa.ArrowInvalid:
            found.extend(invalid_rows(part, offset + start))
    return found


def unbalanced(text: str, quote: str | None, escape: str | None) -> bool:
    """Whether a rejected row holds a quote that is never closed (an odd number of quote
    characters, escaped ones aside)."""
    if not quote or quote not in text:
        return False
    if escape:
        text = text.replace(escape + escape, "").replace(escape + quote, "")
    return text.count(quote) % 2 == 1


class Tail(ReadStream):
    """A member's bytes as Arrow reads them, keeping the last ``keep`` bytes or more (the
    chunks read, not copies): what the member ends with, for :meth:`RowOptions.left_open`.
    Nothing is done per byte, so reading costs what it did."""

    def __init__(self, stream: IO[bytes], keep: int) -> None:
        super().__init__()
        self._stream = stream
        self._keep = keep
        self._chunks: deque[bytes] = deque()
        self._kept = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._chunks.append(data)
            self._kept += len(data)
            while self._kept - len(self._chunks[0]) >= self._keep:
                self._kept -= len(self._chunks.popleft())
        return data

    def tail(self) -> bytes:
        return b"".join(self._chunks)


def unclosed_quote(where: str, line: int, *, block_bytes: int | None = None) -> MalformedFile:
    """``where``: the file as :func:`lakefeed.formats.text.where` names it. With
    ``block_bytes``, Arrow lost the rows' ends after ``line``: a quote left open, or a row
    longer than its block."""
    if block_bytes is not None:
        what = (
            f"a quote opened at or after line {line} that is never closed (or a row longer "
            f"than {block_bytes >> 20} MiB)"
        )
    else:
        what = f"a quote opened on line {line} that is never closed"
    return MalformedFile(
        f"{where} has {what}: the rest of the file cannot be read as rows.",
        fix='Close the quote (a quote inside a quoted value is written twice: ""), or set '
        "quoteChar to '' when the files do not quote values.",
        line=line,
    )
