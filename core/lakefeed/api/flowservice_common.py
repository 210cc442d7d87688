"""What every Flow Service router shares: the caller, list parameters and response shapes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import JSONResponse

from lakefeed.api.listing import Cursor, page, parse_filter
from lakefeed.api.security import Caller, caller

PREFIX = "/data/foundation/flowservice"

CallerDep = Annotated[Caller, Depends(caller)]


@dataclass(frozen=True)
class ListParams:
    """``property`` (repeatable), ``orderby``, ``limit``, ``continuationToken``, ``count``."""

    properties: list[str]
    orderby: str | None
    limit: int | None
    continuation_token: str | None
    count: bool | None  # None: not sent (a token's own count then holds)

    def equals(self, path: str) -> str | None:
        """The one value of a ``property=path==value`` filter, if there is such a filter (so a
        route can narrow its query before the filters apply to what it read). The filters of
        a following page are the ``continuationToken``'s."""
        properties = self.properties
        if self.continuation_token:
            properties = list(Cursor.decode(self.continuation_token, None).properties)
        for expression in properties:
            field, op, values = parse_filter(expression)
            if field == path and op == "==" and len(values) == 1 and values[0]:
                return values[0]
        return None

    def page(self, entities: Iterable[dict[str, Any]], collection: str) -> dict[str, Any]:
        return page(
            entities,
            path=f"/{collection}",
            properties=self.properties,
            orderby=self.orderby,
            limit=self.limit,
            continuation_token=self.continuation_token,
            count=self.count,
        )


def list_params(
    properties: Annotated[list[str] | None, Query(alias="property")] = None,
    orderby: str | None = None,
    limit: int | None = None,
    continuation_token: Annotated[str | None, Query(alias="continuationToken")] = None,
    count: bool | None = None,
) -> ListParams:
    return ListParams(properties or [], orderby, limit, continuation_token, count)


ListQuery = Annotated[ListParams, Depends(list_params)]


def items(entity: dict[str, Any]) -> dict[str, Any]:
    """A GET by id: Flow Service wraps the one entity in ``items``."""
    return {"items": [entity]}


def created(id: str, etag: str, location: str | None = None) -> JSONResponse:
    """201 ``{id, etag}``, with ``Location`` when the resource has one."""
    headers = {"Location": f"{PREFIX}/{location}/{id}"} if location else None
    return JSONResponse({"id": id, "etag": etag}, status_code=201, headers=headers)
