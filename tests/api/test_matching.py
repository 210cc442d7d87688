"""The shared list matchers (pure logic): wildcards and regular expressions that cannot
backtrack, one sort order over mixed types, the path walker, and the Flow Service listing's
``orderby`` and ``count`` rules. The ReDoS cases would run for ever on the old code (Python's
``re``); here they answer at once."""

from __future__ import annotations

from typing import Any

import pytest

from lakefeed.api.catalog_query import property_filter, simple_filter, tags_filter
from lakefeed.api.listing import order, page
from lakefeed.api.matching import Wildcard, re2_search, sort_key, value_at, values_at
from lakefeed.api.schemaregistry_views import ListQuery
from lakefeed.errors import InvalidContinuationToken, InvalidRequest

#: A wildcard that backtracks polynomially (n**12) in a regex against ``"a" * 200``.
CATASTROPHIC_WILDCARD = "*a" * 12 + "*b"
#: A regular expression that backtracks exponentially in Python's ``re`` on ``EVIL_TEXT``.
CATASTROPHIC_REGEX = "(a+)+$"
EVIL_TEXT = "a" * 40 + "!"


# --- wildcards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("abc", "abc\n", False),  # the whole text, a trailing newline included
        ("*", "", True),
        ("*", "anything\nat all", True),
        ("", "", True),
        ("", "x", False),
        ("a*", "abc", True),
        ("*c", "abc", True),
        ("a*c", "ac", True),
        ("a*c", "a", False),
        ("ab*ba", "aba", False),  # the head and the tail may not overlap
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "axxcyyb", False),
        ("*a*a*", "aa", True),
        ("*a*a*", "a", False),
        ("a**b", "a*b", True),  # ** is one asterisk
        ("a**b", "axb", False),
        ("a***b", "a*xyzb", True),  # an asterisk, then a wildcard
        ("a***b", "axyzb", False),
        ("compat filter*", "compat filter two", True),
    ],
)
def test_wildcards_match_as_the_filter_guide_says(pattern: str, text: str, expected: bool) -> None:
    assert Wildcard.parse(pattern).matches(text) is expected


def test_a_wildcard_with_many_stars_does_not_backtrack() -> None:
    """It compiled to ``^.*a.*a…b$`` and ran for ever on ``"a" * 200``."""
    assert not Wildcard.parse(CATASTROPHIC_WILDCARD).matches("a" * 200)
    assert Wildcard.parse(CATASTROPHIC_WILDCARD).matches("a" * 200 + "b")


def test_catalog_name_and_tags_filters_use_the_linear_wildcard() -> None:
    evil = {"id": "1", "name": "a" * 200, "tags": {"team": ["a" * 200]}}
    fine = {"id": "2", "name": "a" * 12 + "b", "tags": {"team": ["a" * 12 + "b"]}}
    by_name = simple_filter("name", CATASTROPHIC_WILDCARD, wildcard=True)
    assert [by_name(o) for o in (evil, fine)] == [False, True]
    by_tag = tags_filter(f"team:{CATASTROPHIC_WILDCARD}")
    assert [by_tag(o) for o in (evil, fine)] == [False, True]
    assert tags_filter("team:*")(evil) and not tags_filter("owner:*")(evil)


# --- regular expressions -----------------------------------------------------------------------


def test_client_regular_expressions_run_in_re2() -> None:
    search = re2_search(CATASTROPHIC_REGEX, "property='title~(a+)+$'")
    assert not search(EVIL_TEXT)
    assert search("a" * 40)
    assert re2_search("^Part", "property")("Partner")
    assert re2_search("x", "property")("\ud800x")  # a lone surrogate is no 500
    for bad in ("(", "(?=a)", r"(a)\1", "\ud800"):
        with pytest.raises(InvalidRequest, match="RE2 regular expression in property"):
            re2_search(bad, "property")


def test_catalog_and_schema_registry_regex_filters_are_re2() -> None:
    assert not property_filter(f"name~{CATASTROPHIC_REGEX}")({"name": EVIL_TEXT})
    documents = [{"title": EVIL_TEXT}, {"title": "a" * 40}, {"title": None}]
    listed = ListQuery(None, None, None, [f"title~{CATASTROPHIC_REGEX}"]).page(documents, "/x")
    assert listed["results"] == [{"title": "a" * 40}]
    with pytest.raises(InvalidRequest, match="RE2"):
        ListQuery(None, None, None, ["title~(?<=a)b"]).page(documents, "/x")


def test_a_bad_schema_registry_filter_is_refused_with_nothing_to_list() -> None:
    """It was read document by document: with no document, any filter passed."""
    for bad in ("title~(", "version>new", "!title==x"):
        with pytest.raises(InvalidRequest):
            ListQuery(None, None, None, [bad]).page([], "/x")


def test_schema_registry_absent_filter_works_as_documented() -> None:
    """``property=!field`` keeps the documents without the field (it was a 400)."""
    documents = [{"title": "a", "description": "d"}, {"title": "b"}]
    absent = ListQuery(None, None, None, ["!description"]).page(documents, "/x")
    assert [d["title"] for d in absent["results"]] == ["b"]
    present = ListQuery(None, None, None, ["description"]).page(documents, "/x")
    assert [d["title"] for d in present["results"]] == ["a"]


