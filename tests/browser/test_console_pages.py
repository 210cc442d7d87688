"""Every page of the console in a real browser, screenshotted for the console guide
(``test-artifacts/screenshots/console-<page>.png``): each answers with its status and heading,
stays on 127.0.0.1, logs no console error, never shows a secret, and passes a small
accessibility check (labels, named images, one <h1>, Tab reaches the skip link first)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from browser_support import screenshot, wait_for
from console_browser import ConsoleSite, accessibility_problems, assert_clean, sign_in, status, text
from lakefeed.testing.profiles import profile_table

pytestmark = pytest.mark.browser

#: A secret no page may show, not even its length.
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz-console-test"
#: The tallest page a screenshot takes in whole (the window grows to it, then shrinks back).
TALLEST = 1600
NAV = ["flows", "datasets", "connections", "schemas", "mappings"]


@dataclass(frozen=True)
class Page:
    """A console page: its path, the status it answers and how its <h1> starts."""

    name: str
    path: str
    heading: str
    status: int = 200


@pytest.fixture(scope="module")
def pages(console_site: ConsoleSite) -> dict[str, Page]:
    """The demo made richer for the pictures — three runs, two scheduled flows (one disabled),
    a mapping set, an S3 connection with a secret — and every page of the console over it."""
    lf, demo = console_site.server.lf, console_site.demo
    flow = lf.flows.flow(demo.flow_id)
    last = lf.run_flow(flow)  # the demo's waiting file: 200 rows, 1 rejected
    more = profile_table(120, start=500, tenant_id=lf.schemas.tenant_id, bad={7: "email"})
    pq.write_table(more, demo.landing / "profiles-2.parquet")
    lf.run_flow(flow)
    for name, frequency in (("hourly", "hour"), ("nightly", "day")):
        other = lf.flows.create_flow(
            name=f"{demo.dataset}-{name}",
            source_connection_ids=[flow.source_connection_id],
            target_connection_ids=flow.target_connection_ids,
            schedule={"startTime": int(time.time()) + 3600, "frequency": frequency, "interval": 1},
        )
    lf.flows.set_flow_state(other.id, "disabled")
    landing = next(c for c in lf.connections.list() if c.name == f"{demo.dataset}-landing")
    archive = lf.create_connection(
        "archive-bucket",
        "amazon-s3",
        "Access Key",
        {"s3AccessKey": "AKIACONSOLETEST", "s3SecretKey": S3_SECRET, "bucketName": "archive"},
        description="Last year's exports (a connection's secret is never shown).",
    )
    (dataset,) = [d for d in lf.datasets.list() if d.name == demo.dataset]
    mapping_set = lf.create_mapping_set(
        {
            "outputSchema": {"schemaRef": {"id": demo.schema_id}},
            "mappings": [
                {"sourceType": "ATTRIBUTE", "source": "member", "destination": "_id"},
                {
                    "sourceType": "EXPRESSION",
                    "source": "upper(trim(first))",
                    "destination": "person.name.firstName",
                },
                {
                    "sourceType": "EXPRESSION",
                    "source": "concat('L-', member)",
                    "destination": "_local.loyalty.loyaltyId",
                },
            ],
        }
    )
    listed = [
        Page("flows", "/console/flows", "Flows"),
        Page("datasets", "/console/datasets", "Datasets"),
        Page("connections", "/console/connections", "Connections"),
        Page("schemas", "/console/schemas", "Schemas"),
        Page("mappings", "/console/mappings", "Mapping sets"),
    ]
    one = [
        Page("flow", f"/console/flows/{flow.id}", f"Flow {flow.name}"),
        Page("run", f"/console/runs/{last.id}", f"Run {last.id}"),
        Page("dataset", f"/console/datasets/{dataset.id}", f"Dataset {dataset.name}"),
        Page("connection", f"/console/connections/{archive.id}", f"Connection {archive.name}"),
        Page(
            "connection-explore",
            f"/console/connections/{landing.id}/explore",
            f"Explore {landing.name}",
        ),
        Page(
            "connection-preview",
            f"/console/connections/{landing.id}/preview?path=profiles-1.parquet",
            "Preview of profiles-1.parquet",
        ),
        Page("schema", f"/console/schemas/{quote(demo.schema_id, safe='')}", "Loyalty Profiles"),
        Page("mapping", f"/console/mappings/{mapping_set.id}", "Mapping set"),
        Page("error", "/console/flows/no-such-flow", "", status=404),
    ]
    return {page.name: page for page in (*listed, *one)}


@pytest.fixture(scope="module")
def signed_in(browser: webdriver.Chrome, console_site: ConsoleSite) -> Iterator[webdriver.Chrome]:
    sign_in(browser, console_site)
    assert_clean(browser, console_site)
    yield browser


def picture(driver: webdriver.Chrome, name: str) -> Path:
    """``console-<name>.png`` of the whole page (up to :data:`TALLEST` pixels high)."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    tall = driver.execute_script("return document.documentElement.scrollHeight")
    if tall > height:
        driver.set_window_size(width, min(tall + (height - _viewport(driver)), TALLEST))
    try:
        return screenshot(driver, f"console-{name}")
    finally:
        driver.set_window_size(width, height)


