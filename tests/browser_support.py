"""A real browser for tests: Debian's headless chromium driven by Selenium through Debian's
chromedriver, able to reach 127.0.0.1 only; what it requested; screenshots as test artifacts.

``tests/servers/start.sh`` installs the ``chromium`` and ``chromium-driver`` packages. Selenium
is given both paths, so Selenium Manager (which would download a browser) never runs.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

#: The browser itself, not Debian's /usr/bin/chromium wrapper: the wrapper adds Google API
#: keys and remote extensions, and a test browser needs neither.
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
WINDOW = (1366, 1000)

#: Every host name resolves to nothing but 127.0.0.1, and whatever is not 127.0.0.1 goes to a
#: proxy that is not there (port 9, discard): no request can leave the machine.
LOOPBACK_ONLY = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)
#: Chromium's own traffic (updates, sync, safe browsing, metrics) is switched off too.
QUIET = (
    "--headless=new",
    "--no-sandbox",  # the tests run as root, where chromium's sandbox refuses to start
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-pings",
    "--mute-audio",
)
#: URL schemes that are not network requests (chrome: the browser's own pages).
# (chrome-untrusted: chromium's own new-tab page, which it may load before the test's page)
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "chrome-untrusted"})


class _LoopbackService(Service):
    """chromedriver addressed as 127.0.0.1 (Selenium's default is ``localhost``)."""

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def missing_browser() -> str | None:
    """Why the browser cannot start (with the fix), or None when it can."""
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(str(path)) is None]
    if not absent:
        return None
    return (
        f"{', '.join(absent)} not found: the browser tests need Debian's chromium and "
        "chromium-driver packages. Run `bash tests/servers/start.sh` as root (it installs "
        "them) or `apt-get install chromium chromium-driver`."
    )


@contextmanager
def headless_chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """A headless chromium (profile in ``profile``) that reaches 127.0.0.1 only and records
    the requests of its pages in the ``performance`` log (see :func:`requests_seen`)."""
    reason = missing_browser()
    if reason is not None:
        raise RuntimeError(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*QUIET, *LOOPBACK_ONLY):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=_LoopbackService(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def requests_seen(driver: webdriver.Chrome) -> list[str]:
    """The URLs the browser's pages requested since the last call: every attempt, including
    those the loopback rules made fail, but not those the page's own Content-Security-Policy
    blocked (the browser never sends them, on any network)."""
    sent: list[tuple[str, str]] = []  # (request id, URL): a redirect keeps its request's id
    blocked = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            sent.append((params["requestId"], params["request"]["url"]))
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason") == "csp":
            blocked.add(params["requestId"])
    return [url for request, url in sent if request not in blocked]


def off_origin(urls: list[str], origin: str) -> list[str]:
    """The network requests among ``urls`` that went anywhere but ``origin``
    (``http://127.0.0.1:port``)."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in LOCAL_SCHEMES and not url.startswith(f"{origin}/")
    ]


def console_messages(driver: webdriver.Chrome) -> list[str]:
    """The pages' console messages since the last call (for failure messages)."""
    return [str(entry.get("message")) for entry in driver.get_log("browser")]


def wait_for(
    driver: webdriver.Chrome,
    condition: Callable[[webdriver.Chrome], Any],
    what: str,
    seconds: float = 30,
) -> Any:
    """``condition``'s first truthy result, polled until a deadline; on timeout an
    AssertionError naming ``what`` with the page's console messages and requests."""
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"{what}: not seen within {seconds} s on {driver.current_url}; "
            f"console: {console_messages(driver)}; requests: {requests_seen(driver)}"
        ) from None


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The visible page as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_')}.png"
    driver.save_screenshot(str(path))
    return path
