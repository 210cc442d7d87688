"""Prometheus text exposition of flow health: backlog, last runs, pick-up latency, run counts,
and the in-process scheduler's counters. Served at ``/metrics`` by ``lakefeed serve``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.records import now_ms

if TYPE_CHECKING:
    from lakefeed.catalog.monitoring import MonitoringViews
    from lakefeed.scheduling.scheduler import Scheduler


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


def render(
    monitoring: MonitoringViews, scheduler: Scheduler | None = None, now: int | None = None
) -> str:
    """The exposition text for every org and sandbox of the database ``monitoring`` reads."""
    now = now or now_ms()
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

    health = monitoring.all_scopes_health()
    for flow in health.flows:
        labels = {
            "ims_org_id": flow.ims_org_id,
            "sandbox": flow.sandbox_name,
            "flow_id": flow.flow_id,
            "flow": flow.name,
        }
        enabled.add(1 if flow.enabled else 0, **labels)
        waiting = flow.backlog
        if waiting is not None:
            files.add(waiting.files, **labels)
            size.add(waiting.bytes, **labels)
            listed.add(waiting.observed_at / 1000, **labels)
            if waiting.oldest_mtime is not None:
                oldest.add(max(now - waiting.oldest_mtime, 0) / 1000, **labels)
            elif waiting.files == 0:
                oldest.add(0, **labels)
        run = flow.last_run
        if run is not None:
            completed = run.completed_at
            last_run.add(None if completed is None else completed / 1000, **labels)
            last_ok.add(1 if run.status == "success" else 0, **labels)
        summary = flow.pickup
        if summary is not None:
            quantiles = {"0": summary.min_ms, "0.5": summary.p50_ms, "1": summary.max_ms}
            for quantile, ms in quantiles.items():
                pickup.add(ms / 1000, quantile=quantile, **labels)
    for count in health.run_counts:
        labels = {"ims_org_id": count.ims_org_id, "sandbox": count.sandbox_name}
        if count.state == "completed":
            runs_total.add(count.count, status=count.status, **labels)
        elif count.state == "inProgress":
            in_progress.add(count.count, **labels)
        elif count.state == "scheduled":
            scheduled.add(count.count, **labels)

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
