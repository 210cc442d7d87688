"""One ``If-Match`` comparison for the Python API, the CLI and the REST layer."""

from __future__ import annotations

import pytest

from lakefeed.api.patch import check_delete_etag, check_etag
from lakefeed.errors import PreconditionFailed, PreconditionRequired
from lakefeed.etags import etag_to_update

CURRENT = '"0a1b"'


@pytest.mark.parametrize("given", [None, "", "   "])
def test_absent_or_blank_is_no_condition_everywhere(given: str | None) -> None:
    assert etag_to_update(given, CURRENT, "Flow 'f'", "lakefeed flows show f") is None
    check_delete_etag(given, CURRENT)  # a DELETE needs none
    with pytest.raises(PreconditionRequired):  # a PATCH or PUT does: 400, not 412
        check_etag(given, CURRENT)


@pytest.mark.parametrize("given", ['"0a1b"', "0a1b", ' "0a1b" ', "*"])
def test_the_current_etag_quoted_or_not_or_a_star_matches(given: str) -> None:
    assert etag_to_update(given, CURRENT, "Flow 'f'", "lakefeed flows show f") == CURRENT
    check_etag(given, CURRENT)
    check_delete_etag(given, CURRENT)


@pytest.mark.parametrize("given", ['"other"', "0a1", '""'])
def test_any_other_etag_is_refused_the_same_way(given: str) -> None:
    with pytest.raises(PreconditionFailed) as cli:
        etag_to_update(given, CURRENT, "Flow 'f'", "lakefeed flows show f")
    assert "lakefeed flows show f" in cli.value.fix
    for check in (check_etag, check_delete_etag):
        with pytest.raises(PreconditionFailed) as rest:
            check(given, CURRENT)
        assert "GET the resource again" in rest.value.fix
        assert CURRENT in rest.value.message
