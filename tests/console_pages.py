"""What every console page must be, checked on an httpx answer: HTML with the headers that keep
it on this server (CSP without inline script or style, no caching, no framing), and no inline
script, style or event handler in its markup; and small readers of the pages' tables."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import httpx

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)


class _Inline(HTMLParser):
    """The inline styles and code of a page: ``style`` attributes, ``on…`` event handlers,
    ``<style>`` elements and ``javascript:`` links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_console_page(response: httpx.Response, status: int | None = None) -> str:
    """Assert the answer is a console page (of ``status``, when given); returns its HTML."""
    if status is not None:
        alert = re.search(r'role="alert"[^>]*>(.*?)<', response.text, re.S)
        shown = html.unescape(alert.group(1)) if alert else response.text[:300]
        assert response.status_code == status, f"{response.status_code}: {shown}"
    assert response.headers["content-type"].startswith("text/html"), response.headers
    csp = response.headers["content-security-policy"]
    directives = {words[0]: words[1:] for part in csp.split(";") if (words := part.split())}
    assert directives["default-src"] == ["'none'"], csp
    assert directives["script-src"] == ["'self'"], csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    for attributes, body in SCRIPT.findall(page):
        assert "src=" in attributes and not body.strip(), f"inline script: {body[:200]!r}"
    inline = _Inline()
    inline.feed(page)
    assert not inline.found, inline.found
    return page


def error_code(page: str) -> str:
    """The ``LF-…`` code an error page shows."""
    found = re.search(r"HTTP \d{3} · (LF-\d+)", page)
    assert found is not None, page[:2000]
    return found.group(1)


def by_id(page: str, element_id: str) -> str:
    """The text of the leaf element with ``element_id`` (up to its first child or end tag)."""
    found = re.search(rf'\bid="{re.escape(element_id)}"[^>]*>([^<]*)<', page)
    assert found is not None, f"no element #{element_id}"
    return html.unescape(found.group(1)).strip()


class _Table(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.table_id = table_id
        self.depth = 0
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            if tag == "table" and dict(attrs).get("id") == self.table_id:
                self.depth = 1
            return
        if tag == "table":
            self.depth += 1
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0:
            return
        if tag == "table":
            self.depth -= 1
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The rows of the table with ``table_id`` (its header row first), as cell texts."""
    parser = _Table(table_id)
    parser.feed(page)
    assert parser.rows, f"no table #{table_id}"
    return parser.rows
