"""``ListParams.equals``: which filters a route may push into its query (pure logic)."""

from __future__ import annotations

from lakefeed.api.flowservice_common import ListParams


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
