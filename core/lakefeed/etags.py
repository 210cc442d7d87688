"""``If-Match`` for the Python API and the CLI: an etag given by a caller, checked against the
resource's current one before a change (the REST layer checks its header the same way)."""

from __future__ import annotations

from lakefeed.errors import PreconditionFailed


def etag_to_update(if_match: str | None, current: str, what: str, show: str) -> str | None:
    """The etag to update ``what`` under: None without ``if_match``; ``current`` when
    ``if_match`` names it (quoted or not) or is ``*``, so the store refuses the change if
    another writer gets in first. :class:`PreconditionFailed` otherwise; ``show`` is the
    command that prints the current etag."""
    if if_match is None:
        return None
    given = if_match.strip()
    if given == "*" or given.strip('"') == current.strip('"'):
        return current
    raise PreconditionFailed(
        f"{what} has changed: its etag is now {current}, not {given}.",
        fix=f"Run `{show}` to see it as it is now, then apply the change with its new etag.",
    )
