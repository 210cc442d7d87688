"""Runs asked for rather than scheduled: "run now", Flow Service on-demand runs of ``once``
flows (``POST /runs``), and re-triggering a failed run. Each check raises the Flow Service
error it is known by; :func:`start` returns the started run's handle, for the caller to
execute (inline, or in a server's worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lakefeed.errors import (
    FlowDisabled,
    InvalidRunParams,
    InvalidRunWindow,
    RunNotRetriggerable,
    RunNotSupported,
)
from lakefeed.flows.metrics import unstarted_metrics
from lakefeed.flows.runner import RunHandle, RunOptions, start_run
from lakefeed.schedules.windows import Window

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.context import RunContext

RUN_PARAMS = ("startTime", "windowStartTime", "windowEndTime")


def check_enabled(flow: Flow, doing: str = "run") -> None:
    """:class:`FlowDisabled` unless ``flow`` is enabled."""
    if flow.state != "enabled":
        raise FlowDisabled(
            f"Flow {flow.name!r} is {flow.state}; it must be enabled to {doing}.",
            fix=f"Enable it first (`lakefeed flows enable {flow.name}`, or POST "
            f"/flows/{flow.id}/action?op=enable).",
        )


def start(
    ctx: RunContext,
    flow: Flow,
    options: RunOptions | None = None,
    *,
    params: Mapping[str, str] | None = None,
) -> RunHandle:
    """Start a run of an enabled flow now (``FlowDisabled`` otherwise; ``RunInProgress`` when
    one is running)."""
    check_enabled(flow)
    return start_run(ctx, flow, options, params=params)


#: An on-demand run whose ``startTime`` is more than this many seconds ahead waits for it.
DEFER_AFTER = 60


def start_or_defer(
    ctx: RunContext,
    flow: Flow,
    window: Window | None,
    params: Mapping[str, str],
    *,
    now: float | None = None,
) -> RunHandle | Run:
    """``POST /runs``: start the run now (its handle), or — when ``params.startTime`` is more
    than a minute ahead — record it ``scheduled`` for a scheduler to start at that time (the
    run)."""
    import time

    start_time = int(params.get("startTime", 0))
    if start_time > (time.time() if now is None else now) + DEFER_AFTER:
        check_enabled(flow)
        return ctx.runs.schedule(flow.id, params, unstarted_metrics("scheduled"))
    options = RunOptions(window=window, only_window_files=window is not None)
    return start(ctx, flow, options, params=params)


def start_scheduled(ctx: RunContext, run: Run, options: RunOptions) -> RunHandle:
    """Start ``run``, recorded ``scheduled``, now that its ``startTime`` has come: refused when
    its flow is gone or disabled or its params no longer fit the flow; ``RunInProgress`` when
    another process started it. ``options`` give the cancel event and guard; the window comes
    from the run's params."""
    flow = ctx.flows.flow(run.flow_id)
    if flow.state != "enabled":
        raise FlowDisabled(
            f"Flow {flow.name!r} was disabled before the run's startTime.",
            fix="Enable it and create the run again.",
        )
    window, _ = on_demand_window(flow, run.params)
    options = replace(options, window=window, only_window_files=window is not None)
    return start_run(ctx, flow, options, scheduled=run)


def on_demand_window(flow: Flow, params: Mapping[str, Any]) -> tuple[Window | None, dict[str, str]]:
    """Check ``POST /runs`` params for ``flow``: only ``once`` flows take them
    (:class:`RunNotSupported`), times are epoch seconds and the window's end is not before its
    start. Returns the window (None without one) and the params as stored."""
    if flow.schedule.frequency != "once":
        raise RunNotSupported(
            f"Run creation is not supported for the flow's frequency "
            f"{flow.schedule.frequency!r}: on-demand runs are for flows with frequency 'once'.",
            fix="Let the schedule run it, use run now (POST /flows/{id}/runs), or "
            "create a flow with scheduleParams.frequency once.",
        )
    unknown = sorted(set(params) - set(RUN_PARAMS))
    if unknown:
        raise InvalidRunParams(
            f"Unknown run params: {', '.join(unknown)}.",
            fix=f"Runs take {', '.join(RUN_PARAMS)} (epoch seconds).",
        )
    seconds = {
        name: _epoch(params[name], name) for name in RUN_PARAMS if params.get(name) is not None
    }
    start, end = seconds.get("windowStartTime"), seconds.get("windowEndTime")
    if start is not None and end is not None and end < start:
        raise InvalidRunWindow(
            f"params.windowEndTime ({end}) is before params.windowStartTime ({start}).",
            fix="Send a window whose end is at or after its start.",
        )
    stored = {k: str(v) for k, v in seconds.items()}
    if end is None:
        return None, stored
    return Window(start=start, end=end, previous_end=0), stored


def retrigger(ctx: RunContext, run_id: str) -> RunHandle:
    """Run a failed run's flow again over the same window, retrying the files that failed for
    good in it too. The flow must be enabled; the run must have failed."""
    failed = ctx.runs.get(run_id)
    if failed.state != "completed" or failed.status != "failed":
        raise RunNotRetriggerable(
            f"Run {run_id} is {failed.status if failed.state == 'completed' else failed.state}; "
            "only a failed run can be re-triggered.",
            fix="Re-trigger a run whose status is failed, or run the flow now.",
        )
    flow = ctx.flows.flow(failed.flow_id)
    check_enabled(flow, "re-trigger its runs")
    options = RunOptions(window=_window_of(failed), retry_failed=True)
    return start(ctx, flow, options, params={"retriggerOf": run_id})


def _window_of(run: Run) -> Window | None:
    params = run.params or {}
    if params.get("windowEndTime") is None:
        return None
    start = int(params.get("windowStartTime") or 0)
    return Window(start=start or None, end=int(params["windowEndTime"]), previous_end=0)


def _epoch(value: Any, field: str) -> int:
    from lakefeed.schedules.rules import LATEST_START

    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = int(str(value).strip())
        if not 0 <= seconds <= LATEST_START:
            raise ValueError
        return seconds
    except ValueError:
        raise InvalidRunParams(
            f"params.{field} must be epoch seconds (0 to the year 9999), not {value!r}.",
            fix=f"Send {field} as digits.",
        ) from None
