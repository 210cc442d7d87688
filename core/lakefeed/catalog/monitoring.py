"""``MonitoringViews``: the health of every flow, read for the Prometheus ``/metrics`` text —
backlog, last completed run, pick-up latency — and run counts.

Monitoring covers the whole database: ``/metrics`` is scraped once for every org and sandbox
(labelled by them), so these reads span all scopes (``all_scopes_*``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.backlog import Backlog

#: Successful runs per flow searched for the latest pick-up latency.
PICKUP_LOOKBACK = 20


@dataclass(frozen=True)
class LastRun:
    """A flow's latest completed run, as monitoring shows it."""

    status: str
    completed_at: int | None  # epoch ms


@dataclass(frozen=True)
class PickupLatency:
    """File modified → committed, over the files of one run (epoch-ms durations)."""

    min_ms: int
    p50_ms: int
    max_ms: int


@dataclass(frozen=True)
class FlowHealth:
    """One flow's series."""

    ims_org_id: str
    sandbox_name: str
    flow_id: str
    name: str
    enabled: bool
    backlog: Backlog | None  # None until its source was listed once
    last_run: LastRun | None  # None until a run completed
    pickup: PickupLatency | None  # of its latest run that committed files


@dataclass(frozen=True)
class RunCount:
    ims_org_id: str
    sandbox_name: str
    state: str
    status: str
    count: int


@dataclass(frozen=True)
class HealthSnapshot:
    flows: list[FlowHealth]
    run_counts: list[RunCount]


class MonitoringViews:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def all_scopes_health(self) -> HealthSnapshot:
        """Every flow's health and the run counts, of every org and sandbox, read on one
        connection."""
        f, b, r = tables.flows, tables.flow_backlog, tables.runs
        with self.engine.connect() as conn:
            flow_rows = conn.execute(sa.select(f)).mappings().all()
            backlogs = {
                row["flow_id"]: Backlog.from_row(row)
                for row in conn.execute(sa.select(b)).mappings()
            }
            counts = conn.execute(
                sa.select(
                    r.c.ims_org_id, r.c.sandbox_name, r.c.state, r.c.status, sa.func.count()
                ).group_by(r.c.ims_org_id, r.c.sandbox_name, r.c.state, r.c.status)
            ).all()
            latest = (
                sa.select(r.c.flow_id, sa.func.max(r.c.created_at).label("created_at"))
                .where(r.c.state == "completed")
                .group_by(r.c.flow_id)
                .subquery()
            )
            last_runs = {
                row["flow_id"]: LastRun(
                    status=row["status"],
                    completed_at=row["metrics"].get("durationSummary", {}).get("completedAtUTC"),
                )
                for row in conn.execute(
                    sa.select(r.c.flow_id, r.c.status, r.c.metrics).join(
                        latest,
                        (r.c.flow_id == latest.c.flow_id) & (r.c.created_at == latest.c.created_at),
                    )
                ).mappings()
            }
            picked = _last_pickups(conn, [row["id"] for row in flow_rows])
        flows = [
            FlowHealth(
                ims_org_id=row["ims_org_id"],
                sandbox_name=row["sandbox_name"],
                flow_id=row["id"],
                name=row["name"],
                enabled=row["state"] == "enabled",
                backlog=backlogs.get(row["id"]),
                last_run=last_runs.get(row["id"]),
                pickup=picked.get(row["id"]),
            )
            for row in flow_rows
        ]
        run_counts = [
            RunCount(ims_org_id=org, sandbox_name=sandbox, state=state, status=status, count=n)
            for org, sandbox, state, status, n in counts
        ]
        return HealthSnapshot(flows=flows, run_counts=run_counts)


def _last_pickups(conn: sa.Connection, flow_ids: Sequence[str]) -> dict[str, PickupLatency]:
    """Per flow, the pick-up latency summary of its latest run that committed files, looking
    at its last ``PICKUP_LOOKBACK`` successful runs (runs that found no new file have none)."""
    r = tables.runs
    out: dict[str, PickupLatency] = {}
    if not flow_ids:
        return out
    rank = (
        sa.func.row_number()
        .over(partition_by=r.c.flow_id, order_by=(r.c.created_at.desc(), r.c.id.desc()))
        .label("rank")
    )
    recent = (
        sa.select(r.c.flow_id, r.c.created_at, r.c.metrics, rank)
        .where(r.c.flow_id.in_(flow_ids), r.c.state == "completed", r.c.status == "success")
        .subquery()
    )
    query = (
        sa.select(recent.c.flow_id, recent.c.metrics)
        .where(recent.c.rank <= PICKUP_LOOKBACK)
        .order_by(recent.c.flow_id, recent.c.rank)
    )
    for flow_id, metrics in conn.execute(query):
        if flow_id in out:
            continue
        extensions = metrics.get("durationSummary", {}).get("extensions") or {}
        if extensions.get("pickupLatency"):
            out[flow_id] = _pickup(extensions["pickupLatency"])
    return out


def _pickup(summary: Mapping[str, Any]) -> PickupLatency:
    return PickupLatency(min_ms=summary["minMs"], p50_ms=summary["p50Ms"], max_ms=summary["maxMs"])
