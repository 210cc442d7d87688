"""``AuthStore.revoke``: a revoked access token is refused from then on (signing out of the
console); revoking a token the store does not hold changes nothing."""

from __future__ import annotations

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import AuthenticationRequired


def test_a_revoked_token_no_longer_verifies(lf: Lakefeed) -> None:
    api_key, secret = lf.auth.create_client("ACME@AdobeOrg")
    token, _ = lf.auth.exchange(api_key, secret)
    other, _ = lf.auth.exchange(api_key, secret)
    assert lf.auth.verify(token).client.api_key == api_key
    lf.auth.revoke(token)
    with pytest.raises(AuthenticationRequired):
        lf.auth.verify(token)
    # Only that token: the client's other sessions and its secret still work.
    assert lf.auth.verify(other).client.api_key == api_key
    fresh, _ = lf.auth.exchange(api_key, secret)
    assert lf.auth.verify(fresh).client.api_key == api_key


def test_revoking_an_unknown_token_is_a_no_op(lf: Lakefeed) -> None:
    api_key, secret = lf.auth.create_client("ACME@AdobeOrg")
    token, _ = lf.auth.exchange(api_key, secret)
    for unknown in ("never-issued", "", token + "x"):
        lf.auth.revoke(unknown)
    lf.auth.revoke(token)
    lf.auth.revoke(token)  # twice: still fine
    with pytest.raises(AuthenticationRequired):
        lf.auth.verify(token)
