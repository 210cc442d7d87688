"""Flow Service list semantics over entity dicts: ``property`` filters, ``orderby``, ``limit``
with a ``continuationToken`` in ``_links.next.href``, and ``count``.

``property=a.b==x`` (``,`` separates values: OR; the parameter repeated: AND), ``!=``, and
``>``, ``<``, ``>=``, ``<=`` on numbers; ``name`` (present) and ``!name`` (absent); arrays
addressed with ``[]`` (``sourceConnectionIds[]==x``) match when any element does; dotted
paths reach nested fields (``metrics.statusSummary.status==failed``).

The next page's link is relative to the service, token first and alone
(``/flows?continuationToken=TOKEN``), as Adobe's SDKs expect: they prepend the base path, or
split the link on ``continuationToken=``. So the token carries the whole listing (collection,
filters, order, page size, position, count): see :class:`Cursor`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakefeed.api.matching import sort_key, values_at
from lakefeed.errors import InvalidContinuationToken, InvalidRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_EXPRESSION = re.compile(
    r"^(?P<path>!?[A-Za-z0-9_.$@\[\]-]+?)(?:(?P<op>==|!=|>=|<=|>|<)(?P<value>.*))?$"
)
_ORDER_FIELD = re.compile(r"^[A-Za-z0-9_.]+$")


def _values(entity: Any, path: str) -> list[Any]:
    """Every value at ``path`` (``a.b``, ``a[].b``) in ``entity``."""
    return values_at(entity, path, arrays=True)


#: A parsed ``property`` filter: path, operator (None: the path must exist, or with ``!``
#: must not) and the values it is compared with.
Filter = tuple[str, str | None, list[str]]


def _compare(actual: Any, op: str, wanted: str) -> bool:
    if op in ("==", "!="):
        text = "true" if actual is True else "false" if actual is False else str(actual)
        equal = text.lower() == wanted.lower()  # Adobe filters runs by "Failed" too
        return equal if op == "==" else not equal
    try:
        left, right = float(actual), float(wanted)
    except (TypeError, ValueError):
        return False
    return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]


def parse_filter(expression: str) -> Filter:
    match = _EXPRESSION.match(expression.strip())
    if not match:
        raise InvalidRequest(
            f"Invalid property filter {expression!r}.",
            fix="Use property=path==value (e.g. property=flowId==<id>).",
        )
    values = [v.strip().strip('"').strip("'") for v in (match["value"] or "").split(",")]
    if match["op"] in (">", "<", ">=", "<=") and len(values) != 1:
        raise InvalidRequest(
            f"A comparison takes one value: {expression!r}.", fix="Drop the commas."
        )
    return match["path"], match["op"], values


def matches(entity: Mapping[str, Any], filters: Sequence[Filter]) -> bool:
    """Whether ``entity`` passes every filter (parsed by :func:`parse_filter`)."""
    for path, op, wanted in filters:
        if op is None:
            present = bool(_values(entity, path.lstrip("!")))
            if present == path.startswith("!"):
                return False
            continue
        found = _values(entity, path)
        if op == "!=":
            if any(_compare(v, "==", w) for v in found for w in wanted):
                return False
        elif not any(_compare(v, op, w) for v in found for w in wanted):
            return False
    return True


def order(entities: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    """``entities`` by the field ``orderby`` names (``-`` descends), in the order of
    :func:`~lakefeed.api.matching.sort_key` (numbers, then text), whatever mix of types the
    field holds; entities without the field (or with null) come last either way."""
    orderby = _orderby(orderby)
    if not orderby:
        return entities
    descending = orderby.startswith("-")
    field = orderby.removeprefix("-")

    present: list[tuple[tuple[int, Any], dict[str, Any]]] = []
    absent: list[tuple[tuple[int, Any], dict[str, Any]]] = []
    for entity in entities:
        value = next(iter(_values(entity, field)), None)
        (absent if value is None else present).append((sort_key(value), entity))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [entity for _, entity in present + absent]


#: Tokens end in a checksum under this key, so that a damaged or edited token is refused
#: rather than read as some other listing. It is no secret: a token only holds what the
#: client could ask for with parameters, and every field is checked again when it comes back.
_TOKEN_KEY = b"lakefeed continuationToken v1"
_DIGEST = 8
_TOKEN_TEXT = re.compile(r"^[A-Za-z0-9_-]+$")


def _orderby(value: str | None) -> str | None:
    """``orderby`` as compared and stored: ``+name`` (or `` name``, a ``+`` decoded from a
    query) is ``name``, ``-name`` stays; empty is no order. A sign without a field
    (``orderby=%2B``) or a field that is no path is refused."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    sign = "-" if text.startswith("-") else ""
    field = text[1:].strip() if text[0] in "+-" else text
    if not _ORDER_FIELD.match(field):
        raise InvalidRequest(
            f"Invalid orderby {value!r}: it needs a field, with + (ascending, the default) "
            "or - (descending) before it.",
            fix="Use orderby=-createdAt or orderby=name.",
        )
    return sign + field


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts, and everything that makes the listing it belongs to:
    the collection, the ``property`` filters, ``orderby``, the page size and ``count``."""

    collection: str
    properties: tuple[str, ...]
    orderby: str | None
    limit: int
    offset: int
    count: bool

    def encode(self) -> str:
        """URL-safe base64 without padding: no ``=``, ``&`` or ``+``, so the token survives
        clients that split ``_links.next.href`` on ``=`` and need no quoting."""
        fields = {
            "c": self.collection,
            "p": list(self.properties),
            "o": self.orderby,
            "l": self.limit,
            "s": self.offset,
            "n": self.count,
        }
        raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
        digest = hmac.new(_TOKEN_KEY, raw, hashlib.sha256).digest()[:_DIGEST]
        return base64.urlsafe_b64encode(digest + raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, collection: str | None) -> Cursor:
        """The cursor of a token this module made for ``collection`` (None: for any), or
        :class:`InvalidContinuationToken` (400)."""
        fix = "Copy the token from the previous page's _links.next.href, or start again without it."
        try:
            if not _TOKEN_TEXT.match(token):
                raise ValueError
            packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            digest, raw = packed[:_DIGEST], packed[_DIGEST:]
            expected = hmac.new(_TOKEN_KEY, raw, hashlib.sha256).digest()[:_DIGEST]
            if not hmac.compare_digest(digest, expected):
                raise ValueError
            fields = json.loads(raw)
            properties, orderby = fields["p"], fields["o"]
            limit, offset, count = fields["l"], fields["s"], fields["n"]
            if not (
                isinstance(fields["c"], str)
                and isinstance(properties, list)
                and all(isinstance(p, str) for p in properties)
                and (orderby is None or isinstance(orderby, str))
                and type(limit) is int
                and 1 <= limit <= MAX_LIMIT
                and type(offset) is int
                and offset >= 0
                and isinstance(count, bool)
            ):
                raise ValueError
        except (ValueError, TypeError, KeyError, RecursionError):
            raise InvalidContinuationToken(
                "Invalid continuationToken: it is not one lakefeed issued, or it was changed.",
                fix=fix,
            ) from None
        if collection is not None and fields["c"] != collection:
            raise InvalidContinuationToken(
                f"This continuationToken pages {fields['c']}, not {collection}.", fix=fix
            )
        return cls(fields["c"], tuple(properties), orderby, limit, offset, count)

    def check_same_listing(
        self,
        properties: Sequence[str],
        orderby: str | None,
        limit: int | None,
        count: bool | None = None,
    ) -> None:
        """A client may send the first request's parameters again with the token (some
        SDKs do); parameters that describe another listing are refused, naming them. None
        (and no ``property``) is a parameter not sent."""
        differ = []
        if properties and sorted(p.strip() for p in properties) != sorted(self.properties):
            differ.append("property")
        if orderby is not None and _orderby(orderby) != self.orderby:
            differ.append("orderby")
        if limit is not None and limit != self.limit:
            differ.append("limit")
        if count is not None and count != self.count:
            differ.append("count")
        if differ:
            raise InvalidContinuationToken(
                f"The continuationToken was issued for a listing with another "
                f"{' and '.join(differ)} than this request sends: the token carries the "
                "listing's filters, order, page size and count.",
                fix="Send the token alone (as _links.next.href does), or with the first "
                "page's parameters unchanged.",
            )


def page(
    entities: Iterable[dict[str, Any]],
    *,
    path: str,
    properties: Sequence[str],
    orderby: str | None,
    limit: int | None,
    continuation_token: str | None,
    count: bool | None,
) -> dict[str, Any]:
    """The list response of the collection at ``path`` (relative to its service:
    ``/flows``): ``{"items", "_links"}``; ``{"count"}`` alone for ``count=true`` without a
    page size; ``{"items", "_links", "count"}`` (the count of every match) for ``count=true``
    with ``limit``. ``_links.next.href`` is ``{path}?continuationToken=TOKEN``.

    With ``continuation_token``, the listing is the token's; parameters sent along must
    describe the same listing (:meth:`Cursor.check_same_listing`). ``count`` is None when the
    client did not send it (false, but for that check)."""
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}.", fix="Use a smaller page.")
    wanted_order = _orderby(orderby)  # a bad orderby is refused even with count=true alone
    if continuation_token:
        cursor = Cursor.decode(continuation_token, path)
        cursor.check_same_listing(properties, orderby, limit, count)
    else:
        if count and limit is None:
            filters = [parse_filter(expression) for expression in properties]
            return {"count": sum(1 for e in entities if matches(e, filters))}
        cursor = Cursor(
            path,
            tuple(p.strip() for p in properties),
            wanted_order,
            limit or DEFAULT_LIMIT,
            0,
            bool(count),
        )
    filters = [parse_filter(expression) for expression in cursor.properties]
    kept = order([e for e in entities if matches(e, filters)], cursor.orderby)
    start, end = cursor.offset, cursor.offset + cursor.limit
    links: dict[str, Any] = {}
    if end < len(kept):
        following = Cursor(path, cursor.properties, cursor.orderby, cursor.limit, end, cursor.count)
        links["next"] = {"href": f"{path}?continuationToken={following.encode()}"}
    answer: dict[str, Any] = {"items": kept[start:end], "_links": links}
    if cursor.count:
        answer["count"] = len(kept)
    return answer
