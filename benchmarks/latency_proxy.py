"""An HTTP/1.1 proxy on 127.0.0.1 that adds a fixed delay to every request it passes.

Put its URL where a client expects its server (an S3 ``serviceUrl``) to see how lakefeed
behaves when each request costs a round trip to a distant region, as real object storage
does, while the server is a local emulator (moto)::

    from latency_proxy import LatencyProxy

    with LatencyProxy("http://127.0.0.1:5000", delay_ms=25) as proxy:
        params = {..., "serviceUrl": proxy.url}
        ...
        print(proxy.requests)  # requests passed so far

Each request is read whole, held ``delay_ms`` milliseconds, then passed on; the answer comes
back as the server sent it. Clients keep their connections alive and may open as many as they
like: each client connection gets its own upstream connection, and delays of concurrent
requests overlap (a request waits only for its own delay), as on a network.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024


class LatencyProxy:
    """``LatencyProxy(upstream_url, delay_ms)``: a context manager; inside it :attr:`url` is
    the proxy's address and :attr:`requests` counts the requests passed (any method)."""

    def __init__(self, upstream_url: str, delay_ms: float) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = max(float(delay_ms), 0.0) / 1000
        self.requests = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="latency-proxy", daemon=True
        )
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> LatencyProxy:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> str:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0, limit=HEAD_LIMIT), self._loop
        )
        self._server = started.result(timeout=30)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def reset(self) -> None:
        """Count from zero again."""
        self.requests = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, headers = _method(head), _headers(head)
                body = await _read_body(reader, headers, method=None)
                self.requests += 1
                if self.delay:
                    await asyncio.sleep(self.delay)
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream, limit=HEAD_LIMIT)
                up_reader, up_writer = upstream
                up_writer.write(head + body)
                await up_writer.drain()
                answer_head = await _read_head(up_reader)
                if answer_head is None:
                    return
                answer_headers = _headers(answer_head)
                bodiless = method == "HEAD" or _status(answer_head) in (204, 304)
                answer = await _read_body(
                    up_reader, answer_headers, method=method, bodiless=bodiless
                )
                writer.write(answer_head + answer)
                await writer.drain()
                delimited = not bodiless and not _framed(answer_headers)
                if delimited or _closes(answer_headers) or _closes(headers):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError, asyncio.CancelledError):
            return
        finally:
            for stream in (writer, upstream[1] if upstream else None):
                if stream is not None and not stream.is_closing():
                    stream.close()


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    except asyncio.LimitOverrunError:
        raise ConnectionError("header too large") from None


def _method(head: bytes) -> str:
    return head.split(b" ", 1)[0].decode("latin-1").upper()


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
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
