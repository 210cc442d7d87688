"""An operator's journey through the console in a real browser: sign in through the form, find
the demo flow, run it now and watch the run page follow the run to its end without a reload
(htmx), read a rejected row's reason, disable the flow, sign out. And the changes the console
refuses: a form without the session, with a wrong CSRF token, or posted by another site's page.

Every page stays on 127.0.0.1, logs no console error (no Content-Security-Policy violation)
and never shows the client secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from api_support import busy_run_workers
from browser_support import wait_for
from console_browser import (
    ConsoleSite,
    assert_clean,
    session_http,
    sign_in,
    status,
    text,
)

pytestmark = pytest.mark.browser

RUN_SECONDS = 60  # the demo's second file is 200 rows: a run takes well under a second


def test_sign_in_run_watch_disable_sign_out(
    page: webdriver.Chrome, console_site: ConsoleSite
) -> None:
    site, demo, lf = console_site, console_site.demo, console_site.server.lf
    flow_url = f"{site.url}/console/flows/{demo.flow_id}"

    # Signing in: a console page sends the browser to the form, and back once signed in.
    sign_in(page, site)
    row = page.find_element(By.CSS_SELECTOR, f'#flows tr[data-flow-id="{demo.flow_id}"]')
    assert demo.dataset in row.text and "enabled" in row.text
    assert_clean(page, site)

    # The flow's page (a boosted link: htmx swaps the page in).
    row.find_element(By.CSS_SELECTOR, f'a[href="/console/flows/{demo.flow_id}"]').click()
    wait_for(page, lambda d: text(d, "#flow-state") == "enabled", "the flow's page")
    assert page.current_url == flow_url
    assert_clean(page, site)

    # Run now, while the server's run workers are busy: the run page opens on a run in
    # progress; once the workers are free, the page follows the run to its end by itself.
    runs_before = {run.id for run in lf.runs.list(demo.flow_id)}
    with busy_run_workers(site.server):
        page.find_element(By.ID, "run-now").click()
        wait_for(page, lambda d: "/console/runs/" in d.current_url, "the new run's page")
        wait_for(page, lambda d: text(d, "#run-outcome") == "inProgress", "the run in progress")
        page.execute_script("window.lakefeedJourney = 'not reloaded'")
    wait_for(
        page,
        lambda d: text(d, "#run-outcome") not in (None, "inProgress"),
        "the run's outcome, refreshed in place",
        seconds=RUN_SECONDS,
    )
    assert page.execute_script("return window.lakefeedJourney") == "not reloaded"
    run_id = page.current_url.rsplit("/", 1)[1]
    assert {run.id for run in lf.runs.list(demo.flow_id)} - runs_before == {run_id}
    run = lf.runs.get(run_id)
    records = run.metrics["recordSummary"]
    assert (records["inputRecordCount"], records["outputRecordCount"]) == (200, 199)
    assert records["failedRecordCount"] == 1
    assert text(page, "#run-outcome") == "partial"
    assert text(page, "#records-in") == "200"
    assert text(page, "#records-out") == "199"
    assert text(page, "#records-failed") == "1"
    assert page.find_elements(By.CSS_SELECTOR, "#run-live[hx-trigger]") == []  # polling ended

    # The rejected row: its reason names the field and the code the engine recorded, and its
    # record opens on demand.
    batch_id = run.batch_id
    assert batch_id is not None
    (rejected,) = lf.row_errors.list(batch_id, limit=10, offset=0)
    (error,) = rejected.errors
    assert error["field"] == "_local.loyalty.loyaltyId"
    (shown,) = page.find_elements(By.CSS_SELECTOR, "#rejected tbody tr")
    reason = shown.find_element(By.CSS_SELECTOR, "ul.reasons li").text
    assert "_local.loyalty.loyaltyId" in reason and error["code"] in reason
    assert demo.landing.name in shown.text and str(rejected.row_index) in shown.text
    record = shown.find_element(By.CSS_SELECTOR, "details pre")
    assert not record.is_displayed()
    shown.find_element(By.CSS_SELECTOR, "details summary").click()
    wait_for(page, lambda d: record.is_displayed(), "the rejected record, opened")
    assert json.loads(record.text) == rejected.record
    assert rejected.record["_local"]["loyalty"]["loyaltyId"] is None
    assert_clean(page, site)

    # The failed rows download as JSON Lines with their reasons.
    download = page.find_element(By.CSS_SELECTOR, "a.download[download]").get_attribute("href")
    assert download is not None
    with session_http(page, site) as http:
        lines = http.get(download).raise_for_status().text.splitlines()
    assert [json.loads(line)["_errors"][0]["field"] for line in lines] == [error["field"]]

    # Back to the flow, and disable it: Run now goes away.
    page.find_element(By.CSS_SELECTOR, f'a[href="/console/flows/{demo.flow_id}"]').click()
    wait_for(page, lambda d: text(d, "#flow-state") == "enabled", "the flow's page again")
    page.find_element(By.ID, "disable").click()
    wait_for(page, lambda d: text(d, "#flow-state") == "disabled", "the disabled flow")
    assert page.current_url == flow_url
    assert page.find_elements(By.ID, "run-now") == []
    assert page.find_elements(By.ID, "enable") != []
    assert lf.flows.flow(demo.flow_id).state == "disabled"
    assert_clean(page, site)

    # Signing out revokes the session: console pages send the browser to the form again, and
    # a copy of the cookie is worthless.
    copied = session_http(page, site)
    page.find_element(By.ID, "sign-out").click()
    wait_for(page, lambda d: text(d, "[role=status]") == "You are signed out.", "signed out")
    assert page.get_cookie("lakefeed_console") is None
    page.get(flow_url)
    wait_for(page, lambda d: text(d, "h1") == "Sign in", "the sign-in form")
    assert page.current_url.startswith(f"{site.url}/console/sign-in?next=%2Fconsole%2Fflows%2F")
    with copied:
        again = copied.get("/console/flows", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/sign-in")
    assert_clean(page, site)


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """Another site (another origin: same address, another port) serving one page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=30)


