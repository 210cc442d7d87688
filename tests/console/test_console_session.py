"""Signing in and out of the console, CSRF on every change, sandboxes, the headers every page
carries and errors as pages — against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from api_support import FS, Server
from console_pages import assert_console_page, error_code
from console_support import CSRF, LOCAL_ORG, Console, Demo, demo_chain, sign_in
from lakefeed.api.app import MAX_BODY_BYTES
from lakefeed.catalog import tables
from lakefeed.catalog.records import Scope

SESSION = "lakefeed_console"
SANDBOX = "lakefeed_console_sandbox"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def demo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return demo_chain(server.lf, tmp_path_factory.mktemp("console-session") / "landing")


@pytest.fixture(scope="module")
def dev_demo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A flow of its own in sandbox ``dev`` of the same org."""
    server.lf.auth.create_sandbox(LOCAL_ORG, "dev")
    dev = server.lf.scoped(Scope(LOCAL_ORG, "dev"))
    landing = tmp_path_factory.mktemp("console-session-dev") / "landing"
    return demo_chain(dev, landing, name="dev-profiles")


@pytest.fixture
def console(server: Server) -> Iterator[Console]:
    signed_in = sign_in(server)
    yield signed_in
    signed_in.http.close()


def anonymous(server: Server, cookies: dict[str, str] | None = None) -> httpx.Client:
    """A browser without a session (or with the ``cookies`` given)."""
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=60, cookies=cookies)