# --- one sort order ----------------------------------------------------------------------------


def test_the_sort_key_orders_numbers_then_text_then_null() -> None:
    values: list[Any] = ["x", None, 10, "B", 2.5, True, "a", {"k": 1}, -1]
    ordered = sorted(values, key=sort_key)
    assert ordered == [-1, 2.5, 10, "a", "B", True, "x", {"k": 1}, None]


def test_flow_service_orderby_sorts_a_field_of_mixed_types() -> None:
    """``orderby=scheduleParams.foo`` with ``1`` in one flow and ``"x"`` in another was a
    TypeError (500); entities without the field come last in both directions, as the REST
    reference says."""
    flows = [
        {"id": "text", "scheduleParams": {"foo": "x"}},
        {"id": "none", "scheduleParams": {}},
        {"id": "number", "scheduleParams": {"foo": 1}},
        {"id": "null", "scheduleParams": {"foo": None}},
        {"id": "float", "scheduleParams": {"foo": 0.5}},
    ]
    ids = [f["id"] for f in order(flows, "scheduleParams.foo")]
    assert ids == ["float", "number", "text", "none", "null"]
    ids = [f["id"] for f in order(flows, "-scheduleParams.foo")]
    assert ids == ["text", "number", "float", "none", "null"]
    assert [f["id"] for f in order(flows, "+scheduleParams.foo")][:3] == ["float", "number", "text"]


def test_catalog_and_schema_registry_sort_mixed_types_alike() -> None:
    from lakefeed.api.catalog_query import sort

    objects = [{"id": "1", "v": "x"}, {"id": "2", "v": 3}, {"id": "3"}, {"id": "4", "v": "A"}]
    assert [o["id"] for o in sort(objects, [("v", False)])] == ["2", "4", "1", "3"]
    assert [o["id"] for o in sort(objects, [("v", True)])] == ["1", "4", "2", "3"]
    listed = ListQuery("v", None, None, []).page([dict(o) for o in objects], "/x")
    assert [o["id"] for o in listed["results"]] == ["2", "4", "1", "3"]


# --- the path walker ---------------------------------------------------------------------------


def test_one_path_walker_with_each_grammar() -> None:
    entity = {"a": {"b": 1, "n": None}, "l": [{"x": 1}, {"x": 2}, {"y": 3}], "a.b": "dotted"}
    assert values_at(entity, "a.b") == [1]
    assert values_at(entity, "a.n") == [None]  # present, null
    assert values_at(entity, "a.zz") == [] and values_at(entity, "a.b.c") == []
    assert values_at(entity, "l[].x", arrays=True) == [1, 2]
    assert values_at(entity, "l[].x") == []  # without arrays, "l[]" is a name
    assert value_at(entity, "a.b") == 1 and value_at(entity, "missing") is None


# --- Flow Service listing: orderby and count ---------------------------------------------------


def listed(token: str | None = None, **given: Any) -> dict[str, Any]:
    entities = [{"id": str(n), "name": f"e{n}"} for n in range(5)]
    return page(
        entities,
        path="/x",
        properties=given.get("properties", []),
        orderby=given.get("orderby"),
        limit=given.get("limit"),
        continuation_token=token,
        count=given.get("count"),
    )


@pytest.mark.parametrize("orderby", ["+", "-", " + ", "+-name", "na me", "name;"])
def test_an_orderby_without_a_field_is_refused(orderby: str) -> None:
    """``orderby=%2B`` (a lone ``+``) was read as no order."""
    with pytest.raises(InvalidRequest, match="orderby"):
        listed(orderby=orderby, limit=2)
    with pytest.raises(InvalidRequest, match="orderby"):
        listed(orderby=orderby, count=True)


def test_an_empty_orderby_is_no_order_and_a_sign_is_kept() -> None:
    assert [e["id"] for e in listed(orderby="")["items"]] == ["0", "1", "2", "3", "4"]
    assert [e["id"] for e in listed(orderby="-name")["items"]] == ["4", "3", "2", "1", "0"]
    assert [e["id"] for e in listed(orderby=" name")["items"]] == ["0", "1", "2", "3", "4"]


def test_count_sent_with_a_token_must_be_the_tokens() -> None:
    """``count=false`` with a token made with ``count=true`` was ignored (and ``count=true``
    with a token made without it was honoured): now both are refused, like another
    ``limit``; the same value, or none, is the same listing."""
    counted = listed(limit=2, count=True)["_links"]["next"]["href"].split("=", 1)[1]
    plain = listed(limit=2)["_links"]["next"]["href"].split("=", 1)[1]
    with pytest.raises(InvalidContinuationToken, match="count"):
        listed(counted, count=False)
    with pytest.raises(InvalidContinuationToken, match="count"):
        listed(plain, count=True)
    assert listed(counted, count=True)["count"] == 5
    assert listed(counted)["count"] == 5
    assert "count" not in listed(plain, count=False)
    assert "count" not in listed(plain)
