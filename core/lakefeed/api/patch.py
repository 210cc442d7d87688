"""JSON Patch (RFC 6902: add, replace, remove, plus test) on an entity dict, with ``If-Match``.

Routers say which paths a resource allows; anything else is refused, naming the path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Header, Query

from lakefeed.errors import InvalidRequest, PreconditionRequired
from lakefeed.etags import etag_to_update, given_etag


def if_match(
    header: Annotated[str | None, Header(alias="If-Match")] = None,
    query: Annotated[str | None, Query(alias="if-match")] = None,
) -> str | None:
    """The etag a PUT, PATCH or DELETE must match: the ``If-Match`` header, or the
    ``if-match`` query parameter Adobe's own API collection sends instead. The header
    wins. Every service's routes take it through :data:`IfMatch`."""
    return header or query or None


IfMatch = Annotated[str | None, Depends(if_match)]


def check_delete_etag(if_match: str | None, current: str) -> None:
    """A DELETE needs no etag (as Adobe's), but one that is sent must be the current one:
    412 otherwise, as for PATCH."""
    etag_to_update(if_match, current, "The resource", fix=_REFETCH)


def check_etag(if_match: str | None, current: str) -> None:
    """400 without ``If-Match`` (or with an empty one); 412 when it is not ``current`` (quoted
    or not) — the comparison of :func:`lakefeed.etags.etag_to_update`, as the CLI's."""
    if given_etag(if_match) is None:
        raise PreconditionRequired(
            "The header 'If-Match' is missing.",
            fix="Send If-Match with the etag from the last GET.",
        )
    etag_to_update(if_match, current, "The resource", fix=_REFETCH)


_REFETCH = "GET the resource again, re-apply the change and send its new etag."


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise InvalidRequest(f"Invalid patch path {path!r}.", fix="Paths start with '/'.")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _allowed(path: str, allowed: Iterable[str]) -> bool:
    return any(path == a or path.startswith(a.rstrip("/") + "/") for a in allowed)


def apply_patch(
    document: Mapping[str, Any], operations: Any, allowed: Sequence[str]
) -> dict[str, Any]:
    """``document`` with ``operations`` applied; every path must be under one of ``allowed``."""
    if not isinstance(operations, list) or not operations:
        raise InvalidRequest(
            "A PATCH body is a non-empty JSON Patch array.",
            fix='Send [{"op": "replace", "path": "/name", "value": "new name"}].',
        )
    result = copy.deepcopy(dict(document))
    for number, operation in enumerate(operations):
        if not isinstance(operation, Mapping) or "path" not in operation:
            raise InvalidRequest(
                f"Patch operation {number} is not an object with op and path.",
                fix='Each operation looks like {"op": "replace", "path": "/name", "value": …}.',
            )
        op = str(operation.get("op", "")).lower()
        path = str(operation["path"])
        if op not in ("add", "replace", "remove", "test"):
            raise InvalidRequest(
                f"Patch operation {op!r} is not supported.", fix="Use add, replace or remove."
            )
        if op != "test" and not _allowed(path, allowed):
            raise InvalidRequest(
                f"The path {path!r} cannot be changed (changeable: {', '.join(allowed)}).",
                fix="Patch only the changeable paths.",
            )
        if op != "remove" and "value" not in operation:
            raise InvalidRequest(f"Patch operation {number} has no value.", fix="Add value.")
        *parents, last = _pointer(path)
        target: Any = result
        for part in parents:
            if isinstance(target, dict):
                target = target.setdefault(part, {}) if op == "add" else target.get(part)
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                target = None
            if target is None:
                raise InvalidRequest(f"The path {path!r} does not exist.", fix="Check the path.")
        _apply(target, op, last, operation.get("value"), path)
    return result


def _apply(target: Any, op: str, key: str, value: Any, path: str) -> None:
    if isinstance(target, list):
        index = len(target) if key == "-" else int(key) if key.isdigit() else -1
        if not 0 <= index <= len(target) - (0 if op == "add" else 1):
            raise InvalidRequest(f"The path {path!r} does not exist.", fix="Check the index.")
        if op == "add":
            target.insert(index, value)
        elif op == "replace":
            target[index] = value
        elif op == "remove":
            target.pop(index)
        elif target[index] != value:
            raise InvalidRequest(f"Test failed at {path!r}.", fix="GET the resource again.")
        return
    if not isinstance(target, dict):
        raise InvalidRequest(f"The path {path!r} does not exist.", fix="Check the path.")
    if op in ("replace", "remove", "test") and key not in target:
        raise InvalidRequest(f"The path {path!r} does not exist.", fix="Use add for new keys.")
    if op == "remove":
        del target[key]
    elif op == "test":
        if target[key] != value:
            raise InvalidRequest(f"Test failed at {path!r}.", fix="GET the resource again.")
    else:
        target[key] = value
