"""``/data/foundation/flowservice``: connection specs, connections, source and target
connections, flow specs, flows and runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from lakefeed.api.listing import page
from lakefeed.api.security import Caller, caller

PREFIX = "/data/foundation/flowservice"
router = APIRouter(tags=["flowservice"])

CallerDep = Annotated[Caller, Depends(caller)]
Properties = Annotated[list[str], Query(alias="property")]


@router.get("/connectionSpecs")
def list_connection_specs(who: CallerDep, properties: Properties = []) -> dict[str, Any]:  # noqa: B006
    """The connection specs the installed plugins provide (and the dataset target spec)."""
    from lakefeed.specs import DATASET_TARGET_SPEC

    specs = [s.to_dict() for s in who.lf.connection_specs()] + [DATASET_TARGET_SPEC.to_dict()]
    return page(
        specs,
        path=f"{PREFIX}/connectionSpecs",
        properties=properties,
        orderby=None,
        limit=None,
        continuation_token=None,
        count=False,
    )
