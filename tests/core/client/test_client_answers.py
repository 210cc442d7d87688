"""``lakefeed.client`` against a real HTTP server on 127.0.0.1 that is not a lakefeed server
(the URL of another service, or a proxy that rewrites answers): an answer that is not JSON, not
shaped as lakefeed's, or endless is :class:`UnexpectedAnswer` (LF-4003) naming the request and
the fix, for both clients and the CLI's ``--server``; never a ``JSONDecodeError`` or
``TypeError``, and never an answer held whole in memory."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lakefeed.client import AsyncClient, Client
from lakefeed.client import http as client_http
from lakefeed.client.errors import UnexpectedAnswer
from tests_support import lakefeed

TOKEN = json.dumps({"access_token": "t0k3n-from-the-wrong-server", "expires_in": 60}).encode()
JSON = "application/json"
CONNECTIONS = "/data/foundation/flowservice/connections"
DATASETS = "/data/foundation/catalog/dataSets"
FILE = "/data/foundation/export/files/b1-0"


class Answer:
    """What the server answers one path with: a body, or ``endless`` bytes until the client
    hangs up."""

    def __init__(
        self,
        body: bytes = b"",
        content_type: str = JSON,
        *,
        status: int = 200,
        endless: bool = False,
        gzipped: bool = False,
    ) -> None:
        self.body, self.content_type, self.status = body, content_type, status
        self.endless, self.gzipped = endless, gzipped


class WrongServer:
    """A threaded HTTP server answering each path from :attr:`answers` (the token path with a
    token unless told otherwise; any other path 404)."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {"/ims/token/v3": Answer(TOKEN)}
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                answer = answers.get(self.path.split("?")[0], Answer(b"{}", status=404))
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if answer.endless:
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"[" * 65536)
                    except OSError:  # the client hung up
                        return
                body = gzip.compress(answer.body) if answer.gzipped else answer.body
                if answer.gzipped:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def wrong() -> Iterator[WrongServer]:
    server = WrongServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, wrong: WrongServer) -> Iterator[Callable[..., Any]]:
    """``call(method, *args)``: the client's method, run to its end (a listing as a list), on
    ``Client`` or on ``AsyncClient``."""
    options: dict[str, Any] = {"api_key": "k", "client_secret": "s3cr3t-value", "ims_org_id": "o"}
    options["retries"] = 0
    if request.param == "sync":
        client = Client(wrong.url, **options)

        def run(method: str, *args: Any) -> Any:
            answer = getattr(client, method)(*args)
            return answer if isinstance(answer, dict) else list(answer)

        yield run
        client.close()
        return
    loop = asyncio.new_event_loop()
    aclient = AsyncClient(wrong.url, **options)

    async def collect(method: str, *args: Any) -> Any:
        answer = getattr(aclient, method)(*args)
        if hasattr(answer, "__aiter__"):
            return [item async for item in answer]
        return await answer

    yield lambda method, *args: loop.run_until_complete(collect(method, *args))
    loop.run_until_complete(aclient.aclose())
    loop.close()


def refused(call: Callable[..., Any], method: str, *args: Any) -> str:
    with pytest.raises(UnexpectedAnswer) as raised:
        call(method, *args)
    error = raised.value
    assert error.code == "LF-4003" and "lakefeed serve" in str(error.fix)
    assert "s3cr3t-value" not in str(error) and "t0k3n-from" not in str(error)
    return str(error)


def test_a_web_page_instead_of_a_token_is_named_not_a_decoding_error(
    wrong: WrongServer, call: Callable[..., Any]
) -> None:
    wrong.answers["/ims/token/v3"] = Answer(b"<html><h1>Welcome</h1></html>", "text/html")
    message = refused(call, "connections")
    assert "POST /ims/token/v3 on http://127.0.0.1:" in message
    assert "answered 200 (text/html), which is not JSON" in message