def test_forged_changes_are_refused(page: webdriver.Chrome, console_site: ConsoleSite) -> None:
    site, demo, lf = console_site, console_site.demo, console_site.server.lf
    flow_url = f"{site.url}/console/flows/{demo.flow_id}"
    sign_in(page, site)
    page.get(flow_url)
    state = lf.flows.flow(demo.flow_id).state
    toggle = "disable" if state == "enabled" else "enable"  # the change each forgery tries
    form = f'form[action="/console/flows/{demo.flow_id}/{toggle}"]'
    csrf = page.find_element(By.CSS_SELECTOR, f"{form} input[name=csrf]").get_attribute("value")
    assert csrf
    runs = len(lf.runs.list(demo.flow_id))

    def unchanged() -> None:
        assert lf.flows.flow(demo.flow_id).state == state
        assert len(lf.runs.list(demo.flow_id)) == runs

    # The console's own form, its CSRF token altered in the page: 403, nothing changed.
    page.execute_script(
        "document.querySelector(arguments[0]).value = 'forged'", f"{form} input[name=csrf]"
    )
    page.find_element(By.ID, toggle).click()
    wait_for(page, lambda d: text(d, "#error-title"), "the refusal page")
    assert status(page) == 403
    assert "CSRF token" in (text(page, "[role=alert]") or "")
    unchanged()
    assert_clean(page, site, 403)

    # Another site's page posting the form, even with the right token: 403, nothing changed.
    # (Its origin is another port of the same address: the same *site* for the SameSite
    # cookie, which the browser therefore sends — the Origin check refuses it.)
    forged = (
        f'<!doctype html><title>elsewhere</title><form method="post" '
        f'action="{site.url}/console/flows/{demo.flow_id}/{toggle}">'
        f'<input type="hidden" name="csrf" value="{csrf}">'
        '<button id="forge" type="submit">Win a prize</button></form>'
    )
    with other_site(forged) as elsewhere:
        page.get(elsewhere)
        page.find_element(By.ID, "forge").click()
        wait_for(page, lambda d: text(d, "#error-title"), "the console's refusal page")
        assert page.current_url == f"{site.url}/console/flows/{demo.flow_id}/{toggle}"
        assert status(page) == 403
        assert "another site" in (text(page, "[role=alert]") or "")
        unchanged()
        assert_clean(page, site, 403, also=elsewhere)

    # Without the session cookie: 401, nothing changed; with it but from another origin: 403.
    with httpx.Client(base_url=site.url, timeout=60) as anonymous:
        for action in (toggle, "run"):
            refused = anonymous.post(f"/console/flows/{demo.flow_id}/{action}", data={"csrf": csrf})
            assert refused.status_code == 401, refused.text
            assert "text/html" in refused.headers["content-type"]
    with session_http(page, site) as http:
        refused = http.post(
            f"/console/flows/{demo.flow_id}/{toggle}",
            data={"csrf": csrf},
            headers={"Origin": "http://elsewhere.example"},
        )
        assert refused.status_code == 403, refused.text
        control = http.get(f"/console/flows/{demo.flow_id}")  # the cookie itself is good
        assert control.status_code == 200
    unchanged()

    # Pages read without JavaScript: the flows table and a run's counts are in the HTML.
    page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        page.get(f"{site.url}/console/runs/{demo.run_id}")
        assert page.execute_script("return typeof window.htmx") == "undefined"
        assert text(page, "#records-in") == "300"
        assert text(page, "#records-out") == "298"
        assert len(page.find_elements(By.CSS_SELECTOR, "#rejected tbody tr")) == 2
        page.get(f"{site.url}/console/flows")
        assert page.find_elements(By.CSS_SELECTOR, f'#flows tr[data-flow-id="{demo.flow_id}"]')
    finally:
        page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert_clean(page, site)
