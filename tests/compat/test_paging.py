"""Flow Service lists as clients page them (issue 13, items 1 and 3): ``_links.next.href`` is
``/connections?continuationToken=TOKEN``, relative to the service, token first; the token alone
carries the filters, order and page size; ``orderby``, several ``property`` (AND), nested run
filters, and ``count`` with ``limit``.

The loops follow links the way SDKs do: split the href on ``continuationToken=`` and send the
token (alone, or with the first request's parameters again), or prepend the base path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_support import ORG, Server
from compat.flowservice_parts import (
    FS,
    Pipeline,
    build_pipeline,
    error_code,
    local_connection,
    ok,
)
from lakefeed.catalog.records import Scope

NAMES = ["page-c", "page-a", "page-g", "page-e", "page-b", "page-f", "page-d"]
MINE = "description==paging"


@pytest.fixture(scope="module")
def pipeline(
    server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    yield build_pipeline(server, sdk, tmp_path_factory.mktemp("paging"))


@pytest.fixture(scope="module")
def connections(sdk: httpx.Client, pipeline: Pipeline) -> dict[str, str]:
    """Seven connections described ``paging``, created in the order of ``NAMES``: id by name."""
    ids = {}
    for name in NAMES:
        body = local_connection(pipeline.local_spec_id, pipeline.root, name, description="paging")
        ids[name] = ok(sdk.post(f"{FS}/connections", json=body), 201)["id"]
    return ids


def token_of(href: str) -> str:
    """What SDKs do with ``_links.next.href``: the text after ``continuationToken=``."""
    return href.split("continuationToken=")[1]


def follow(
    sdk: httpx.Client, collection: str, params: list[tuple[str, Any]], *, resend: bool = False
) -> list[dict[str, Any]]:
    """Every page of ``collection``: the first with ``params``, then the token alone (or, with
    ``resend``, the token with ``params`` again, as some SDKs send it). Returns the pages."""
    pages = [ok(sdk.get(f"{FS}/{collection}", params=params))]
    while href := pages[-1]["_links"].get("next", {}).get("href"):
        assert href.startswith(f"/{collection}?continuationToken="), href
        token = token_of(href)
        assert token and "=" not in token and "&" not in token and "%" not in token, token
        query = [("continuationToken", token), *(params if resend else [])]
        pages.append(ok(sdk.get(f"{FS}/{collection}", params=query)))
        assert len(pages) < 50, "paging does not end"
    return pages


def names(pages: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for page in pages for item in page["items"]]


# --- following _links.next.href ------------------------------------------------------------------


def test_the_next_link_is_relative_and_the_token_alone_carries_the_listing(
    sdk: httpx.Client, connections: dict[str, str]
) -> None:
    """Filters, order and page size ride in the token: the href holds nothing else, and the
    token sent alone pages the same filtered, ordered listing to its end."""
    params = [("property", MINE), ("orderby", "name"), ("limit", 3)]
    pages = follow(sdk, "connections", params)
    assert [len(page["items"]) for page in pages] == [3, 3, 1]
    assert names(pages) == sorted(NAMES)
    assert all("count" not in page for page in pages)
    first_href = pages[0]["_links"]["next"]["href"]
    assert "property" not in first_href and "limit" not in first_href
    assert pages[-1]["_links"] == {}
    # SDKs that send the first request's parameters again along with the token page alike.
    assert names(follow(sdk, "connections", params, resend=True)) == sorted(NAMES)
    # A client that prepends the base path to the href gets the same page.
    second = ok(sdk.get(FS + first_href))
    assert second == pages[1]


def test_orderby_holds_across_pages(sdk: httpx.Client, connections: dict[str, str]) -> None:
    """``orderby=-createdAt``, ``orderby=updatedAt``, ``+name`` and ``-name``, page by page."""

    def ordered(orderby: str, limit: int) -> list[str]:
        params = [("property", MINE), ("orderby", orderby), ("limit", limit)]
        return names(follow(sdk, "connections", params))

    assert ordered("-createdAt", 2) == NAMES[::-1]
    assert ordered("+name", 4) == sorted(NAMES)
    assert ordered("-name", 4) == sorted(NAMES, reverse=True)
    # Touch page-c, then page-a (a change, and back): they become the last updated.
    for name in ("page-c", "page-a"):
        url = f"{FS}/connections/{connections[name]}"
        (shown,) = ok(sdk.get(url))["items"]
        etag = shown["etag"]
        for description in ("touched", "paging"):
            change = [{"op": "replace", "path": "/description", "value": description}]
            etag = ok(sdk.patch(url, json=change, headers={"If-Match": etag}))["etag"]
    by_update = ordered("updatedAt", 3)
    assert by_update[-2:] == ["page-c", "page-a"] and sorted(by_update) == sorted(NAMES)


def test_count_with_limit_answers_the_page_and_the_count_of_all(
    sdk: httpx.Client, connections: dict[str, str]
) -> None:
    """``count=true`` alone is ``{"count": N}``; with ``limit`` it is the page, its next link
    and the count of every match, on every page (it used to be a 400)."""
    assert ok(sdk.get(f"{FS}/connections", params={"property": MINE, "count": "true"})) == {
        "count": 7
    }
    pages = follow(sdk, "connections", [("property", MINE), ("count", "true"), ("limit", 5)])
    assert [len(page["items"]) for page in pages] == [5, 2]
    assert [page["count"] for page in pages] == [7, 7]
    assert sorted(names(pages)) == sorted(NAMES)


def test_every_flow_service_list_links_its_next_page(
    server: Server, sdk: httpx.Client, pipeline: Pipeline, connections: dict[str, str]
) -> None:
    """connections, sourceConnections, targetConnections, flows, runs and connectionSpecs'
    peers: each pages with ``/<collection>?continuationToken=…`` to the last item."""
    pipeline.create_flow(sdk, "second flow")
    lf = server.lf.scoped(Scope(ORG, "prod"))
    for _ in range(2):
        lf.runs.start(pipeline.flow_id, {}, {})
    for collection in ("connections", "sourceConnections", "targetConnections", "flows", "runs"):
        everything = ok(sdk.get(f"{FS}/{collection}"))["items"]
        assert len(everything) >= 2, collection
        pages = follow(sdk, collection, [("limit", 1)])
        assert len(pages) == len(everything), collection
        paged = [item["id"] for page in pages for item in page["items"]]
        assert paged == [item["id"] for item in everything], collection


# --- filters -----------------------------------------------------------------------------------


def test_property_filters_combine_with_and_and_reach_nested_run_fields(
    server: Server, sdk: httpx.Client, pipeline: Pipeline
) -> None:
    """``/runs?property=flowId==<id>&property=metrics.statusSummary.status==Failed`` (Adobe's
    own example, capital F): the failed runs of that flow only, page after page."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    other_flow = pipeline.create_flow(sdk, "other flow")
    expected = []
    for flow_id, status in [(pipeline.flow_id, "failed"), (pipeline.flow_id, "success"),
                            (other_flow, "failed"), (pipeline.flow_id, "failed"),
                            (pipeline.flow_id, "failed")]:  # fmt: skip
        run = lf.runs.start(flow_id, {}, {})
        metrics = {"statusSummary": {"status": status}, "recordSummary": {"outputRecordCount": 3}}
        lf.runs.update(run.id, state="completed", status=status, metrics=metrics)
        if flow_id == pipeline.flow_id and status == "failed":
            expected.append(run.id)
    params = [
        ("property", f"flowId=={pipeline.flow_id}"),
        ("property", "metrics.statusSummary.status==Failed"),
        ("limit", 2),
    ]
    pages = follow(sdk, "runs", params)
    assert [run["id"] for page in pages for run in page["items"]] == expected
    assert [len(page["items"]) for page in pages] == [2, 1]
    # The same filters, the other way round, with a nested number comparison on top.
    more = [
        ("property", "metrics.statusSummary.status==failed"),
        ("property", f"flowId=={pipeline.flow_id}"),
        ("property", "metrics.recordSummary.outputRecordCount>2"),
        ("count", "true"),
    ]
    assert ok(sdk.get(f"{FS}/runs", params=more)) == {"count": 3}
    none = [*more[:2], ("property", "metrics.recordSummary.outputRecordCount>3")]
    assert ok(sdk.get(f"{FS}/runs", params=none))["items"] == []


