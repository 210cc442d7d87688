"""/docs (Swagger UI) and /redoc render in a real browser that can reach 127.0.0.1 only: every
operation of the OpenAPI document is listed, and no request goes anywhere but lakefeed."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver

from api_support import Server
from browser_support import off_origin, requests_seen, wait_for

pytestmark = pytest.mark.browser

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# (method, path) of each operation Swagger UI shows (an operation with two tags shows twice).
SWAGGER_OPERATIONS = """
return Array.from(document.querySelectorAll('.opblock'), (block) => [
    block.querySelector('.opblock-summary-method').textContent.toLowerCase(),
    block.querySelector('.opblock-summary-path').dataset.path,
]);
"""
# Redoc's section of an operation is "[tag/<tag>/]operation/<operationId>".
REDOC_OPERATIONS = """
return Array.from(document.querySelectorAll("[data-section-id*='operation/']"),
    (section) => section.dataset.sectionId.split('operation/').pop());
"""


def operations(server: Server) -> set[tuple[str, str, str]]:
    """``(method, path, operationId)`` of every operation in the server's OpenAPI document."""
    document = httpx.get(f"{server.url}/openapi.json").raise_for_status().json()
    return {
        (method, path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_docs_lists_every_operation_offline(page: webdriver.Chrome, server: Server) -> None:
    expected = operations(server)
    page.get(f"{server.url}/docs")
    listed = wait_for(
        page, lambda d: d.execute_script(SWAGGER_OPERATIONS), "Swagger UI's operations"
    )
    assert {tuple(pair) for pair in listed} == {(method, path) for method, path, _ in expected}
    assert off_origin(requests_seen(page), server.url) == []


def test_redoc_lists_every_operation_offline(page: webdriver.Chrome, server: Server) -> None:
    expected = operations(server)
    page.get(f"{server.url}/redoc")
    listed = wait_for(page, lambda d: d.execute_script(REDOC_OPERATIONS), "Redoc's operations")
    assert set(listed) == {operation_id for _, _, operation_id in expected}
    assert off_origin(requests_seen(page), server.url) == []