def _viewport(driver: webdriver.Chrome) -> int:
    inner: int = driver.execute_script("return window.innerHeight")
    return inner


def visit(driver: webdriver.Chrome, site: ConsoleSite, page: Page) -> None:
    """Load ``page``, check it, and take its picture."""
    driver.get(site.url + page.path)
    wait_for(driver, lambda d: text(d, "h1") is not None, f"the {page.name} page's heading")
    assert status(driver) == page.status, text(driver, "main")
    heading = text(driver, "h1") or ""
    assert heading.startswith(page.heading), (page.heading, heading)
    assert S3_SECRET not in driver.page_source
    assert_clean(driver, site, page.status)
    picture(driver, page.name)  # before the keyboard check focuses the skip link
    problems = accessibility_problems(driver)
    assert problems == [], f"{page.name}: {problems}"


def test_sign_in_page(browser: webdriver.Chrome, console_site: ConsoleSite) -> None:
    browser.delete_all_cookies()
    visit(browser, console_site, Page("sign-in", "/console/sign-in", "Sign in"))
    assert browser.find_elements(By.CSS_SELECTOR, "nav[aria-label=Sections]") == []


def test_the_nav_lists_every_section(
    signed_in: webdriver.Chrome, console_site: ConsoleSite, pages: dict[str, Page]
) -> None:
    signed_in.get(f"{console_site.url}/console/flows")
    links = signed_in.find_elements(By.CSS_SELECTOR, "nav[aria-label=Sections] a")
    assert [link.get_attribute("href") for link in links] == [
        f"{console_site.url}{pages[name].path}" for name in NAV
    ]


@pytest.mark.parametrize(
    "name",
    [
        *NAV,
        "flow",
        "run",
        "dataset",
        "connection",
        "connection-explore",
        "connection-preview",
        "schema",
        "mapping",
        "error",
    ],
)
def test_page(
    signed_in: webdriver.Chrome, console_site: ConsoleSite, pages: dict[str, Page], name: str
) -> None:
    visit(signed_in, console_site, pages[name])


def test_flow_page_charts_the_runs(
    signed_in: webdriver.Chrome, console_site: ConsoleSite, pages: dict[str, Page]
) -> None:
    signed_in.get(console_site.url + pages["flow"].path)
    charts = signed_in.find_elements(By.CSS_SELECTOR, ".charts svg[role=img]")
    assert len(charts) == 2
    runs = len(console_site.server.lf.runs.list(console_site.demo.flow_id))
    assert len(signed_in.find_elements(By.CSS_SELECTOR, "#runs tbody tr")) == runs
    assert_clean(signed_in, console_site)


def test_run_page_shows_the_rejected_rows(
    signed_in: webdriver.Chrome, console_site: ConsoleSite, pages: dict[str, Page]
) -> None:
    signed_in.get(console_site.url + pages["run"].path)
    assert text(signed_in, "#records-failed") == "1"
    assert len(signed_in.find_elements(By.CSS_SELECTOR, "#rejected tbody tr")) == 1
    assert_clean(signed_in, console_site)
