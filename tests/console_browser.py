"""The console in a real browser: the site the browser tests sign in to, and what they check on
every page — it stays on 127.0.0.1, logs no console error (a Content-Security-Policy violation
is one), answers with the expected status, and passes a small accessibility check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from api_support import Server
from browser_support import off_origin, requests_seen, wait_for
from console_support import Demo

SESSION_COOKIE = "lakefeed_console"

#: What is wrong with the page for a keyboard or screen-reader user: form controls without a
#: label, images and SVGs without a role and a title (or alt text), buttons without a name,
#: and anything but one <h1>.
A11Y_PROBLEMS = """
const problems = [];
const named = (el) => el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button', 'reset'].includes(el.type)) continue;
  const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
  if (!byFor && !named(el) && !el.closest('label'))
    problems.push('form control without a label: ' + el.outerHTML.slice(0, 120));
}
for (const el of document.querySelectorAll('button, input[type=submit]')) {
  if (!(el.textContent.trim() || el.value || named(el)))
    problems.push('button without a name: ' + el.outerHTML.slice(0, 120));
}
for (const svg of document.querySelectorAll('svg:not(svg svg)')) {
  if (svg.closest('[aria-hidden="true"]')) continue;
  if (!svg.getAttribute('role') || !svg.querySelector(':scope > title'))
    problems.push('svg without role and title: ' + svg.outerHTML.slice(0, 120));
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt') && !named(img))
    problems.push('img without alt: ' + img.outerHTML.slice(0, 120));
}
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) problems.push(`${h1} <h1> elements`);
return problems;
"""
#: A focus point before everything else on the page (for pages that focus a field on load).
FOCUS_TOP = """
const top = document.createElement('span');
top.tabIndex = -1;
document.body.prepend(top);
top.focus();
"""
ACTIVE = "const a = document.activeElement; return a ? a.outerHTML.slice(0, 120) : '';"
TEXT = "const el = document.querySelector(arguments[0]); return el ? el.textContent.trim() : null;"


@dataclass(frozen=True)
class ConsoleSite:
    """A running server with the demo chain in org ``local``, sandbox ``prod``, and the API key
    and secret of a client of that org (to type into the sign-in form)."""

    server: Server
    demo: Demo
    api_key: str
    secret: str

    @property
    def url(self) -> str:
        return self.server.url


def text(driver: webdriver.Chrome, css: str) -> str | None:
    """The trimmed text of the first element matching ``css`` (None when there is none), read
    in one script so that an htmx swap cannot make the element stale in between."""
    found: str | None = driver.execute_script(TEXT, css)
    return found


def status(driver: webdriver.Chrome) -> int:
    """The HTTP status of the page the browser loaded last (a full load, not an htmx swap)."""
    code: int = driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus"
    )
    return code


def browser_errors(driver: webdriver.Chrome, *expected_statuses: int) -> list[str]:
    """The console errors and warnings since the last call, except the browser's note on a
    page answered with one of ``expected_statuses`` (an error page the test asked for)."""
    allowed = tuple(f"status of {code} " for code in expected_statuses)
    return [
        str(entry["message"])
        for entry in driver.get_log("browser")
        if entry["level"] in ("SEVERE", "WARNING")
        and not any(words in str(entry["message"]) for words in allowed)
    ]


def assert_clean(
    driver: webdriver.Chrome, site: ConsoleSite, *expected_statuses: int, also: str = ""
) -> None:
    """Since the last check: no request went anywhere but the console's server (or ``also``,
    another origin the test itself opened), no console error, and the secret is not shown."""
    requests = off_origin(requests_seen(driver), site.url)
    if also:
        requests = off_origin(requests, also)
    assert requests == [], f"requests off 127.0.0.1's console server: {requests}"
    errors = browser_errors(driver, *expected_statuses)
    assert errors == [], f"console errors on {driver.current_url}: {errors}"
    assert site.secret not in driver.page_source


def accessibility_problems(driver: webdriver.Chrome) -> list[str]:
    """:data:`A11Y_PROBLEMS` of the page, and whether Tab from the top of the page reaches the
    skip link first (the page must be freshly loaded, nothing focused but what it autofocuses)."""
    problems: list[str] = driver.execute_script(A11Y_PROBLEMS)
    if driver.execute_script("return document.activeElement !== document.body"):
        driver.execute_script(FOCUS_TOP)  # e.g. the sign-in form focuses its first field
    ActionChains(driver).send_keys(Keys.TAB).perform()
    focused: str = driver.execute_script(ACTIVE)
    if 'class="skip"' not in focused:
        problems.append(f"Tab from the top focuses {focused!r}, not the skip link")
    return problems


def sign_in(driver: webdriver.Chrome, site: ConsoleSite) -> None:
    """Sign in through the form: a console page sends the browser to it, the key and secret
    are typed in, and the browser comes back to the page it asked for."""
    driver.delete_all_cookies()  # cookies ignore ports: none of another test's server
    driver.get(f"{site.url}/console/flows")
    wait_for(driver, lambda d: text(d, "h1") == "Sign in", "the sign-in form")
    assert "/console/sign-in?next=" in driver.current_url
    driver.find_element(By.ID, "client_id").send_keys(site.api_key)
    driver.find_element(By.ID, "client_secret").send_keys(site.secret)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(driver, lambda d: text(d, "h1") == "Flows", "the flows page after signing in")
    assert driver.current_url == f"{site.url}/console/flows"


def session_http(driver: webdriver.Chrome, site: ConsoleSite) -> httpx.Client:
    """An httpx client carrying the browser's session cookie (as a copied cookie would)."""
    cookie: dict[str, Any] | None = driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "the browser holds no session cookie"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    return httpx.Client(base_url=site.url, cookies={SESSION_COOKIE: cookie["value"]}, timeout=60)
