"""Prometheus text exposition of flow health: backlog, last runs, pick-up latency, run counts,
and the in-process scheduler's counters. Served at ``/metrics`` by ``lakefeed serve``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import now_ms

if TYPE_CHECKING:
    from lakefeed.scheduling.scheduler import Scheduler

#: Successful runs per flow searched for the latest pick-up latency.
PICKUP_LOOKBACK = 20


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, Any]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Family:
    def __init__(self, name: str, kind: str, help: str) -> None:
        self.name, self.kind, self.help = name, kind, help
        self.samples: list[tuple[dict[str, Any], float]] = []

    def add(self, value: float | None, **labels: Any) -> None:
        if value is not None:
            self.samples.append((labels, float(value)))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            number = repr(value) if not value.is_integer() else str(int(value))
            yield f"{self.name}{_labels(labels) if labels else ''} {number}"


def render(db: sa.Engine, scheduler: Scheduler | None = None, now: int | None = None) -> str:
    """The exposition text for every org and sandbox in the database behind ``db``."""
    now = now or now_ms()
    f, b, r = tables.flows, tables.flow_backlog, tables.runs
    enabled = _Family("lakefeed_flow_enabled", "gauge", "1 when the flow is enabled.")
    files = _Family("lakefeed_flow_backlog_files", "gauge",
                    "Files discovered but not committed, as of the last listing.")  # fmt: skip
    size = _Family("lakefeed_flow_backlog_bytes", "gauge", "Bytes of those files.")
    oldest = _Family("lakefeed_flow_backlog_oldest_age_seconds", "gauge",
                     "Age (since last modified) of the oldest file not committed.")  # fmt: skip
    listed = _Family("lakefeed_flow_backlog_observed_timestamp_seconds", "gauge",
                     "When the flow's source was last listed.")  # fmt: skip
    last_run = _Family("lakefeed_flow_last_run_timestamp_seconds", "gauge",
                       "When the flow's last completed run ended.")  # fmt: skip
    last_ok = _Family("lakefeed_flow_last_run_success", "gauge",
                      "1 when the flow's last completed run succeeded.")  # fmt: skip
    pickup = _Family("lakefeed_flow_pickup_latency_seconds", "gauge",
                     "File modified → committed, over the files of the flow's last run that "
                     "committed any (quantile 0, 0.5 and 1).")  # fmt: skip
    runs_total = _Family("lakefeed_runs_total", "counter", "Completed runs, by status.")
    in_progress = _Family("lakefeed_runs_in_progress", "gauge", "Runs in progress.")
    scheduled = _Family("lakefeed_runs_scheduled", "gauge",
                      "On-demand runs waiting for their startTime.")  # fmt: skip

    with db.connect() as conn:
        flow_rows = conn.execute(sa.select(f)).mappings().all()
        backlog = {row["flow_id"]: row for row in conn.execute(sa.select(b)).mappings()}
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
            row["flow_id"]: row
            for row in conn.execute(
                sa.select(r.c.flow_id, r.c.status, r.c.metrics).join(
                    latest,
                    (r.c.flow_id == latest.c.flow_id) & (r.c.created_at == latest.c.created_at),
                )
            ).mappings()
        }
        picked = _last_pickups(conn, [row["id"] for row in flow_rows])

    for flow in flow_rows:
        labels = {
            "ims_org_id": flow["ims_org_id"],
            "sandbox": flow["sandbox_name"],
            "flow_id": flow["id"],
            "flow": flow["name"],
        }
        enabled.add(1 if flow["state"] == "enabled" else 0, **labels)
        waiting = backlog.get(flow["id"])
        if waiting is not None:
            files.add(waiting["files"], **labels)
            size.add(waiting["bytes"], **labels)
            listed.add(waiting["observed_at"] / 1000, **labels)
            if waiting["oldest_mtime"] is not None:
                oldest.add(max(now - waiting["oldest_mtime"], 0) / 1000, **labels)
            elif waiting["files"] == 0:
                oldest.add(0, **labels)
        run = last_runs.get(flow["id"])
        if run is not None:
            completed = run["metrics"].get("durationSummary", {}).get("completedAtUTC")
            last_run.add(None if completed is None else completed / 1000, **labels)
            last_ok.add(1 if run["status"] == "success" else 0, **labels)
        summary = picked.get(flow["id"])
        if summary is not None:
            for quantile, key in (("0", "minMs"), ("0.5", "p50Ms"), ("1", "maxMs")):
                pickup.add(summary[key] / 1000, quantile=quantile, **labels)
    for org, sandbox, state, status, count in counts:
        labels = {"ims_org_id": org, "sandbox": sandbox}
        if state == "completed":
            runs_total.add(count, status=status, **labels)
        elif state == "inProgress":
            in_progress.add(count, **labels)
        elif state == "scheduled":
            scheduled.add(count, **labels)

    families = [enabled, files, size, oldest, listed, last_run, last_ok, pickup, runs_total,
                in_progress, scheduled]  # fmt: skip
    if scheduler is not None:
        stats = scheduler.stats
        for name, value, help in (
            ("lakefeed_scheduler_ticks_total", stats.ticks, "Looks for due windows."),
            ("lakefeed_scheduler_windows_claimed_total", stats.claimed, "Windows claimed."),
            ("lakefeed_scheduler_windows_taken_over_total", stats.taken_over,
             "Windows taken over from a scheduler whose lease expired."),
            ("lakefeed_scheduler_windows_released_total", stats.released,
             "Windows given back unrun (flow disabled or busy, shutdown)."),
        ):  # fmt: skip
            family = _Family(name, "counter", help)
            family.add(value)
            families.append(family)
    return "\n".join(line for family in families for line in family.render()) + "\n"


def _last_pickups(conn: sa.Connection, flow_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per flow, the pick-up latency summary of its latest run that committed files, looking
    at its last ``PICKUP_LOOKBACK`` successful runs (runs that found no new file have none)."""
    r = tables.runs
    out: dict[str, dict[str, int]] = {}
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
            out[flow_id] = extensions["pickupLatency"]
    return out