def cookies_set(response: httpx.Response) -> dict[str, dict[str, str]]:
    """The cookies an answer sets: name → its value (key ``""``) and attributes (lowercase)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        parsed = {"": value}
        for attribute in attributes:
            key, _, setting = attribute.partition("=")
            parsed[key.lower()] = setting
        found[name] = parsed
    return found


def tokens_of(server: Server, api_key: str) -> int:
    """How many access tokens the store holds for the client ``api_key``."""
    t = tables.api_tokens
    query = sa.select(sa.func.count()).select_from(t).where(t.c.api_key == api_key)
    with server.lf.auth.engine.connect() as db:
        return int(db.scalar(query) or 0)


def rest_headers(token: str, api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "x-api-key": api_key,
        "x-gw-ims-org-id": LOCAL_ORG,
        "x-sandbox-name": "prod",
    }


# -- pages without a session --------------------------------------------------------------------


def test_the_console_root_leads_to_the_flows(server: Server) -> None:
    with anonymous(server) as http:
        for path in ("/console", "/console/"):
            answer = http.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/flows"


@pytest.mark.parametrize(
    "page", ["/console/flows", "/console/flows?state=enabled&q=a b", "/console/runs/some-run"]
)
def test_a_page_without_a_session_redirects_to_sign_in(server: Server, page: str) -> None:
    with anonymous(server) as http:
        answer = http.get(page)
    assert answer.status_code == 303
    wanted = httpx.URL(page)
    here = wanted.path + ("?" + wanted.query.decode() if wanted.query else "")
    assert answer.headers["location"] == f"/console/sign-in?next={quote(here, safe='')}"


def test_the_sign_in_form_is_labelled_and_keeps_a_local_next(server: Server) -> None:
    with anonymous(server) as http:
        page = assert_console_page(http.get("/console/sign-in?next=/console/runs/r1"), 200)
        for field in ("client_id", "client_secret", "sandbox"):
            assert f'<label for="{field}">' in page and f'id="{field}" name="{field}"' in page
        assert 'name="client_secret" type="password"' in page
        assert '<input type="hidden" name="next" value="/console/runs/r1">' in page
        elsewhere = http.get("/console/sign-in", params={"next": f"{EVIL}/"}).text
    assert '<input type="hidden" name="next" value="/console/flows">' in elsewhere
    assert "evil.example" not in elsewhere


# -- signing in ----------------------------------------------------------------------------------


def test_signing_in_sets_the_session_cookies_and_goes_next(server: Server) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    with anonymous(server) as http:
        answer = http.post(
            "/console/sign-in",
            data={"client_id": api_key, "client_secret": secret, "next": "/console/flows?q=x"},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console/flows?q=x"
        cookies = cookies_set(answer)
        assert set(cookies) == {SESSION, SANDBOX}
        for cookie in cookies.values():
            assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
            assert cookie["path"] == "/console"
            assert "secure" not in cookie  # plain http: a Secure cookie would never come back
            ttl = server.lf.auth.token_ttl_seconds
            assert ttl - 60 <= int(cookie["max-age"]) <= ttl
        assert cookies[SANDBOX][""] == "prod"
        assert http.get("/console/flows").status_code == 200
    # The session is an API token of the client: the REST API takes it as such.
    token = cookies[SESSION][""]
    listed = httpx.get(f"{server.url}{FS}/flows", headers=rest_headers(token, api_key))
    assert listed.status_code == 200, listed.text


@pytest.mark.parametrize(
    "next_page",
    [
        f"{EVIL}/",
        "//evil.example",
        "/console\\\\evil.example",
        "/console/\\evil.example",
        "/docs",
        "/consolex",
        "javascript:alert(1)",
        "/console/flows\r\nSet-Cookie: planted=1",
        "",
    ],
)
def test_a_next_page_elsewhere_falls_back_to_the_flows(server: Server, next_page: str) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    with anonymous(server) as http:
        answer = http.post(
            "/console/sign-in",
            data={"client_id": api_key, "client_secret": secret, "next": next_page},
        )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/flows"
    assert "planted" not in cookies_set(answer)


def test_wrong_credentials_show_the_form_again_without_the_secret(server: Server) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    with anonymous(server) as http:
        wrong = "p8e-" + "w" * 40
        answer = http.post("/console/sign-in", data={"client_id": api_key, "client_secret": wrong})
        page = assert_console_page(answer, 401)
        assert 'role="alert"' in page and "wrong" in page.lower()
        assert wrong not in page and secret not in page
        assert f'value="{api_key}"' in page  # kept, to try again
        assert not cookies_set(answer)
        hostile = '<b onclick="x()">k'
        unknown = http.post(
            "/console/sign-in", data={"client_id": hostile, "client_secret": secret}
        )
        page = assert_console_page(unknown, 401)
        assert hostile not in page and "&lt;b onclick=" in page
        assert secret not in page and not cookies_set(unknown)


@pytest.mark.parametrize(
    "fields",
    [{}, {"client_id": "k"}, {"client_secret": "s"}, {"client_id": " ", "client_secret": "s"}],
)
def test_empty_fields_are_asked_for(server: Server, fields: dict[str, str]) -> None:
    with anonymous(server) as http:
        answer = http.post("/console/sign-in", data=fields)
    page = assert_console_page(answer, 400)
    assert "Enter the API key" in page and not cookies_set(answer)


def test_repeated_failures_lock_the_client_id_out(server: Server) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    limit = server.app.state.login_throttle.max_per_client
    with anonymous(server) as http:
        for _ in range(limit):
            wrong = http.post("/console/sign-in", data={"client_id": api_key, "client_secret": "x"})
            assert wrong.status_code == 401
        # Locked out: even the right secret is refused until the window has passed.
        answer = http.post("/console/sign-in", data={"client_id": api_key, "client_secret": secret})
    page = assert_console_page(answer, 429)
    assert int(answer.headers["retry-after"]) > 0
    assert "Too many failed" in page and secret not in page
    assert not cookies_set(answer) and tokens_of(server, api_key) == 0


def test_a_sandbox_the_client_may_not_use_is_refused_at_sign_in(
    server: Server, dev_demo: Demo
) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG, ("prod",))
    with anonymous(server) as http:
        for sandbox, words in (("dev", "may not use"), ("nowhere", "does not exist")):
            answer = http.post(
                "/console/sign-in",
                data={"client_id": api_key, "client_secret": secret, "sandbox": sandbox},
            )
            page = assert_console_page(answer, 403)
            assert words in page
            assert not cookies_set(answer)
            # The token the exchange gave is revoked at once, not left valid.
            assert tokens_of(server, api_key) == 0


def test_a_sign_in_from_another_sites_page_is_refused(server: Server) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    form = {"client_id": api_key, "client_secret": secret}
    with anonymous(server) as http:
        for origin in (EVIL, "null", "http://127.0.0.1:1"):
            answer = http.post("/console/sign-in", data=form, headers={"Origin": origin})
            page = assert_console_page(answer, 403)
            assert error_code(page) == "LF-2004"
            assert not cookies_set(answer) and tokens_of(server, api_key) == 0
        mine = http.post("/console/sign-in", data=form, headers={"Origin": server.url})
    assert mine.status_code == 303


# -- CSRF ----------------------------------------------------------------------------------------


def actions(demo: Demo) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/console/sign-out", {}),
        ("/console/sandbox", {"sandbox": "dev"}),
        (f"/console/flows/{demo.flow_id}/disable", {}),
        (f"/console/flows/{demo.flow_id}/enable", {}),
        (f"/console/flows/{demo.flow_id}/run", {}),
        (f"/console/runs/{demo.run_id}/retry", {}),
    ]


def unchanged(server: Server, demo: Demo, console: Console) -> None:
    """Nothing the actions change has changed: the flow is enabled with its one run, and the
    session still works in prod."""
    assert server.lf.flows.flow(demo.flow_id).state == "enabled"
    assert [run.id for run in server.lf.runs.list(demo.flow_id)] == [demo.run_id]
    page = console.get("/console/flows")
    assert page.status_code == 200 and "sandbox <strong>prod</strong>" in page.text


def test_every_action_needs_the_sessions_csrf_token(
    server: Server, demo: Demo, dev_demo: Demo, console: Console
) -> None:
    other = sign_in(server)  # another session's token is as wrong as a made-up one
    for path, data in actions(demo):
        for form in (data, {**data, "csrf": "made-up"}, {**data, "csrf": other.csrf}):
            answer = console.http.post(path, data=form)
            page = assert_console_page(answer, 403)
            assert error_code(page) == "LF-2004", path
            assert not cookies_set(answer), path
        # The right token, sent by another site's page (a browser says so in Origin).
        for origin in (EVIL, "null"):
            answer = console.post(path, data, headers={"Origin": origin})
            assert error_code(assert_console_page(answer, 403)) == "LF-2004", path
            assert not cookies_set(answer), path
        unchanged(server, demo, console)
    other.http.close()


def test_an_action_without_a_session_is_refused_not_redirected(
    server: Server, demo: Demo, console: Console
) -> None:
    with anonymous(server) as http:
        for path, data in actions(demo):
            answer = http.post(path, data={**data, "csrf": console.csrf})
            page = assert_console_page(answer, 401)
            assert error_code(page) == "LF-2003", path
            assert "Sign in" in page
    unchanged(server, demo, console)


# -- signing out ---------------------------------------------------------------------------------


def test_signing_out_revokes_the_session(server: Server, demo: Demo, console: Console) -> None:
    token = console.http.cookies[SESSION]
    answer = console.post("/console/sign-out")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?signed_out=1"
    deleted = cookies_set(answer)
    assert set(deleted) == {SESSION, SANDBOX}
    for cookie in deleted.values():
        assert cookie[""] in ("", '""') and cookie["max-age"] == "0"
        assert cookie["path"] == "/console"
    signed_out = console.get("/console/sign-in?signed_out=1")
    assert "You are signed out" in assert_console_page(signed_out, 200)
    # A copy of the old cookie is worth nothing: the token itself is revoked.
    with anonymous(server, cookies={SESSION: token}) as replay:
        page = replay.get("/console/flows")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/sign-in?next=")
        action = replay.post(f"/console/flows/{demo.flow_id}/disable", data={"csrf": console.csrf})
        assert error_code(assert_console_page(action, 401)) == "LF-2003"
    assert server.lf.flows.flow(demo.flow_id).state == "enabled"
    rest = httpx.get(f"{server.url}{FS}/flows", headers=rest_headers(token, console.api_key))
    assert rest.status_code == 401 and rest.headers["www-authenticate"].startswith("Bearer")


# -- sandboxes -----------------------------------------------------------------------------------


def test_switching_sandbox_shows_that_sandboxs_flows_only(
    server: Server, demo: Demo, dev_demo: Demo, console: Console
) -> None:
    prod = console.get("/console/flows").text
    assert demo.flow_id in prod and dev_demo.flow_id not in prod
    assert '<option value="dev">dev</option>' in prod  # the client may use every sandbox
    answer = console.post("/console/sandbox", {"sandbox": "dev"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/flows"
    cookie = cookies_set(answer)[SANDBOX]
    assert cookie[""] == "dev" and "httponly" in cookie and cookie["path"] == "/console"
    dev = assert_console_page(console.get("/console/flows"), 200)
    assert dev_demo.flow_id in dev and demo.flow_id not in dev
    assert "sandbox <strong>dev</strong>" in dev
    assert console.get(f"/console/flows/{demo.flow_id}").status_code == 404
    assert console.get(f"/console/flows/{dev_demo.flow_id}").status_code == 200
    missing = console.post("/console/sandbox", {"sandbox": "nowhere"})
    assert error_code(assert_console_page(missing, 404)) == "LF-2101"
    assert not cookies_set(missing)
    assert "sandbox <strong>dev</strong>" in console.get("/console/flows").text
    back = console.post("/console/sandbox", {"sandbox": "prod"})
    assert back.status_code == 303
    assert demo.flow_id in console.get("/console/flows").text


def test_a_client_kept_to_prod_cannot_switch_to_dev(
    server: Server, demo: Demo, dev_demo: Demo
) -> None:
    console = sign_in(server, sandboxes=("prod",))
    page = console.get("/console/flows").text
    assert '<option value="dev">' not in page  # not offered
    answer = console.post("/console/sandbox", {"sandbox": "dev"})
    assert error_code(assert_console_page(answer, 403)) == "LF-2120"
    assert not cookies_set(answer)
    assert demo.flow_id in console.get("/console/flows").text
    console.http.close()


def stale_session(server: Server) -> tuple[str, str, str, str]:
    """A session of a client kept to prod whose sandbox cookie says ``dev`` (its rights
    changed, or the cookie was edited): ``(api_key, token, csrf, error page)``. The page is
    an error that offers the prod switch and sign-out forms, not a 500."""
    console = sign_in(server, sandboxes=("prod",))
    token = console.http.cookies[SESSION]
    console.http.close()
    with anonymous(server, cookies={SESSION: token, SANDBOX: "dev"}) as http:
        page = assert_console_page(http.get("/console/flows"), 403)
    assert error_code(page) == "LF-2120" and "may not use sandbox" in page
    found = CSRF.search(page)
    assert found is not None
    assert 'name="sandbox" value="prod"' in page and 'action="/console/sign-out"' in page
    return console.api_key, token, found.group(1), page


def test_a_stale_sandbox_cookie_offers_a_way_back_to_prod(
    server: Server, demo: Demo, dev_demo: Demo
) -> None:
    _, token, csrf, _ = stale_session(server)
    with anonymous(server, cookies={SESSION: token, SANDBOX: "dev"}) as http:
        back = http.post("/console/sandbox", data={"csrf": csrf, "sandbox": "prod"})
        assert back.status_code == 303, f"{back.status_code}: the way back is refused"
        assert cookies_set(back)[SANDBOX][""] == "prod"
    # (A new jar: the one above holds the hand-set cookie beside the path-scoped new one.)
    with anonymous(server, cookies={SESSION: token, SANDBOX: "prod"}) as http:
        assert demo.flow_id in http.get("/console/flows").text


def test_a_stale_sandbox_cookie_still_lets_one_sign_out(
    server: Server, demo: Demo, dev_demo: Demo
) -> None:
    api_key, token, csrf, _ = stale_session(server)
    with anonymous(server, cookies={SESSION: token, SANDBOX: "dev"}) as http:
        out = http.post("/console/sign-out", data={"csrf": csrf})
        assert out.status_code == 303, f"{out.status_code}: signing out is refused"
    assert tokens_of(server, api_key) == 0


# -- every page ----------------------------------------------------------------------------------


def test_every_page_carries_the_protective_headers(
    server: Server, demo: Demo, console: Console
) -> None:
    pages = {
        "/console/flows": 200,
        "/console/flows?q=%3Cscript%3E": 200,
        f"/console/flows/{demo.flow_id}": 200,
        f"/console/runs/{demo.run_id}": 200,
        "/console/runs/no-such-run": 404,
        "/console/flows/no-such-flow": 404,
        "/console/nowhere": 404,
        "/console/sign-out": 405,
    }
    for path, status in pages.items():
        assert_console_page(console.get(path), status)
    with anonymous(server) as http:
        assert_console_page(http.get("/console/sign-in"), 200)
        assert_console_page(http.get("/console/nowhere"), 404)
    stylesheet = console.get("/console/static/console.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith(
        "text/css"
    )
    page = console.get("/console/flows").text
    src = page.split('<script src="', 1)[1].split('"', 1)[0]
    served = console.get(src)
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]


# -- errors as pages -----------------------------------------------------------------------------


def test_unknown_ids_are_404_pages_with_the_code_and_fix(console: Console) -> None:
    for path in ("/console/runs/no-such-run", "/console/flows/no-such-flow"):
        page = assert_console_page(console.get(path), 404)
        assert error_code(page) == "LF-1104"
        assert "no-such-" in page and "<strong>Fix:</strong>" in page
        assert 'href="/console/flows"' in page  # a way back


def test_an_unknown_console_path_is_a_page(server: Server, console: Console) -> None:
    with anonymous(server) as http:
        for client in (console.http, http):
            answer = client.get("/console/nowhere/at/all")
            page = assert_console_page(answer, 404)
            assert error_code(page) == "LF-404"


def test_requests_refused_before_routing_are_pages_too(console: Console) -> None:
    """A NUL byte in the path, or a body over the server's limit, is refused by a middleware
    before any route: under /console the refusal is a page too, not the API's JSON."""
    nul = console.get("/console/runs/%00")
    assert_console_page(nul, 400)
    limit = console.http.post(
        "/console/sign-out",
        content=b"csrf=" + b"x" * MAX_BODY_BYTES,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_console_page(limit, 413)


def test_a_wrong_method_is_a_page_with_allow(server: Server, console: Console) -> None:
    answer = console.get("/console/sign-out")
    page = assert_console_page(answer, 405)
    assert answer.headers["allow"] == "POST"
    assert "not allowed" in page
    posted = console.post("/console/flows")
    assert_console_page(posted, 405)
    assert "GET" in posted.headers["allow"]


def test_invalid_query_values_are_400_pages(console: Console, demo: Demo) -> None:
    answer = console.get(f"/console/runs/{demo.run_id}", params={"offset": "-1"})
    page = assert_console_page(answer, 400)
    assert "offset" in page


def test_api_errors_outside_the_console_stay_json(server: Server) -> None:
    with anonymous(server) as http:
        answer = http.get(f"{FS}/flows")
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["report"]["code"] == "LF-2001"
        for path in ("/consolex", "/nowhere"):
            other = http.get(path)
            assert other.status_code == 404
            assert other.headers["content-type"].startswith("application/json"), path


def test_a_session_page_never_shows_the_token_or_the_secret(server: Server, demo: Demo) -> None:
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG)
    with anonymous(server) as http:
        signed = http.post("/console/sign-in", data={"client_id": api_key, "client_secret": secret})
        token = cookies_set(signed)[SESSION][""]
        for path in (
            "/console/flows",
            f"/console/flows/{demo.flow_id}",
            f"/console/runs/{demo.run_id}",
            "/console/runs/nope",
            "/console/sign-out",
        ):
            page = http.get(path).text
            assert token not in page and secret not in page, path
