"""Reading ahead: each file version's footer inspected once, and small files' bytes fetched
while the files before them convert.

- :data:`FOOTERS` keeps what inspecting a file version told (its :class:`InspectedFile`, or
  for a Parquet footer the footer's own bytes, parsed again when asked), bounded in bytes, so
  that ``ingest --infer`` — which inspects the files to infer the schema, then runs a flow
  that inspects them again — reads each footer once.
- :class:`BodyBuffer` holds whole small files read during a run's inspection (one GET for the
  whole file instead of one for its tail), bounded in bytes, until their conversion takes them.

Both hold only file versions the backend pins (a version id or an etag in the listing, every
read conditional on it, :meth:`SourceType.pins_version`): what they keep was read of exactly
that version, so serving it later is as correct as reading it then. Files of backends that do
not pin are inspected and read as before.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from lakefeed.storage.entries import FileEntry

if TYPE_CHECKING:
    from lakefeed.formats import FileFormat, InspectedFile, RangeReader

#: Bytes of inspection results (estimated) kept per process for files inspected again.
FOOTER_CACHE_BYTES = 64 * 2**20
#: Bytes of small files read ahead of their conversion, per session.
BODY_BUFFER_BYTES = 64 * 2**20
#: Files up to this size are read whole during a run's inspection.
WHOLE_FILE_BYTES = 4 * 2**20
#: Inspected files the run's inspection may be ahead of conversion.
AHEAD_FILES = 1024


class BoundedCache:
    """A least-recently-used map holding at most ``max_bytes`` (as its callers count them);
    safe to use from several threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


#: Inspection results by (session scope, format, file version).
FOOTERS = BoundedCache(FOOTER_CACHE_BYTES)


def version_key(entry: FileEntry) -> tuple[str, int, str | None, str | None]:
    """One version of one file, as a pinned read names it."""
    return (entry.path, entry.size, entry.etag, entry.version)


