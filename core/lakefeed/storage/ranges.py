"""Range readers: how a source type reads many files' byte ranges at once for inspection
(:data:`lakefeed.formats.RangeReader`), concurrently where the backend allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lakefeed.files import FileEntry
from lakefeed.formats import RangeReader
from lakefeed.storage.versions import broken_transfer


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


def gathered_reader(
    fs: Any,
    read_async: Callable[[FileEntry, int, int], Awaitable[bytes]],
    read_again: Callable[[FileEntry, int, int], bytes],
    concurrency: int,
) -> RangeReader:
    """Ranges read by the coroutine ``read_async(entry, start, end)``, all of a batch on
    ``fs``'s event loop at once, at most ``concurrency`` in flight: no thread per request,
    so a batch costs about its slowest requests, as bare concurrent GETs would. A range that
    failed or came back short is read again with ``read_again`` (the backend's retrying
    read) in the calling thread; an exception is returned in place of a range that still
    fails."""
    from fsspec.asyn import sync

    async def gather(ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
        gate = asyncio.Semaphore(concurrency)

        async def one(entry: FileEntry, start: int, end: int) -> bytes:
            async with gate:
                return await read_async(entry, start, end)

        return list(await asyncio.gather(*(one(*r) for r in ranges), return_exceptions=True))

    def read(ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
        results = sync(fs.loop, gather, ranges)
        for i, (entry, start, end) in enumerate(ranges):
            got = results[i]
            expected = max(min(end, entry.size) - start, 0)
            if isinstance(got, bytes) and len(got) == expected:
                continue
            if isinstance(got, BaseException) and not isinstance(got, Exception):
                raise got
            if isinstance(got, BaseException) and not broken_transfer(got):
                continue  # decided (a changed file), or a timeout: not worth another try
            try:
                results[i] = bytes(read_again(entry, start, end))
            except Exception as exc:
                results[i] = exc
        return results

    return read
