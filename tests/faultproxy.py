"""Faulty network peers on 127.0.0.1, for tests of how lakefeed copes with them.

- :class:`SilentServer` accepts TCP connections and never sends a byte (a stalled endpoint, or
  something that is not the service the client expects).
- :class:`FaultProxy` is an HTTP/1.1 proxy in front of a real server (moto, Azurite, …): it
  forwards every request unchanged, except those a rule picks, which it holds without an
  answer until the proxy stops, or answers with a body cut short.

Both are context managers, serve from daemon threads, and free every connection they hold
when they stop, so clients still waiting see the connection close.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

#: Headers that belong to one connection, not to the request or answer forwarded.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


class SilentServer:
    """Accepts connections on 127.0.0.1 and answers nothing; ``accepted`` counts them."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = "127.0.0.1"
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            self._held.append(connection)
            self.accepted += 1

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self._listener.close()
        for connection in self._held:
            connection.close()
        self._thread.join(timeout=10)


class BannerServer(SilentServer):
    """Answers every connection with ``banner`` (for example an HTTP answer with a page),
    then closes it: a service that is not the one the client expects."""

    def __init__(self, banner: bytes) -> None:
        super().__init__()
        self.banner = banner

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            with connection:
                connection.settimeout(5)
                try:
                    connection.recv(65536)  # the request, if any
                    connection.sendall(self.banner)
                except OSError:
                    pass


@dataclass(frozen=True)
class ProxiedRequest:
    """What a stall rule sees of a request."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case


class FaultProxy:
    """An HTTP proxy to ``upstream`` (``http://host:port``) that holds, unanswered, every
    request for which ``stall(request)`` is true; ``stalled`` lists those requests."""

    def __init__(
        self,
        upstream: str,
        stall: Callable[[ProxiedRequest], bool] = lambda request: False,
        cut_short: Callable[[ProxiedRequest], bool] = lambda request: False,
    ) -> None:
        """``cut_short(request)``: answer it with the upstream's headers and full
        Content-Length, but only half the body, then close the connection."""
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stall = stall
        self.cut_short = cut_short
        self.stalled: list[ProxiedRequest] = []
        self.cut: list[ProxiedRequest] = []
        self.forwarded = 0
        self._stopping = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                proxy._forward(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        body = _read_body(handler, headers)
        request = ProxiedRequest(handler.command, handler.path, headers)
        if self.stall(request):
            self.stalled.append(request)
            self._stopping.wait()  # no answer; the connection closes when the proxy stops
            handler.close_connection = True
            return
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            upstream.putrequest(
                handler.command, handler.path, skip_host=True, skip_accept_encoding=True
            )
            for name, value in handler.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    upstream.putheader(name, value)
            if body or handler.command in ("PUT", "POST", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            answer = upstream.getresponse()
            content = answer.read()
            handler.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    handler.send_header(name, value)
            if handler.command == "HEAD":
                length = answer.getheader("Content-Length")
                if length is not None:
                    handler.send_header("Content-Length", length)
            else:
                handler.send_header("Content-Length", str(len(content)))
            handler.end_headers()
            if handler.command != "HEAD" and content and self.cut_short(request):
                self.cut.append(request)
                handler.wfile.write(content[: len(content) // 2])
                handler.wfile.flush()
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
            if handler.command != "HEAD":
                handler.wfile.write(content)
            self.forwarded += 1
        finally:
            upstream.close()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _read_body(handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> bytes:
    """The request body, whether sized or chunked."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def ranged_get(request: ProxiedRequest) -> bool:
    """A stall rule: object reads with a ``Range`` header (footers and data blocks)."""
    return request.method == "GET" and "range" in request.headers
