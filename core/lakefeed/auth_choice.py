"""Which auth spec of a connection spec a user means: a full name, a short alias
(``access-key``, ``ssh-key``, ``sas``), or — when no name is given — the only one the params fit.

Aliases are derived from each auth spec's name and type, so a plugin's auth specs get them
without declaring any: ``SSH PublicKey Authentication for sftp`` answers to ``ssh-public-key``
and to any in-order abbreviation of its words (``ssh-key``, ``ssh``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lakefeed.errors import UnknownAuthSpec
from lakefeed.specs import AuthSpec, ConnectionSpec

#: Words that say nothing about which auth spec is meant.
FILLER_WORDS = frozenset({"authentication", "auth"})


def _words(text: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)  # PublicKey -> Public Key
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def auth_aliases(spec: ConnectionSpec, auth: AuthSpec) -> tuple[str, ...]:
    """The short names of ``auth``: its name and its type, without ``for <spec>`` and without
    the word ``authentication``, lower-case and hyphenated (``Access Key`` -> ``access-key``)."""
    found: list[str] = []
    for text in (auth.name, auth.type):
        suffix = f" for {spec.name}"
        if text.lower().endswith(suffix.lower()):
            text = text[: -len(suffix)]
        alias = "-".join(w for w in _words(text) if w not in FILLER_WORDS)
        if alias and alias not in found:
            found.append(alias)
    return tuple(found)


def _abbreviates(given: list[str], alias: list[str]) -> bool:
    """Each given word starts a word of ``alias``, in order (``ssh key`` ~ ``ssh public key``)."""
    rest = iter(alias)
    return all(any(word.startswith(g) for word in rest) for g in given)


def _labels(spec: ConnectionSpec, auths: list[AuthSpec] | tuple[AuthSpec, ...]) -> str:
    return ", ".join(f"{a.name!r} (--auth {auth_aliases(spec, a)[0]})" for a in auths)


def auth_spec_named(spec: ConnectionSpec, given: str) -> AuthSpec:
    """The auth spec ``given`` names: its full name (any case), an alias, or an unambiguous
    abbreviation of an alias; :class:`UnknownAuthSpec` listing the choices otherwise."""
    for auth in spec.auth_specs:
        if auth.name.lower() == given.strip().lower():
            return auth
    words = [w for w in _words(given) if w not in FILLER_WORDS]
    for matches in (
        lambda alias: alias == words,
        lambda alias: bool(words) and _abbreviates(words, alias),
    ):
        found = [
            a
            for a in spec.auth_specs
            if any(matches(alias.split("-")) for alias in auth_aliases(spec, a))
        ]
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownAuthSpec(
                f"Auth spec {given!r} of connection spec {spec.name!r} is ambiguous: it could "
                f"be {_labels(spec, found)}.",
                fix="Give more of the name, or one of the aliases in parentheses.",
            )
    raise UnknownAuthSpec(
        f"Connection spec {spec.name!r} has no auth spec {given!r} "
        f"(available: {_labels(spec, spec.auth_specs)}).",
        fix="Pass one of the available names or aliases.",
    )


def choose_auth_spec(
    spec: ConnectionSpec, given: str | None, params: Mapping[str, Any]
) -> AuthSpec:
    """The auth spec ``given`` names; without one, the only auth spec of ``spec``, else the
    only one that knows every param given — or, of several, the only one whose required params
    are all given. :class:`UnknownAuthSpec` listing the choices when that leaves none or more
    than one. An :attr:`~lakefeed.specs.AuthSpec.ambient` auth spec is never chosen this way
    (it acts with the machine's own identity: a connection uses it only when asked to)."""
    if given:
        return auth_spec_named(spec, given)
    if len(spec.auth_specs) == 1:
        return spec.auth_specs[0]
    names = set(params)
    fitting = [a for a in spec.auth_specs if not a.ambient and names <= {p.name for p in a.params}]
    if len(fitting) > 1 and names:
        complete = [a for a in fitting if all(p.name in names for p in a.params if p.required)]
        if len(complete) == 1:
            return complete[0]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        ambient = [a for a in spec.auth_specs if a.ambient and names <= {p.name for p in a.params}]
        raise UnknownAuthSpec(
            f"No auth spec of connection spec {spec.name!r} takes all of the params given "
            f"({', '.join(sorted(names))}); its auth specs are {_labels(spec, spec.auth_specs)}."
            + (
                f" {_labels(spec, ambient)} would, but uses this machine's own credentials, "
                "so it is used only when named."
                if ambient
                else ""
            ),
            fix=f"Check the param names (`lakefeed specs {spec.name}` lists them per auth "
            "spec), or pick one with --auth.",
        )
    raise UnknownAuthSpec(
        f"Connection spec {spec.name!r} has several auth specs"
        + (" that fit the params given" if names else "")
        + f": {_labels(spec, fitting if names else spec.auth_specs)}; say which one to use.",
        fix="Pass --auth with one of the aliases in parentheses (or the full name).",
    )
