"""``/data/foundation/flowservice``: connection specs, connections, source and target
connections, flow specs, flows and runs.

One router per resource family (``flowservice_connections``, ``flowservice_source_target``,
``flowservice_flows``, ``flowservice_runs``); the specs live here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lakefeed.api import (
    flowservice_connections,
    flowservice_flows,
    flowservice_runs,
    flowservice_source_target,
)
from lakefeed.api.flowservice_common import PREFIX, CallerDep, ListQuery, items
from lakefeed.engine import Lakefeed
from lakefeed.errors import ResourceNotFound, UnknownConnectionSpec
from lakefeed.specs import DATASET_TARGET_SPEC, FlowSpec, cloud_storage_flow_spec

__all__ = ["PREFIX", "router"]

router = APIRouter(tags=["flowservice"])


@router.get("/connectionSpecs")
def list_connection_specs(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """The connection specs the installed plugins provide (and the dataset target spec),
    paged, filtered, sorted and counted as every Flow Service list."""
    file_types = who.lf.plugins.formats().file_types()
    specs = [s.to_dict(file_types=file_types) for s in who.lf.connection_specs()]
    specs.append(DATASET_TARGET_SPEC.to_dict())
    return query.page(specs, "connectionSpecs")


@router.get("/connectionSpecs/{id}")
def get_connection_spec(who: CallerDep, id: str) -> dict[str, Any]:
    """One connection spec, by id or name."""
    if id in (DATASET_TARGET_SPEC.id, DATASET_TARGET_SPEC.name):
        return items(DATASET_TARGET_SPEC.to_dict())
    try:
        spec = who.lf.connection_spec(id)
    except UnknownConnectionSpec as exc:
        raise ResourceNotFound(exc.message, fix=exc.fix) from exc
    return items(spec.to_dict(file_types=who.lf.plugins.formats().file_types()))


def flow_spec(lf: Lakefeed) -> FlowSpec:
    """``CloudStorageToAEP`` with every installed source spec."""
    return cloud_storage_flow_spec(tuple(s.id for s in lf.connection_specs()))


@router.get("/flowSpecs")
def list_flow_specs(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    """The flow spec (``CloudStorageToAEP``), as every Flow Service list."""
    return query.page([flow_spec(who.lf).to_dict()], "flowSpecs")


@router.get("/flowSpecs/{id}")
def get_flow_spec(who: CallerDep, id: str) -> dict[str, Any]:
    """The flow spec, by id or name."""
    spec = flow_spec(who.lf)
    if id not in (spec.id, spec.name):
        raise ResourceNotFound(
            f"No flow spec {id!r} (available: {spec.name} {spec.id}).",
            fix=f"Use flowSpec.id {spec.id}.",
        )
    return items(spec.to_dict())


for _module in (
    flowservice_connections,
    flowservice_source_target,
    flowservice_flows,
    flowservice_runs,
):
    router.include_router(_module.router)
