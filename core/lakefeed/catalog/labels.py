"""Names and descriptions of stored resources: how long they may be, which characters they hold.

One rule for every resource (connections, source and target connections, flows, datasets,
schemas and the other registry resources), applied where they are stored, so the Python API,
the CLI and the REST service refuse the same text. A name is one line of text: no control
character or line separator at all. A description may have several lines: tabs and line
breaks, no other control character. Lone surrogates (possible in JSON, impossible in UTF-8)
and bidirectional controls (which reorder how text displays) are refused in both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from lakefeed.errors import InvalidText

#: Names and titles are VARCHAR(255) columns (PostgreSQL refuses longer values).
NAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 4096
_DESCRIPTION_LAYOUT = frozenset("\t\n\r")
#: Bidirectional embeddings, overrides and isolates: they make text display in another order
#: than it is stored ("Trojan Source"), so a name could look like another one.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Control characters and lone surrogates everywhere; in names, line and paragraph separators.
_REFUSED_IN_NAMES = ("Cc", "Cs", "Zl", "Zp")
_REFUSED_IN_TEXT = ("Cc", "Cs")


def _bad_character(
    text: str, allowed: frozenset[str], categories: tuple[str, ...]
) -> tuple[int, str] | None:
    for position, character in enumerate(text):
        if character in allowed:
            continue
        if character in _BIDI_CONTROLS or unicodedata.category(character) in categories:
            return position, character
    return None


def _check(
    text: Any,
    *,
    field: str,
    noun: str,
    limit: int,
    allowed: frozenset[str],
    categories: tuple[str, ...] = _REFUSED_IN_TEXT,
) -> None:
    if not isinstance(text, str):
        return  # type checks are the caller's (each says what it expects)
    if len(text) > limit:
        raise InvalidText(
            f"The {noun}'s {field} is {len(text)} characters long; at most {limit} are allowed.",
            fix=f"Give a shorter {field}.",
        )
    bad = _bad_character(text, allowed, categories)
    if bad is not None:
        position, character = bad
        if unicodedata.category(character) == "Cs":
            what = "a lone surrogate, which is not text"
        elif character in _BIDI_CONTROLS:
            what = "a bidirectional control, which makes text display in another order"
        elif unicodedata.category(character) in ("Zl", "Zp"):
            what = f"a line or paragraph separator (a {field} is one line)"
        elif allowed:
            what = "a control character (tabs and line breaks are the only ones allowed)"
        else:
            what = f"a control character (none is allowed in a {field})"
        raise InvalidText(
            f"The {noun}'s {field} contains U+{ord(character):04X} at position {position}: {what}.",
            fix=f"Remove it from the {field}.",
        )


def check_name(name: Any, noun: str, *, field: str = "name") -> None:
    """Raise :class:`InvalidText` for a name over NAME_MAX_LENGTH characters or with a
    control character."""
    _check(
        name,
        field=field,
        noun=noun,
        limit=NAME_MAX_LENGTH,
        allowed=frozenset(),
        categories=_REFUSED_IN_NAMES,
    )


def check_description(description: Any, noun: str) -> None:
    """Raise :class:`InvalidText` for a description over DESCRIPTION_MAX_LENGTH characters or
    with a control character other than tab and line breaks."""
    _check(
        description,
        field="description",
        noun=noun,
        limit=DESCRIPTION_MAX_LENGTH,
        allowed=_DESCRIPTION_LAYOUT,
    )


def check_labels(values: Mapping[str, Any], noun: str) -> None:
    """:func:`check_name` and :func:`check_description` on the ``name`` and ``description``
    of ``values`` (the columns of a row about to be stored), where present."""
    if "name" in values:
        check_name(values["name"], noun)
    if "description" in values:
        check_description(values["description"], noun)