def test_a_token_answer_without_a_token(wrong: WrongServer, call: Callable[..., Any]) -> None:
    wrong.answers["/ims/token/v3"] = Answer(b'{"token": "elsewhere"}')
    assert "holds no access_token" in refused(call, "connections")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"message": "hello from another API"}', "is not a page of a listing"),
        (b'{"items": "notalist"}', "lists something other than objects"),
        (b'{"items": [1, 2]}', "lists something other than objects"),
        (b'{"items": [], "_links": {"next": {"href": 5}}}', "something other than a URL"),
        (b"[]", "is not a page of a listing"),
        (b"", "is not JSON"),
    ],
)
def test_a_listing_that_is_not_a_page(
    wrong: WrongServer, call: Callable[..., Any], body: bytes, said: str
) -> None:
    wrong.answers[CONNECTIONS] = Answer(body)
    message = refused(call, "connections")
    assert f"GET {CONNECTIONS} on " in message and said in message


def test_a_catalog_listing_that_is_not_objects_keyed_by_id(
    wrong: WrongServer, call: Callable[..., Any]
) -> None:
    wrong.answers[DATASETS] = Answer(b"{}")
    assert call("datasets") == []  # an empty Catalog listing is {}
    wrong.answers[DATASETS] = Answer(b'{"a": 1}')
    assert "objects keyed by id" in refused(call, "datasets")


@pytest.mark.parametrize("body", [b'"hello"', b"[1]", b"[]", b'{"items": []}'])
def test_an_entity_answer_of_another_shape(
    wrong: WrongServer, call: Callable[..., Any], body: bytes
) -> None:
    wrong.answers[f"{CONNECTIONS}/c1"] = Answer(body)
    message = refused(call, "connection", "c1")
    assert f"GET {CONNECTIONS}/c1" in message and "is not shaped as a lakefeed server's" in message


@pytest.mark.parametrize("body", [b'"hello"', b'{"items": [{"name": "no id"}]}', b"{}"])
def test_a_created_answer_without_an_id(
    wrong: WrongServer, call: Callable[..., Any], body: bytes
) -> None:
    wrong.answers[CONNECTIONS] = Answer(body, status=201)
    message = refused(call, "create_connection", "n", "spec", "Access Key", {"a": "b"})
    assert f"POST {CONNECTIONS} on" in message and "is not shaped as a lakefeed server's" in message


def test_an_endless_answer_is_refused_at_the_bound(
    wrong: WrongServer, call: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_http, "MAX_ANSWER_BYTES", 1024 * 1024)
    wrong.answers[CONNECTIONS] = Answer(endless=True)
    message = refused(call, "connections")
    assert "is longer than 1,048,576 bytes" in message


def test_a_compressed_answer_is_read_decoded(wrong: WrongServer, call: Callable[..., Any]) -> None:
    page = {"items": [{"id": "c1", "name": "drops"}], "_links": {}}
    wrong.answers[CONNECTIONS] = Answer(json.dumps(page).encode(), gzipped=True)
    assert call("connections") == page["items"]


def test_the_cli_names_the_wrong_server(wrong: WrongServer, tmp_path: Path) -> None:
    wrong.answers["/ims/token/v3"] = Answer(b"<html>sign in</html>", "text/html")
    done = lakefeed(
        tmp_path,
        "--server",
        wrong.url,
        "--api-key",
        "k",
        "--client-secret",
        "s3cr3t-value",
        "--org",
        "o",
        "connections",
        "list",
    )
    assert done.returncode == 1, done.stderr
    assert "LF-4003" in done.stderr and "which is not JSON" in done.stderr
    assert "Traceback" not in done.stderr and "LF-1999" not in done.stderr


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"<html>error</html>", "is not JSON lines"), (b'{"a": 1}\n[1]\n', "not objects")],
)
def test_a_rejected_rows_file_that_is_not_json_lines(
    wrong: WrongServer, call: Callable[..., Any], body: bytes, said: str
) -> None:
    meta = "/data/foundation/export/batches/b1/meta"
    listing = {"data": [{"name": "conversion_errors_0.json", "_links": {"self": {"href": FILE}}}]}
    wrong.answers[meta] = Answer(json.dumps(listing).encode())
    wrong.answers[FILE] = Answer(body, "application/json-seq")
    message = refused(call, "row_errors", "b1")
    assert f"GET {FILE} on" in message and said in message
