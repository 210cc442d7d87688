"""Range readers: how a source type reads many files' byte ranges at once for inspection
(:data:`lakefeed.formats.RangeReader`), concurrently where the backend allows."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lakefeed.files import FileEntry
from lakefeed.formats import RangeReader


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
