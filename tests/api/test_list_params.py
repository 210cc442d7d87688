"""``ListParams.equals``: which filters a route may push into its query; continuation tokens
(pure logic)."""

from __future__ import annotations

import base64

import pytest

from lakefeed.api.flowservice_common import ListParams
from lakefeed.api.listing import page
from lakefeed.errors import InvalidRequest


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


def test_a_negative_continuation_token_offset_is_refused() -> None:
    """A token is only what ``_links.next.href`` carries; one forged with a negative offset
    used to be read as 0."""
    entities = [{"id": str(n)} for n in range(5)]

    def first_ids(token: bytes) -> list[str]:
        encoded = base64.urlsafe_b64encode(token).decode().rstrip("=")
        answer = page(
            entities,
            path="/x",
            properties=[],
            orderby=None,
            limit=2,
            continuation_token=encoded,
            count=False,
        )
        return [e["id"] for e in answer["items"]]

    assert first_ids(b"o:2") == ["2", "3"]
    with pytest.raises(InvalidRequest, match="continuationToken"):
        first_ids(b"o:-3")
