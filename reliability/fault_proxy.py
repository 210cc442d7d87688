"""An HTTP/1.1 proxy on 127.0.0.1 that injects faults into a share of the requests it passes.

Put its URL where a client expects its server (an S3 ``serviceUrl``): each request is read
whole, then, with probability ``rate``, one fault of ``kinds`` is injected instead of (or
into) the answer:

- ``reset``: the connection is closed with a TCP RST, no answer;
- ``5xx``: ``503 Slow Down`` with S3's XML error body, the request never reaches the server;
- ``truncated``: the server's answer is sent with its full ``Content-Length`` but half of its
  body, then the connection is closed (answers without a body are passed whole, uncounted);
- ``stall``: no answer at all until the client gives up (closes) or ``stall_seconds`` pass.

Everything else is passed through on one upstream connection per client connection.
``counts`` tells how many requests passed and how many faults of each kind were injected.
Choices come from a seeded generator; with concurrent clients their order, so the exact
requests hit, depends on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

KINDS = ("reset", "5xx", "truncated", "stall")
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
HEAD_LIMIT = 64 * 1024


class FaultProxy:
    def __init__(self, upstream: str, *, seed: int, stall_seconds: float = 600.0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rng = random.Random(seed)
        self.stall_seconds = stall_seconds
        self.rate = 0.0
        self.kinds: tuple[str, ...] = KINDS
        self.counts: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.url = ""

    # -- control (from any thread) -------------------------------------------------------------

    def start(self) -> str:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0), self._loop
        )
        self._server = started.result(timeout=30)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def set_faults(self, rate: float, kinds: Sequence[str] = KINDS) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)} (known: {KINDS})")
        self.rate, self.kinds = rate, tuple(kinds)

    @property
    def faults(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind in KINDS)

    # -- one client connection -----------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, headers = _request_line(head), _headers(head)
                body = await _read_body(reader, headers, method=None)
                self.counts["requests"] += 1
                kind = self._choose()
                if kind == "reset":
                    self.counts[kind] += 1
                    _reset(writer)
                    return
                if kind == "stall":
                    self.counts[kind] += 1
                    await self._stall(reader)
                    _reset(writer)
                    return
                if kind == "5xx":
                    self.counts[kind] += 1
                    writer.write(
                        b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(SLOW_DOWN), SLOW_DOWN)
                    )
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                up_reader, up_writer = upstream
                up_writer.write(head + body)
                await up_writer.drain()
                answer_head = await _read_head(up_reader)
                if answer_head is None:
                    _reset(writer)
                    return
                answer_headers = _headers(answer_head)
                bodiless = method == "HEAD" or _status(answer_head) in (204, 304)
                answer = await _read_body(
                    up_reader, answer_headers, method=method, bodiless=bodiless
                )
                if kind == "truncated" and len(answer) > 1:
                    self.counts[kind] += 1
                    writer.write(answer_head + answer[: len(answer) // 2])
                    await writer.drain()
                    _reset(writer)
                    return
                writer.write(answer_head + answer)
                await writer.drain()
                delimited = not bodiless and not _framed(answer_headers)
                if delimited or _closes(answer_headers) or _closes(headers):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            return
        finally:
            for stream in (writer, upstream[1] if upstream else None):
                if stream is not None and not stream.is_closing():
                    stream.close()

    def _choose(self) -> str | None:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)

    async def _stall(self, reader: asyncio.StreamReader) -> None:
        """Hold the request until the client closes its end or ``stall_seconds`` pass."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(1), self.stall_seconds)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (linger 0) instead of FIN: what a crashed peer or middlebox sends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    except asyncio.LimitOverrunError:
        raise ConnectionError("header too large") from None


def _request_line(head: bytes) -> str:
    return head.split(b" ", 1)[0].decode("latin-1").upper()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _status(head: bytes) -> int:
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _framed(headers: dict[str, str]) -> bool:
    """Whether a message's end is marked by a length or chunking (not by closing)."""
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")


def _closes(headers: dict[str, str]) -> bool:
    return headers.get("connection", "").lower() == "close"


async def _read_body(
    reader: asyncio.StreamReader,
    headers: dict[str, str],
    *,
    method: str | None,
    bodiless: bool = False,
) -> bytes:
    """The raw body bytes after a head (chunk framing kept). ``method`` is the request's for
    an answer, None for a request; ``bodiless`` answers (to HEAD, 204, 304) have none."""
    if bodiless:
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            raw += size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    raw += line
                    if line == b"\r\n":
                        return bytes(raw)
            raw += await reader.readexactly(size + 2)
    length = headers.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if method is None:
        return b""  # a request without a length has no body
    return await reader.read()  # an answer delimited by closing the connection
