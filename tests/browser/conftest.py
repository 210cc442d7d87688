"""Fixtures: one headless chromium for the whole session, one real uvicorn server per module,
and ``page``: the browser with this test's logs only, screenshotted when the test ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from api_support import Server, running_server
from browser_support import console_messages, headless_chromium, requests_seen, screenshot


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
