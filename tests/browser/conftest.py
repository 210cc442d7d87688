"""Fixtures: one headless chromium for the whole session, one real uvicorn server per module,
``page``: the browser with this test's logs only, screenshotted when the test ends, and
``console_site``: a server whose console shows the demo chain, with an API client to sign in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from api_support import Server, running_server
from browser_support import console_messages, headless_chromium, requests_seen, screenshot
from console_browser import ConsoleSite
from console_support import LOCAL_ORG, demo_chain


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser-home")) as running:
        yield running


@pytest.fixture
def page(browser: webdriver.Chrome, request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    """The browser, its request and console logs emptied of earlier tests'; the page as the
    test left it is saved as ``test-artifacts/screenshots/<test name>.png``, pass or fail."""
    requests_seen(browser)
    console_messages(browser)
    try:
        yield browser
    finally:
        screenshot(browser, request.node.name)


@pytest.fixture(scope="module")
def console_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """One server per module whose ``LAKEFEED_LOCAL_ROOTS`` covers the demo's landing folder."""
    base = tmp_path_factory.mktemp("console")
    landing = base / "landing"
    landing.mkdir()
    with running_server(base / "home", local_roots=[landing]) as running:
        demo = demo_chain(running.lf, landing)
        api_key, secret = running.lf.auth.create_client(LOCAL_ORG)
        yield ConsoleSite(running, demo, api_key, secret)
