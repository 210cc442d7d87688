"""How the Schema Registry routes answer: the ``Accept`` variants of a resource, list pages
(``orderby``, ``start``, ``limit``, ``property``) and the shape check of a request document.

Media types come in both spellings Adobe uses, ``application/vnd.adobe.xed…`` and
``application/vnd.adobe.xdm…`` (``xdm-full+json`` is ``xed-full+json``). Lookups must name major
version 1 in ``Accept`` (``application/vnd.adobe.xed+json; version=1``); without it they answer
**406 Not Acceptable**, naming the variants — the status HTTP has for an ``Accept`` the server
cannot satisfy. The summary (``xed-id+json``) needs no version, as Adobe's own collection asks
for it without one: it means version 1. Another major version answers 404, as the registry only
has version 1. Lists need no version: ``xed-id+json`` (summaries, also the answer to no
``Accept`` at all) or another variant (the documents).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlencode

from lakefeed.api.matching import re2_search, sort_key, value_at
from lakefeed.errors import InvalidRequest, InvalidSchema, NotAcceptable

XED = "application/vnd.adobe.xed"
XDM = "application/vnd.adobe.xdm"  # the other spelling of the same media types
#: Subtype suffix of ``application/vnd.adobe.xed<suffix>+json`` → (resolved, without text).
VARIANTS = {
    "": (False, False),
    "-full": (True, False),
    "-notext": (False, True),
    "-full-notext": (True, True),
    "-full-desc": (True, False),  # lakefeed has no descriptors: the same as -full
    "-deprecatefield": (False, False),  # lakefeed deprecates no fields: the same as raw
}
SUMMARY = "-id"
LIST_LIMIT = 300
MAX_LIST_LIMIT = 500
_MEDIA = re.compile(r"^application/vnd\.adobe\.(?:xed|xdm)(?P<variant>[a-z-]*)\+json$")
_FILTER = re.compile(r"^(?P<key>!?[^=!<>~]+?)\s*(?:(?P<op>==|!=|<=|>=|<|>|~)(?P<value>.*))?$")


@dataclass(frozen=True)
class Representation:
    """What a GET answers with: a summary, the stored document or the resolved view, with or
    without ``title``/``description``."""

    summary: bool = False
    full: bool = False
    notext: bool = False
    version: str | None = None


def _media_types(accept: str | None) -> list[tuple[str, dict[str, str]]]:
    found = []
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        values = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        if media:
            found.append((media.lower(), values))
    return found


def _variants_text() -> str:
    variants = ", ".join(f"{XED}{v}+json; version=1" for v in VARIANTS)
    return f"{variants}, {XED}-id+json (the summary; no version needed), or the same with {XDM}"


def lookup_representation(accept: str | None) -> Representation:
    """The representation a lookup asks for; 406 without an xed/xdm type, or without
    ``version=1`` but for the summary (``xed-id+json``), whose version defaults to 1."""
    for media, params in _media_types(accept):
        match = _MEDIA.match(media)
        if not match or match["variant"] not in (*VARIANTS, SUMMARY):
            continue
        version = params.get("version")
        if not version and match["variant"] == SUMMARY:
            return Representation(summary=True, version="1")
        if not version:
            raise NotAcceptable(
                f"Accept {media!r} has no version; a Schema Registry lookup must ask for "
                "major version 1.",
                fix=f"Send Accept: {media}; version=1.",
            )
        if match["variant"] == SUMMARY:
            return Representation(summary=True, version=version)
        full, notext = VARIANTS[match["variant"]]
        return Representation(full=full, notext=notext, version=version)
    raise NotAcceptable(
        f"Accept {accept or '(none)'!r} names no representation of a Schema Registry resource.",
        fix=f"Send one of: {_variants_text()}.",
    )


def list_representation(accept: str | None) -> Representation:
    """``xed-id`` summaries (also for no Accept, ``*/*`` or ``application/json``) or the
    documents in another variant (``xed``, ``xed-full``…); either spelling, no version needed."""
    types = _media_types(accept)
    if not types:
        return Representation(summary=True)
    for media, _ in types:
        match = _MEDIA.match(media)
        if match and match["variant"] == SUMMARY:
            return Representation(summary=True)
        if match and match["variant"] in VARIANTS:
            full, notext = VARIANTS[match["variant"]]
            return Representation(full=full, notext=notext)
        if media in ("*/*", "application/*", "application/json"):
            return Representation(summary=True)
    raise NotAcceptable(
        f"Accept {accept!r} names no representation of a Schema Registry list.",
        fix=f"Send Accept: {XED}-id+json (summaries), {XED}+json (documents) or another of "
        f"{', '.join(f'{XED}{v}+json' for v in VARIANTS if v)}; {XDM}… is the same.",
    )


def summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """The ``xed-id`` form of a resource."""
    return {
        "$id": document["$id"],
        "meta:altId": document["meta:altId"],
        "version": document.get("version", "1.0"),
        "title": document.get("title", ""),
    }


def without_text(node: Any, *, names: bool = False) -> Any:
    """``node`` without ``title`` and ``description`` anywhere; ``names`` marks a mapping whose
    keys are field names (``properties``, ``definitions``), which are kept whatever they are."""
    if isinstance(node, list):
        return [without_text(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    if names:
        return {key: without_text(value) for key, value in node.items()}
    return {
        key: without_text(value, names=key in ("properties", "definitions"))
        for key, value in node.items()
        if key not in ("title", "description")
    }


# --- lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """``orderby`` (``title``, ``-title``; commas for ties), ``start`` (the primary sort value
    the previous page ended at: ``_page.next``), ``limit`` and ``property`` filters."""

    orderby: str | None
    start: str | None
    limit: int | None
    properties: Sequence[str]

    DEFAULT_ORDER: ClassVar[str] = "title"

    def page(self, documents: list[dict[str, Any]], path: str) -> dict[str, Any]:
        """``{"results", "_page": {orderby, next, count}, "_links"}`` of the documents that
        pass the filters: one page from ``start`` on."""
        limit = LIST_LIMIT if self.limit is None else self.limit
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(
                f"limit must be 1 to {MAX_LIST_LIMIT}, not {limit}.", fix="Use a smaller page."
            )
        orderby = self.orderby or self.DEFAULT_ORDER
        keys = [k.strip() for k in orderby.split(",") if k.strip()]
        if not keys:
            raise InvalidRequest(f"Invalid orderby {orderby!r}.", fix="Use orderby=title.")
        conditions = [_condition(p) for p in self.properties]
        kept = [d for d in documents if all(condition(d) for condition in conditions)]
        for key in reversed(keys):
            field = key.lstrip("+-")
            kept.sort(key=functools.partial(_sort_key, key=field), reverse=key[0] == "-")
        primary, descending = keys[0].lstrip("+-"), keys[0].startswith("-")
        if self.start is not None:
            bound = _sort_key({primary: _start_value(self.start, kept, primary)}, primary)
            kept = [
                d
                for d in kept
                if (_sort_key(d, primary) < bound if descending else _sort_key(d, primary) > bound)
            ]
        results = kept[:limit]
        # A page never ends inside a run of equal sort values: ``start`` skips past them all.
        while (
            len(results) < len(kept) and results and _same(kept[len(results)], results[-1], primary)
        ):
            results = kept[: len(results) + 1]
        more = len(results) < len(kept)
        next_start = str(_value(results[-1], primary)) if more and results else None
        links: dict[str, Any] = {}
        if next_start is not None:
            query = [("orderby", orderby), ("start", next_start), ("limit", str(limit))]
            query += [("property", p) for p in self.properties]
            links["next"] = {"href": f"{path}?{urlencode(query)}"}
        return {
            "results": results,
            "_page": {"orderby": orderby, "next": next_start, "count": len(results)},
            "_links": links,
        }


def _value(document: Mapping[str, Any], key: str) -> Any:
    """The field named ``key`` (``meta:altId``, and names with dots), else the value at the
    dotted path ``key`` (None when absent)."""
    return document[key] if key in document else value_at(document, key)


def _start_value(start: str, documents: list[dict[str, Any]], key: str) -> Any:
    """``start`` as the type of the sort field: a number when the field holds numbers."""
    values = [_value(d, key) for d in documents]
    if not any(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return start
    try:
        return float(start)
    except ValueError:
        raise InvalidRequest(
            f"start {start!r} is not a number, but {key} is.", fix="Copy _page.next."
        ) from None


def _sort_key(document: Mapping[str, Any], key: str) -> tuple[int, Any]:
    return sort_key(_value(document, key))


def _same(a: Mapping[str, Any], b: Mapping[str, Any], key: str) -> bool:
    return _sort_key(a, key) == _sort_key(b, key)


def _condition(expression: str) -> Callable[[Mapping[str, Any]], bool]:
    """``key==v``, ``key!=v``, ``<``, ``>``, ``<=``, ``>=`` (numbers), ``key~regex`` (RE2),
    ``key`` (present), ``!key`` (absent). A list value matches when one of its elements does.
    A filter that cannot be read is refused whether or not any document is listed."""
    match = _FILTER.match(expression.strip())
    if not match or (match["op"] and match["key"].startswith("!")):
        raise InvalidRequest(
            f"Invalid property filter {expression!r}.", fix="Use property=title==Loyalty."
        )
    key, op, wanted = match["key"].strip(), match["op"], (match["value"] or "").strip()

    def values(document: Mapping[str, Any]) -> list[Any]:
        value = _value(document, key)
        return value if isinstance(value, list) else [value]

    if op is None:
        return lambda d: (_value(d, key.lstrip("!")) is not None) != key.startswith("!")
    if op == "!=":
        return lambda d: all(str(v) != wanted for v in values(d))
    if op == "==":
        return lambda d: any(str(v) == wanted for v in values(d))
    if op == "~":
        search = re2_search(wanted, f"property={expression[:60]!r}")
        return lambda d: any(v is not None and search(str(v)) for v in values(d))
    try:
        limit = float(wanted)
    except ValueError:
        raise InvalidRequest(
            f"{op} compares numbers; {wanted!r} is not one.", fix="Use == for text."
        ) from None
    compare = {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__}[op]
    return lambda d: any(
        compare(float(v), limit)
        for v in values(d)
        if isinstance(v, int | float) and not isinstance(v, bool)
    )


# --- request documents ---------------------------------------------------------------------

_STRINGS = ("title", "description", "type", "format", "pattern", "meta:xdmType", "$ref")
_NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_COUNTS = ("minLength", "maxLength")
_FIELD_MAPS = ("properties", "definitions")
_NODE_LISTS = ("allOf", "anyOf", "oneOf")


def check_document(document: Mapping[str, Any]) -> None:
    """A request document is well-formed JSON Schema where the registry reads it: every node an
    object, ``properties``/``definitions`` objects of nodes, keywords of the right JSON type.
    The registry's own checks (a title, one class, the tenant namespace…) come after."""
    intended = document.get("meta:intendedToExtend", [])
    if not isinstance(intended, list) or not all(isinstance(i, str) for i in intended):
        _bad("meta:intendedToExtend", "a list of class $ids")
    _check_node(document, "")


def _check_node(node: Any, where: str) -> None:
    if not isinstance(node, Mapping):
        _bad(where or "the document", "a JSON object")
    at = f"{where}." if where else ""
    for key in _STRINGS:
        if key in node and not isinstance(node[key], str):
            _bad(f"{at}{key}", "a string")
    for key in _NUMBERS:
        value = node.get(key)
        if key in node and (not isinstance(value, int | float) or isinstance(value, bool)):
            _bad(f"{at}{key}", "a number")
    for key in _COUNTS:
        value = node.get(key)
        if key in node and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            _bad(f"{at}{key}", "a non-negative integer")
    required = node.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        _bad(f"{at}required", "a list of field names")
    if "enum" in node and not isinstance(node["enum"], list):
        _bad(f"{at}enum", "a list")
    for key in _FIELD_MAPS:
        if key in node:
            children = node[key]
            if not isinstance(children, Mapping):
                _bad(f"{at}{key}", "an object of field definitions")
            for name, child in children.items():
                _check_node(child, f"{at}{key}.{name}")
    for key in _NODE_LISTS:
        if key in node:
            parts = node[key]
            if not isinstance(parts, list):
                _bad(f"{at}{key}", "a list of objects")
            for index, part in enumerate(parts):
                _check_node(part, f"{at}{key}[{index}]")
    if "items" in node:
        _check_node(node["items"], f"{at}items")
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        _check_node(extra, f"{at}additionalProperties")
    elif extra is not None and not isinstance(extra, bool):
        _bad(f"{at}additionalProperties", "an object or a boolean")


def _bad(where: str, expected: str) -> NoReturn:
    raise InvalidSchema(
        f"'{where}' must be {expected}.",
        fix="Send an XDM resource in the Schema Registry's JSON Schema form.",
    )
