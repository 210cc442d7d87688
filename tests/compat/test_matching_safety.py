"""Client filters and orders that used to hang a worker or answer 500, sent over HTTP to a real
server: Catalog ``name=`` and ``tags=`` wildcards and Schema Registry ``property=title~regex``
patterns that backtrack for ever in Python's ``re`` (on the old code these requests never
answered), Flow Service ``orderby`` on a field of mixed types (a 500), ``orderby=%2B`` (read as
no order) and ``count`` sent with a token of another listing (ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api_support import ORG, Server, refused
from compat.flowservice_parts import FS, Pipeline, build_pipeline, error_code, ok
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema

CATALOG = "/data/foundation/catalog"
SR = "/data/foundation/schemaregistry"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
#: ``^.*a.*a…b$`` once compiled: n**12 backtracking steps against ``"a" * 200``.
MANY_STARS = "*a" * 12 + "*b"
#: Exponential in Python's ``re`` against ``EVIL_TITLE``; linear in RE2.
NESTED = "(a+)+$"
EVIL_TITLE = "a" * 40 + "!"


@pytest.fixture(scope="module")
def evil_dataset(server: Server, sdk: httpx.Client) -> str:
    """A dataset named ``"a" * 200`` with a tag of the same value."""
    schema = create_profile_schema(server.lf.scoped(Scope(ORG, "prod")).schemas)
    body = {
        "name": "a" * 200,
        "schemaRef": {"id": schema["$id"], "contentType": XED_FULL},
        "tags": {"team": ["a" * 200]},
    }
    (link,) = ok(sdk.post(f"{CATALOG}/dataSets", json=body), 201)
    return str(link.removeprefix("@/dataSets/"))


def dataset_ids(sdk: httpx.Client, **params: Any) -> set[str]:
    return set(ok(sdk.get(f"{CATALOG}/dataSets", params={"limit": 100, **params})))


def test_catalog_wildcards_do_not_backtrack(sdk: httpx.Client, evil_dataset: str) -> None:
    assert evil_dataset not in dataset_ids(sdk, name=MANY_STARS)
    assert evil_dataset not in dataset_ids(sdk, tags=f"team:{MANY_STARS}")
    # The same filters still match what they should.
    assert evil_dataset in dataset_ids(sdk, name="a*a*a")
    assert evil_dataset in dataset_ids(sdk, name="*" + "a" * 200)
    assert evil_dataset in dataset_ids(sdk, tags="team:a*")
    assert evil_dataset not in dataset_ids(sdk, name="!a*")


def test_schema_registry_regex_filters_run_in_re2(sdk: httpx.Client) -> None:
    group = {
        "title": EVIL_TITLE,
        "type": "object",
        "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/profile"],
        "definitions": {},
        "allOf": [],
    }
    created = ok(sdk.post(f"{SR}/tenant/fieldgroups", json=group), 201)

    def titles(expression: str) -> set[str]:
        found = ok(sdk.get(f"{SR}/tenant/fieldgroups", params={"property": expression}))
        return {r["title"] for r in found["results"]}

    assert EVIL_TITLE not in titles(f"title~{NESTED}")
    assert EVIL_TITLE in titles(r"title~^(a+)+!$")
    answer = sdk.get(f"{SR}/tenant/fieldgroups", params={"property": "title~(?=a)"})
    refused(answer, 400, "RE2", "title~(?=a)")
    assert created["title"] == EVIL_TITLE


# --- Flow Service lists --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(
    server: Server, sdk: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    yield build_pipeline(server, sdk, tmp_path_factory.mktemp("matching"))


@pytest.fixture(scope="module")
def mixed_flows(sdk: httpx.Client, pipeline: Pipeline) -> dict[str, str]:
    """Three flows whose ``scheduleParams.foo`` is ``1``, ``"x"`` and absent: id by name."""
    ids = {}
    for name, foo in (("sort text", "x"), ("sort none", None), ("sort number", 1)):
        ids[name] = flow_id = pipeline.create_flow(sdk, name)
        if foo is not None:
            (flow,) = ok(sdk.get(f"{FS}/flows/{flow_id}"))["items"]
            operation = {"op": "add", "path": "/scheduleParams/foo", "value": foo}
            answer = sdk.patch(
                f"{FS}/flows/{flow_id}", json=[operation], headers={"If-Match": flow["etag"]}
            )
            assert answer.is_success, answer.text
    return ids


MINE = "name==sort text,sort none,sort number"


def test_orderby_a_field_of_mixed_types(sdk: httpx.Client, mixed_flows: dict[str, str]) -> None:
    """It was a 500 TypeError. Numbers, then text; flows without the field last."""

    def names(orderby: str) -> list[str]:
        listed = ok(sdk.get(f"{FS}/flows", params={"property": MINE, "orderby": orderby}))
        return [flow["name"] for flow in listed["items"]]

    assert names("scheduleParams.foo") == ["sort number", "sort text", "sort none"]
    assert names("-scheduleParams.foo") == ["sort text", "sort number", "sort none"]


@pytest.mark.parametrize("orderby", ["+", "-", "+-name"])
def test_an_orderby_without_a_field_is_refused(
    sdk: httpx.Client, mixed_flows: dict[str, str], orderby: str
) -> None:
    """``orderby=%2B`` was read as no order."""
    for extra in ({"limit": 2}, {"count": "true"}):
        answer = sdk.get(f"{FS}/flows", params={"property": MINE, "orderby": orderby, **extra})
        assert error_code(answer, 400) == "LF-1001"
        assert "orderby" in answer.json()["report"]["detailed-message"]


def test_count_sent_with_a_token_is_the_tokens_or_refused(
    sdk: httpx.Client, mixed_flows: dict[str, str]
) -> None:
    """``count=false`` with a token of ``count=true`` was ignored (and ``count=true`` with a
    token of a listing without it honoured): another count is another listing."""

    def token(**params: Any) -> str:
        first = ok(sdk.get(f"{FS}/flows", params={"property": MINE, "limit": 2, **params}))
        return str(first["_links"]["next"]["href"].split("continuationToken=")[1])

    counted, plain = token(count="true"), token()
    for tok, sent in ((counted, "false"), (plain, "true")):
        answer = sdk.get(f"{FS}/flows", params={"continuationToken": tok, "count": sent})
        assert error_code(answer, 400) == "LF-1452"
        assert "count" in answer.json()["report"]["detailed-message"]
    again = ok(sdk.get(f"{FS}/flows", params={"continuationToken": counted, "count": "true"}))
    assert again["count"] == 3 and len(again["items"]) == 1
    alone = ok(sdk.get(f"{FS}/flows", params={"continuationToken": counted}))
    assert alone["count"] == 3
    unchanged = ok(sdk.get(f"{FS}/flows", params={"continuationToken": plain, "count": "false"}))
    assert "count" not in unchanged and len(unchanged["items"]) == 1
