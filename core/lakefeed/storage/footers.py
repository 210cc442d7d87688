"""Reading many footers at once: one ranged read per file, concurrent where the backend allows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from lakefeed.errors import CorruptParquet, NotParquet
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.parquet import (
    MAGIC,
    ParquetFooter,
    check_size,
    footer_length,
    parse_footer,
    tail_range,
)

#: (entry, footer) or (entry, the exception that stopped it)
FooterResult = tuple[FileEntry, ParquetFooter | BaseException]
#: Reads a batch of ``(entry, start, end)`` byte ranges, each of the version ``entry`` names
#: where the backend pins versions; an exception in place of a range that failed.
RangeReader = Callable[[list[tuple[FileEntry, int, int]]], list[bytes | BaseException]]


def _ok(result: bytes | BaseException) -> bytes:
    if isinstance(result, BaseException):
        raise result
    return result


def _finish(entry: FileEntry, tail: bytes, read: RangeReader) -> ParquetFooter:
    try:
        needed = footer_length(entry, tail)
    except NotParquet as exc:
        # Only now pay for the head: a file that starts like Parquet was cut short.
        head = tail[:4] if len(tail) == entry.size else _ok(read([(entry, 0, 4)])[0])
        if head == MAGIC:
            raise CorruptParquet(
                f"{entry.path!r} is truncated: it starts like a Parquet file but its footer "
                "is missing (an upload still in progress, or an interrupted copy?).",
                fix="Upload the complete file again.",
            ) from exc
        raise
    if needed > len(tail):
        tail = _ok(read([(entry, entry.size - needed, entry.size)])[0])
    return parse_footer(entry, tail)


def read_footers(
    entries: Iterable[FileEntry],
    read: RangeReader,
    *,
    batch_size: int = 64,
) -> Iterator[FooterResult]:
    """Footers of ``entries`` in order; ``read`` fetches a batch of ranges in one call.

    Entries are consumed ``batch_size`` at a time so an endless listing streams through.
    """
    it = iter(entries)
    while batch := list(islice(it, batch_size)):
        ranges, readable = [], []
        results: dict[int, ParquetFooter | BaseException] = {}
        for i, entry in enumerate(batch):
            try:
                check_size(entry)
            except Exception as exc:
                results[i] = exc
                continue
            start, end = tail_range(entry)
            ranges.append((entry, start, end))
            readable.append(i)
        tails = read(ranges) if ranges else []
        for i, tail in zip(readable, tails, strict=True):
            try:
                results[i] = _finish(batch[i], _ok(tail), read)
            except Exception as exc:
                results[i] = exc
        for i, entry in enumerate(batch):
            yield entry, results[i]


def async_reader(fs: Any) -> RangeReader:
    """Ranges through ``cat_ranges``: concurrent requests on an async filesystem's event loop
    (of whatever version is current: no pinning)."""

    def read(ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
        entries, starts, ends = (list(x) for x in zip(*ranges, strict=True))
        paths = [entry.path for entry in entries]
        return list(fs.cat_ranges(paths, starts, ends, on_error="return"))

    return read


def pooled_reader(
    pool: ThreadPoolExecutor, read_range: Callable[[FileEntry, int, int], bytes]
) -> RangeReader:
    """Ranges read by ``read_range(entry, start, end)`` on ``pool``'s threads; an exception is
    returned in place of its range's bytes, so one bad file never stops the others."""

    def read_one(r: tuple[FileEntry, int, int]) -> bytes | BaseException:
        try:
            return bytes(read_range(*r))
        except Exception as exc:
            return exc

    return lambda ranges: list(pool.map(read_one, ranges))
