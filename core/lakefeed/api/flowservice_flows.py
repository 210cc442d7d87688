"""``/flows``: dataflows from one source connection to one target connection — create, list,
read (with ``inheritedAttributes`` and ``lastRunDetails``), PATCH, enable/disable, delete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from lakefeed.api.flowservice_bodies import FlowBody, IdEtag, PatchBody, patch_operations
from lakefeed.api.flowservice_common import (
    CallerDep,
    ListQuery,
    created,
    items,
)
from lakefeed.api.flowservice_connections import changed_text
from lakefeed.api.patch import IfMatch, apply_patch, check_delete_etag, check_etag
from lakefeed.catalog.flows import Flow, SourceConnection, TargetConnection
from lakefeed.catalog.runs import Run
from lakefeed.engine import Lakefeed
from lakefeed.errors import InvalidRequest

router = APIRouter(tags=["flowservice"])

PATCHABLE = ("/name", "/description", "/scheduleParams", "/options", "/transformations")
ACTIONS = {"enable": "enabled", "disable": "disabled"}
Connected = SourceConnection | TargetConnection


def flow_dicts(lf: Lakefeed, flows: Iterable[Flow]) -> list[dict[str, Any]]:
    """Flow Service flow items: the flow plus ``inheritedAttributes`` (its connections with
    their specs and base connections, and ``properties.isSourceFlow``: every lakefeed flow
    reads a source into a dataset) and, once it has run, ``lastRunDetails``."""
    flows = list(flows)

    # Only the connections these flows use (all of them for a long list), and of their base
    # connections only the spec: no secret is decrypted to show a flow.
    few = len(flows) <= 500
    source_ids = {id for flow in flows for id in flow.source_connection_ids} if few else None
    target_ids = {id for flow in flows for id in flow.target_connection_ids} if few else None
    sources: dict[str, Connected] = {s.id: s for s in lf.flows.source_connections(source_ids)}
    targets: dict[str, Connected] = {t.id: t for t in lf.flows.target_connections(target_ids)}
    base_ids = [c.base_connection_id for c in (*sources.values(), *targets.values())]
    bases = lf.connections.spec_versions(id for id in base_ids if id)

    def spec(connection: Connected) -> dict[str, Any]:
        return {
            "id": connection.connection_spec_id,
            "version": connection.connection_spec_version,
        }

    def inherited(ids: Iterable[str], connections: Mapping[str, Connected]) -> list[dict[str, Any]]:
        out = []
        for id in ids:
            connection = connections.get(id)
            if connection is None:
                continue
            entry: dict[str, Any] = {"id": id, "connectionSpec": spec(connection)}
            base = bases.get(connection.base_connection_id or "")
            if base is not None:
                entry["baseConnection"] = {
                    "id": connection.base_connection_id,
                    "connectionSpec": {"id": base[0], "version": base[1]},
                }
            out.append(entry)
        return out

    # One flow (GET /flows/{id}) or a page of them: read only their latest completed runs.
    last_runs: dict[str, Run] = lf.runs.last_completed([flow.id for flow in flows] if few else None)
    shapes = []
    for flow in flows:
        extra: dict[str, Any] = {
            "inheritedAttributes": {
                "sourceConnections": inherited(flow.source_connection_ids, sources),
                "targetConnections": inherited(flow.target_connection_ids, targets),
                "properties": {"isSourceFlow": True},
            }
        }
        last = last_runs.get(flow.id)
        if last is not None:
            duration = last.metrics.get("durationSummary", {})
            extra["lastRunDetails"] = {
                "id": last.id,
                "state": "success" if last.status == "success" else "failed",
                "startedAtUTC": duration.get("startedAtUTC"),
                "completedAtUTC": duration.get("completedAtUTC"),
            }
        shapes.append(flow.to_dict(**extra))
    return shapes


@router.get("/flows")
def list_flows(who: CallerDep, query: ListQuery) -> dict[str, Any]:
    return query.page(flow_dicts(who.lf, who.lf.flows.list_flows()), "flows")


@router.post("/flows", status_code=201, response_model=IdEtag)
def create_flow(who: CallerDep, body: FlowBody) -> JSONResponse:
    """A dataflow, created enabled. ``scheduleParams`` (``startTime``, ``frequency``,
    ``interval``, ``backfill``; numbers or numeric strings) default to once, from now;
    ``options`` take ``partialIngestionPercent`` and ``errorDiagnosticsEnabled``."""
    if "state" in body.model_fields_set:
        raise InvalidRequest(
            "state is not allowed in a create-flow request: a flow is created enabled.",
            fix="Drop state; use POST /flows/{id}/action?op=disable to disable it.",
        )
    flow = who.lf.flows.create_flow(
        name=body.name,
        description=body.description or "",
        flow_spec_id=body.flowSpec.id,
        source_connection_ids=body.sourceConnectionIds,
        target_connection_ids=body.targetConnectionIds,
        schedule=body.scheduleParams,
        options=body.options,
        transformations=body.transformations,
    )
    return created(flow.id, flow.etag, "flows")


@router.get("/flows/{id}")
def get_flow(who: CallerDep, id: str) -> dict[str, Any]:
    return items(flow_dicts(who.lf, [who.lf.flows.flow(id)])[0])


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{field} must be an object, not {value!r}.", fix="Send an object.")
    return value


@router.patch("/flows/{id}", response_model=IdEtag)
def patch_flow(who: CallerDep, id: str, body: PatchBody, if_match: IfMatch = None) -> Any:
    """JSON Patch on ``/name``, ``/description``, ``/scheduleParams/…`` (validated as on
    create), ``/options/…`` and ``/transformations``."""
    flows = who.lf.flows
    flow = flows.flow(id)
    check_etag(if_match, flow.etag)
    document = flow.to_dict()
    changed = apply_patch(document, patch_operations(body), PATCHABLE)
    schedule = changed.get("scheduleParams", {})
    options = changed.get("options", {})
    transformations = changed.get("transformations", [])
    if not isinstance(transformations, list):
        raise InvalidRequest("transformations must be a list.", fix="Send a list, or [].")
    updated = flows.update_flow(
        flow.id,
        name=changed_text(changed, "name", flow.name, required=True),
        description=changed_text(changed, "description", document["description"]),
        schedule=None
        if schedule == document["scheduleParams"]
        else _object(schedule, "scheduleParams"),
        options=None if options == document["options"] else _object(options, "options"),
        transformations=None if transformations == document["transformations"] else transformations,
        etag=flow.etag,
    )
    return {"id": updated.id, "etag": updated.etag}


@router.post("/flows/{id}/action", response_model=IdEtag)
def flow_action(who: CallerDep, id: str, op: Annotated[str, Query()]) -> Any:
    """``op=enable`` or ``op=disable``: a disabled flow is not scheduled and takes no run."""
    state = ACTIONS.get(op.strip().lower())
    if state is None:
        raise InvalidRequest(
            f"Unknown flow action {op!r} (supported: enable, disable).", fix="Use op=enable."
        )
    flow = who.lf.flows.set_flow_state(id, state)
    return {"id": flow.id, "etag": flow.etag}


@router.delete("/flows/{id}", status_code=204, response_class=Response)
def delete_flow(who: CallerDep, id: str, if_match: IfMatch = None) -> Response:
    """Refused (409) while a run of the flow is in progress; its runs stay, as history.
    412 for an ``If-Match`` that is not its etag."""
    flow = who.lf.flows.flow(id)
    check_delete_etag(if_match, flow.etag)
    who.lf.delete_flow(flow.id, if_match=if_match)  # checked again as it is deleted
    return Response(status_code=204)


@router.post("/flows/{id}/runs", status_code=201)
def run_flow_now(who: CallerDep, id: str, request: Request) -> JSONResponse:
    """Run now (a lakefeed extension): start a run of an enabled flow of any frequency, over
    every file not ingested yet; the schedule is not changed. 409 while one is running.
    Answers ``{"items": [{"id", "etag"}]}`` like ``POST /runs``."""
    from lakefeed.api.run_workers import run_now

    run = run_now(request, who.lf, id)
    return JSONResponse({"items": [{"id": run.id, "etag": run.etag}]}, status_code=201)


@router.get("/flows/{id}/backlog")
def flow_backlog(
    who: CallerDep, id: str, refresh: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """A lakefeed extension: the files the flow has discovered but not ingested, their bytes
    and the age of the oldest, as of its last listing (a run, or the scheduler's discovery);
    ``refresh=true`` lists the source now."""
    from lakefeed.api.local_roots import check_flow

    flow = who.lf.flows.flow(id)
    if refresh:
        check_flow(who.lf, flow)
    return items(who.lf.backlog_of(flow, refresh=refresh))
