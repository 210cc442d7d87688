"""Hostile values through every console route and action: each answer is a page (HTML) with
a 2xx, 3xx or 4xx status — never a 500, never the API's JSON, never the value unescaped."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from api_support import Server
from console_support import Console, Demo, demo_chain, sign_in

#: Path segments and query values: a NUL, traversal, a long id, bad UTF-8, markup, quotes, a
#: right-to-left override, separators, a space.
HOSTILE = (
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 5000,
    "%ff%fe",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%27%22",
    "%E2%80%AE",
    "a/b/c",
    "%2e%2e",
    "%20",
)
MARKUP = "<script>alert(1)</script>"
FORM = "application/x-www-form-urlencoded"
#: Origin headers that are not this server's: malformed, empty, opaque, look-alikes.
ORIGINS = (
    "http://[",
    "null",
    "",
    "::::",
    "http://127.0.0.1.evil.example",
    "http://%zz",
    "x" * 3000,
)


@pytest.fixture(scope="module")
def demo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return demo_chain(server.lf, tmp_path_factory.mktemp("console-hostile") / "landing")


@pytest.fixture(scope="module")
def console(server: Server, demo: Demo) -> Iterator[Console]:
    signed_in = sign_in(server)
    yield signed_in
    signed_in.http.close()


def pages(demo: Demo, connection_id: str) -> list[str]:
    """Every GET route of the console, ``{}`` where a hostile value goes."""
    run, flow = demo.run_id, demo.flow_id
    return [
        "/console/flows/{}",
        "/console/runs/{}",
        "/console/runs/{}/failed/conversion_errors_0.json",
        f"/console/runs/{run}/failed/{{}}",
        f"/console/runs/{run}?offset={{}}",
        "/console/flows?state={}&status={}&q={}",
        f"/console/flows/{flow}?x={{}}",
        "/console/datasets/{}",
        f"/console/datasets/{demo.dataset}?limit={{}}&offset={{}}",
        "/console/connections/{}",
        "/console/connections/{}/explore",
        f"/console/connections/{connection_id}/explore?path={{}}",
        f"/console/connections/{connection_id}/preview?path={{}}",
        "/console/schemas/{}",
        "/console/mappings/{}",
        "/console/mappings/{}?version={}",
        "/console/sign-in?next={}",
        "/console/{}",
    ]


def assert_a_page(answer_status: int, content_type: str, text: str, url: str) -> None:
    assert answer_status < 500, f"{answer_status} for {url[:120]}"
    assert answer_status in (200, 303) or content_type.startswith("text/html"), url[:120]
    assert MARKUP not in text, f"markup echoed unescaped by {url[:120]}"


def test_hostile_values_in_every_page_route(server: Server, console: Console, demo: Demo) -> None:
    connection_id = server.lf.connections.get(f"{demo.dataset}-landing").id
    for route, value in itertools.product(pages(demo, connection_id), HOSTILE):
        url = route.replace("{}", value)
        answer = console.get(url)
        assert_a_page(answer.status_code, answer.headers.get("content-type", ""), answer.text, url)


def test_hostile_forms_on_every_action(server: Server, console: Console, demo: Demo) -> None:
    connection_id = server.lf.connections.get(f"{demo.dataset}-landing").id
    actions = [
        f"/console/flows/{demo.flow_id}/disable",
        f"/console/flows/{demo.flow_id}/enable",
        f"/console/flows/{demo.flow_id}/run",
        f"/console/runs/{demo.run_id}/retry",
        f"/console/connections/{connection_id}/test",
        "/console/sandbox",
        "/console/sign-in",
    ]
    forms: list[dict[str, object]] = [
        {"data": {"csrf": "x" * 100_000}},
        {"data": {"csrf": MARKUP, "sandbox": MARKUP, "client_id": MARKUP, "next": MARKUP}},
        {"data": {"csrf": console.csrf, "sandbox": "x" * 5000}},
        {
            "content": b"\xff\xfe not a form",
            "headers": {"content-type": "multipart/form-data; boundary=zz"},
        },
        {"content": b"csrf=%ff%00", "headers": {"content-type": FORM}},
        {"content": "csrf=café".encode(), "headers": {"content-type": FORM}},
        {"json": {"csrf": console.csrf}},
    ]
    for url, form in itertools.product(actions, forms):
        answer = console.http.post(url, **form)  # type: ignore[arg-type]
        assert_a_page(answer.status_code, answer.headers.get("content-type", ""), answer.text, url)
    for url, origin in itertools.product(actions, ORIGINS):
        answer = console.post(url, headers={"origin": origin})
        assert_a_page(answer.status_code, answer.headers.get("content-type", ""), answer.text, url)
        assert answer.status_code == 403, f"{origin!r} passed as this server's origin"
    # Nothing a hostile form sent changed the flow: it is as the demo left it.
    assert server.lf.flows.flow(demo.flow_id).state == "enabled"