def scope_key(spec_id: str, auth: Any) -> str:
    """The storage a session reads, and with which credentials, as a digest (never the
    credentials themselves): two connections to the same storage share inspection results
    only when they are the same connection."""
    params = json.dumps(
        {"spec": spec_id, "name": auth.spec_name, "params": dict(auth)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(params.encode()).hexdigest()


def format_key(file_format: Any) -> str:
    """A format and the settings it reads with."""
    try:
        settings = json.dumps(file_format.settings(), sort_keys=True, default=str)
    except (TypeError, ValueError):
        settings = repr(file_format.settings())
    return f"{type(file_format).__module__}.{type(file_format).__qualname__}|{settings}"


#: What a parsed inspection result is counted as when it cannot be packed: a nested footer
#: of 5 KB parses into about 100 KB of Python and Arrow objects.
PARSED_RESULT_BYTES = 128 * 1024
#: Counted for a packed result besides its bytes: the key and the objects around them.
PACKED_OVERHEAD_BYTES = 512


def cached_form(result: Any) -> tuple[Any, int]:
    """What :data:`FOOTERS` keeps of an inspection result, and the bytes it is counted as: the
    result packed (a Parquet footer's own bytes; parsed again when asked, 0.5 ms) when it can
    be, else the result itself, counted as parsed results weigh."""
    packed = getattr(result, "packed", None)
    data = packed() if callable(packed) else None
    if isinstance(data, bytes):
        return _Packed(type(result).unpack, data), len(data) + PACKED_OVERHEAD_BYTES
    return result, PARSED_RESULT_BYTES


@dataclass(frozen=True)
class _Packed:
    unpack: Callable[[FileEntry, bytes], Any]
    data: bytes


def from_cache(found: Any, entry: FileEntry) -> Any:
    """The inspection result of ``entry``'s version that :data:`FOOTERS` held as ``found``,
    naming ``entry`` as this listing has it."""
    if isinstance(found, _Packed):
        return found.unpack(entry, found.data)
    return _as_listed(found, entry)


class BodyBuffer:
    """Whole files read ahead of their conversion: at most ``max_bytes``, reserved before a
    file is read. Conversion :meth:`take`\\ s a file's bytes. The reader waits for room
    (:meth:`reserve`) while the caller still has inspected files to go on with; once the
    caller waits for the next file (:meth:`starving`) and there is no room, files are
    inspected from their tails only, read again by their conversion."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = BODY_BUFFER_BYTES if max_bytes is None else max_bytes
        self._bodies: dict[Hashable, bytes] = {}
        self._size = 0  # held and reserved
        self._changed = threading.Condition()
        self._starving = False
        self.stopped = False

    def reserve(self, sizes: list[int]) -> int:
        """Reserve room for the first files of ``sizes`` that fit, waiting until the first
        fits, nothing is held, or the caller waits for more files; the number of files
        reserved (0 once stopped)."""
        with self._changed:
            self._changed.wait_for(
                lambda: (
                    self.stopped
                    or self._starving
                    or self._size == 0
                    or self._size + sizes[0] <= self.max_bytes
                )
            )
            if self.stopped:
                return 0
            count = 0
            for size in sizes:
                if self._size + size > self.max_bytes and self._size > 0:
                    break
                self._size += size
                count += 1
            return count

    def starving(self, waiting: bool) -> None:
        """The caller waits (True) for the next inspected file, or goes on (False)."""
        with self._changed:
            self._starving = waiting
            self._changed.notify_all()

    def put(self, key: Hashable, data: bytes | None, reserved: int) -> None:
        """Hold ``data`` for ``key`` (None: the read failed) in ``reserved`` bytes' place."""
        with self._changed:
            self._size -= reserved
            if data is not None and not self.stopped:
                old = self._bodies.pop(key, None)
                if old is not None:
                    self._size -= len(old)
                self._bodies[key] = data
                self._size += len(data)
            self._changed.notify_all()

    def peek(self, key: Hashable) -> bytes | None:
        with self._changed:
            return self._bodies.get(key)

    def take(self, key: Hashable) -> bytes | None:
        with self._changed:
            data = self._bodies.pop(key, None)
            if data is not None:
                self._size -= len(data)
                self._changed.notify_all()
            return data

    def stop(self) -> None:
        """Hold nothing more and wake a waiting reader."""
        with self._changed:
            self.stopped = True
            self._bodies.clear()
            self._size = 0
            self._changed.notify_all()


def ahead(
    produce: Callable[[], Iterator[Any]],
    *,
    limit: int = AHEAD_FILES,
    waiting: Callable[[bool], None] | None = None,
) -> Iterator[Any]:
    """The items of ``produce()``, produced on a thread of their own at most ``limit`` ahead
    of the caller, so that what producing them waits for (storage) overlaps with what the
    caller does with them. An exception of the producer is raised here, in its place; closing
    this iterator stops the producer. ``waiting(True)`` is called when the caller has to wait
    for the next item, ``waiting(False)`` when it has it."""
    import queue

    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=limit)
    stop = threading.Event()

    def send(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                items.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in produce():
                if not send("item", item):
                    return
        except BaseException as exc:  # handed to the consuming thread
            send("error", exc)
        else:
            send("end", None)

    worker = threading.Thread(target=run, name="lakefeed-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            try:
                kind, value = items.get_nowait()
            except queue.Empty:
                if waiting is not None:
                    waiting(True)
                kind, value = items.get()
                if waiting is not None:
                    waiting(False)
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


def inspect_once(
    entries: Iterable[FileEntry],
    file_format: FileFormat,
    read: RangeReader,
    *,
    scope: Hashable,
    pins: Callable[[FileEntry], bool],
    prefetch: Callable[[list[FileEntry]], None] | None,
) -> Iterator[tuple[FileEntry, InspectedFile | BaseException]]:
    """``file_format.inspect(entries, read)``, but a pinned file version inspected before
    (under ``scope``: the session and the format) answers from :data:`FOOTERS` without a
    request; with ``prefetch``, such small files are handed to it, to be read whole for
    their conversion as far as there is room."""
    it = iter(entries)
    while chunk := list(islice(it, file_format.inspect_batch)):
        pinned = {i for i, entry in enumerate(chunk) if pins(entry)}
        known = {}
        for i in pinned:
            found = FOOTERS.get((scope, version_key(chunk[i])))
            if found is not None:
                known[i] = from_cache(found, chunk[i])
        wanted = [chunk[i] for i in known if 0 < chunk[i].size <= WHOLE_FILE_BYTES]
        if wanted and prefetch is not None:
            prefetch(wanted)
        rest = [entry for i, entry in enumerate(chunk) if i not in known]
        fresh = file_format.inspect(rest, read) if rest else iter(())
        for i, entry in enumerate(chunk):
            if i in known:
                yield entry, known[i]
                continue
            entry, result = next(fresh)
            if i in pinned and not isinstance(result, BaseException):
                FOOTERS.put((scope, version_key(entry)), *cached_form(result))
            yield entry, result


def _as_listed(found: InspectedFile, entry: FileEntry) -> InspectedFile:
    """An inspection result of ``entry``'s version, naming ``entry`` as this listing has it."""
    if found.entry == entry:
        return found
    try:
        return replace(found, entry=entry)
    except TypeError:  # a result class that cannot be copied so: the same version still
        return found


def prefetch_bodies(read: RangeReader, bodies: BodyBuffer) -> Callable[[list[FileEntry]], None]:
    """Read small files whole into ``bodies`` as far as it has room; the files it has no room
    for are not read at all (their conversion reads them), never read only to be dropped."""

    def prefetch(entries: list[FileEntry]) -> None:
        fresh = [e for e in entries if bodies.peek(version_key(e)) is None]
        room = bodies.reserve([e.size for e in fresh]) if fresh else 0
        chosen = fresh[:room]
        got = read([(e, 0, e.size) for e in chosen]) if chosen else []
        for entry, data in zip(chosen, got, strict=True):
            whole = data if isinstance(data, bytes) and len(data) == entry.size else None
            bodies.put(version_key(entry), whole, entry.size)

    return prefetch


def whole_small_files(
    read: RangeReader, bodies: BodyBuffer, pins: Callable[[FileEntry], bool]
) -> RangeReader:
    """``read``, with the ranges of small pinned files read whole into ``bodies`` (as far as
    it has room, in the same batch of requests) and served from there."""

    def through(ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
        out: dict[int, bytes | BaseException] = {}
        whole: list[int] = []
        asked: list[int] = []
        seen: set[Hashable] = set()
        for i, (entry, start, end) in enumerate(ranges):
            key = version_key(entry)
            body = bodies.peek(key)
            if body is not None:
                out[i] = body[start:end]
            elif key not in seen and 0 < entry.size <= WHOLE_FILE_BYTES and pins(entry):
                seen.add(key)
                whole.append(i)
            else:
                asked.append(i)
        room = bodies.reserve([ranges[i][0].size for i in whole]) if whole else 0
        asked += whole[room:]
        whole = whole[:room]
        batch = [(ranges[i][0], 0, ranges[i][0].size) for i in whole]
        batch += [ranges[i] for i in asked]
        got = read(batch) if batch else []
        for n, (i, data) in enumerate(zip(whole + asked, got, strict=True)):
            entry, start, end = ranges[i]
            if n < len(whole):  # the whole file: kept, and the range cut from it
                body = data if isinstance(data, bytes) and len(data) == entry.size else None
                bodies.put(version_key(entry), body, entry.size)
                if isinstance(data, bytes):
                    data = data[start:end]
            out[i] = data
        return [out[i] for i in range(len(ranges))]

    return through
