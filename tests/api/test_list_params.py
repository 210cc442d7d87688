"""``ListParams.equals``: which filters a route may push into its query; continuation tokens
(pure logic)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lakefeed.api.flowservice_common import ListParams
from lakefeed.api.listing import Cursor, page
from lakefeed.errors import InvalidContinuationToken


def params(*properties: str) -> ListParams:
    return ListParams(list(properties), None, None, None, False)


def test_only_a_single_value_equality_is_pushed_down() -> None:
    assert params("flowId==f1").equals("flowId") == "f1"
    assert params("state==completed", "flowId==f2").equals("flowId") == "f2"
    assert params("flowId==f1,f2").equals("flowId") is None  # OR: the generic filter decides
    assert params("flowId!=f1").equals("flowId") is None
    assert params("flowIdentity==f1").equals("flowId") is None
    assert params("flowId").equals("flowId") is None
    assert params().equals("flowId") is None


def test_a_following_page_pushes_down_the_filters_of_its_token() -> None:
    """A token alone carries the filters: runs of one flow are still read by flow."""
    token = Cursor("/runs", ("state==completed", "flowId==f1"), None, 10, 10, False).encode()
    assert ListParams([], None, None, token, False).equals("flowId") == "f1"
    with pytest.raises(InvalidContinuationToken):
        ListParams([], None, None, token[:-2], False).equals("flowId")


def test_a_continuation_token_is_only_what_next_href_carries() -> None:
    """The token carries the listing (filters, order, page size, position) under a checksum:
    one forged with a negative offset (it used to be read as 0), an edited one, and one of
    another collection are refused."""
    entities = [{"id": str(n), "kind": "even" if n % 2 == 0 else "odd"} for n in range(9)]

    def listed(token: str | None = None, path: str = "/x", **given: Any) -> dict[str, Any]:
        return page(
            entities,
            path=path,
            properties=given.get("properties", []),
            orderby=given.get("orderby"),
            limit=given.get("limit"),
            continuation_token=token,
            count=False,
        )

    first = listed(properties=["kind==even"], orderby="-id", limit=2)
    href = first["_links"]["next"]["href"]
    assert href.startswith("/x?continuationToken=") and href.count("=") == 1
    token = href.split("continuationToken=")[1]
    assert [e["id"] for e in listed(token)["items"]] == ["4", "2"]  # filters and order kept
    forged = Cursor("/x", (), None, 2, -3, False).encode()
    for bad in (forged, "o:2", base64.urlsafe_b64encode(b"o:2").decode().rstrip("="), token[1:]):
        with pytest.raises(InvalidContinuationToken, match="continuationToken"):
            listed(bad)
    with pytest.raises(InvalidContinuationToken, match="pages /x, not /y"):
        listed(token, path="/y")
    with pytest.raises(InvalidContinuationToken, match="limit"):
        listed(token, limit=3)