# --- bad tokens --------------------------------------------------------------------------------


def test_garbage_tampered_and_foreign_tokens_are_a_clear_400(
    sdk: httpx.Client, connections: dict[str, str]
) -> None:
    first = ok(sdk.get(f"{FS}/connections", params={"property": MINE, "limit": 2}))
    token = token_of(first["_links"]["next"]["href"])

    def refused(collection: str, *params: tuple[str, Any]) -> str:
        answer = sdk.get(f"{FS}/{collection}", params=list(params))
        assert error_code(answer, 400) == "LF-1452", answer.text
        message = str(answer.json()["report"]["detailed-message"])
        assert "continuationToken" in message and "Traceback" not in message
        return message

    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in ("???", "abc", "o:2", token[:-4], flipped, token + "x", "A" * 400):
        refused("connections", ("continuationToken", bad))
    assert "pages /connections, not /flows" in refused("flows", ("continuationToken", token))
    other = refused("connections", ("continuationToken", token), ("property", "name==page-a"))
    assert "property" in other
    assert "limit" in refused("connections", ("continuationToken", token), ("limit", 5))
    assert "orderby" in refused(
        "connections", ("continuationToken", token), ("orderby", "-createdAt")
    )
    # The same parameters again are the same listing, not a conflict.
    again = [("continuationToken", token), ("property", MINE), ("limit", 2)]
    assert ok(sdk.get(f"{FS}/connections", params=again))["items"]


# --- the documented loop -------------------------------------------------------------------------

REST_MD = Path(__file__).parents[2] / "docs" / "reference" / "rest.md"


def test_the_paging_loop_in_the_rest_reference_pages_every_flow(
    sdk: httpx.Client, pipeline: Pipeline
) -> None:
    for n in range(3):
        pipeline.create_flow(sdk, f"documented loop {n}")
    (block,) = [
        match.group(1)
        for match in re.finditer(r"```python\n(.*?)```", REST_MD.read_text(), re.S)
        if 'split("continuationToken=")' in match.group(1)
    ]
    namespace: dict[str, Any] = {"session": sdk, "server": ""}
    exec(compile(block, "rest.md paging loop", "exec"), namespace)
    enabled = ok(sdk.get(f"{FS}/flows", params={"property": "state==enabled"}))["items"]
    assert len(enabled) > 2  # more than the loop's first page
    assert [flow["id"] for flow in namespace["items"]] == [flow["id"] for flow in enabled]
