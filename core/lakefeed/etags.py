"""``If-Match``: an etag given by a caller, checked against the resource's current one before
a change. The one comparison of the Python API, the CLI and the REST layer (:mod:`lakefeed.api.
patch`), so that they agree on what matches."""

from __future__ import annotations

from lakefeed.errors import PreconditionFailed


def given_etag(if_match: str | None) -> str | None:
    """``if_match`` trimmed; None when it is absent or blank (an empty ``If-Match`` header or
    ``--if-match ''`` is no condition, not an etag that never matches)."""
    if if_match is None or not if_match.strip():
        return None
    return if_match.strip()


def etag_to_update(
    if_match: str | None, current: str, what: str, show: str | None = None, *, fix: str = ""
) -> str | None:
    """The etag to update ``what`` under: None without ``if_match`` (:func:`given_etag`);
    ``current`` when ``if_match`` names it (quoted or not) or is ``*``, so the store refuses
    the change if another writer gets in first. :class:`PreconditionFailed` otherwise; its fix
    is ``fix``, or else says to run ``show``, the command that prints the current etag."""
    given = given_etag(if_match)
    if given is None:
        return None
    if given == "*" or given.strip('"') == current.strip('"'):
        return current
    raise PreconditionFailed(
        f"{what} has changed: its etag is now {current}, not {given}.",
        fix=fix or f"Run `{show}` to see it as it is now, then apply the change with its new etag.",
    )
