"""Downloads with HTTP ``Range`` support (RFC 9110 §14): one range per request, streamed.

``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` (the last ``n`` bytes) answer 206 with
``Content-Range: bytes a-b/size``; a range that starts past the end (or ``-0``, or any range of
an empty file) answers 416 with ``Content-Range: bytes */size``. A header the server does not
understand — another unit, several ranges, bad syntax — is ignored, as RFC 9110 allows: the
whole file, 200. ``HEAD`` answers the same headers without a body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import StreamingResponse

from lakefeed.api.errors import error_response
from lakefeed.errors import RangeNotSatisfiable

CHUNK = 1024 * 1024
_SPEC = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
#: Longer digit strings are past any file's end (and int() refuses over 4,300 digits).
_MAX_DIGITS = 18


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range ``header`` asks of a file of ``size`` bytes; None for the whole file (no
    header, or one to ignore); :class:`RangeNotSatisfiable` when no byte of it exists."""
    match = _SPEC.match(header or "")
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = _number(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header or "", size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = _number(first)
    end = _number(last) if last else max(start, size - 1)
    if end < start:
        return None  # not a valid range-spec: ignored
    if start >= size:
        raise _unsatisfiable(header or "", size)
    return ByteRange(start, min(end, size - 1), size)


def _unsatisfiable(header: str, size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"The range {header.strip()[:100]!r} asks for no byte of a file of {size} bytes.",
        fix=f"Ask for bytes from 0 to {max(size - 1, 0)}, or send no Range header.",
        size=size,
    )


def download(
    opener: Callable[[], Any],
    *,
    size: int,
    name: str,
    range_header: str | None,
    head: bool,
    media_type: str = "application/octet-stream",
) -> Response:
    """The file ``opener()`` opens (a seekable binary stream, closed here), whole or the asked
    range, streamed :data:`CHUNK` bytes at a time; headers only for ``head``."""
    try:
        asked = parse_range(range_header, size)
    except RangeNotSatisfiable as exc:
        response = error_response(exc)
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    start, length = (0, size) if asked is None else (asked.start, asked.length)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(length),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
    }
    if asked is not None:
        headers["Content-Range"] = asked.content_range
    status = 200 if asked is None else 206
    if head:
        return Response(status_code=status, headers=headers, media_type=media_type)
    stream = opener()  # opened now: a missing file is a 404 before any byte is sent
    return StreamingResponse(
        _chunks(stream, start, length), status_code=status, headers=headers, media_type=media_type
    )


def _chunks(stream: Any, start: int, length: int) -> Iterator[bytes]:
    try:
        if start:
            stream.seek(start)
        left = length
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield bytes(chunk)
    finally:
        stream.close()
