"""Starting a run: :func:`start_run` records it ``inProgress`` (after recovering interrupted
runs of its flow) and returns a :class:`RunHandle`, which executes it once
(:mod:`lakefeed.flows.execution`) — here, or in a server's worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.records import now_ms
from lakefeed.errors import RunInProgress
from lakefeed.flows import metrics as codes
from lakefeed.flows.execution import RunExecution
from lakefeed.flows.metrics import RunMetrics
from lakefeed.flows.options import RunOptions, RunProgress
from lakefeed.flows.recovery import recover

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.context import RunContext

__all__ = ["RunHandle", "RunOptions", "RunProgress", "start_run"]


def start_run(
    ctx: RunContext,
    flow: Flow,
    options: RunOptions | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    scheduled: Run | None = None,
) -> RunHandle:
    """Recover interrupted runs of the flow, then record a new run ``inProgress`` (owned by
    this process) and return its handle: a server answers with the run's id, then executes it
    in a worker. Raises RunInProgress when a live run of the flow exists. With ``scheduled`` (a
    run in state ``scheduled``), that run is moved to ``inProgress`` instead. ``params`` are
    stored in the run besides its window's."""
    options = options or RunOptions()
    records = ctx.runs
    for active in records.active(flow.id):
        if not recover(ctx, active):
            raise RunInProgress(
                f"Flow {flow.name!r} has run {active.id} in progress (process {active.owner}).",
                fix="Wait for it to finish; `lakefeed runs show` follows it.",
            )
    started = now_ms()
    window = options.window
    stored: dict[str, Any]
    if window is not None:
        metrics = RunMetrics(
            started_at=started,
            window_start=None if window.start is None else window.start * 1000,
            window_end=window.end * 1000,
        )
        stored = window.to_params()
    else:
        metrics = RunMetrics(started_at=started, window_end=started)
        metrics.window_start = _window_start(ctx, flow)
        stored = {}
    if scheduled is not None:
        adopted = records.adopt_scheduled(scheduled.id, metrics.to_flow_service())
        if adopted is None:
            raise RunInProgress(
                f"Run {scheduled.id} was started by another process.",
                fix="Follow it with `lakefeed runs show`.",
            )
        run = adopted
    else:
        run = records.start(flow.id, {**stored, **(params or {})}, metrics.to_flow_service())
    # Two processes may have started together: the older run wins, the newer one stops.
    others = [r for r in records.active(flow.id) if r.id != run.id]
    if any((o.created_at, o.id) < (run.created_at, run.id) for o in others):
        metrics.status = "failed"
        metrics.completed_at = now_ms()
        metrics.error(codes.BATCH_FAILED, "Another run of this flow started at the same time.")
        records.update(
            run.id,
            state="completed",
            status=metrics.status,
            metrics=metrics.to_flow_service(),
            activities=[],
        )
        raise RunInProgress(
            f"Flow {flow.name!r} has another run in progress.", fix="Wait for it to finish."
        )
    return RunHandle(ctx, flow, run, metrics, options)


class RunHandle:
    """A run that has started (``inProgress``) and waits to be executed, once."""

    def __init__(
        self, ctx: RunContext, flow: Flow, run: Run, metrics: RunMetrics, options: RunOptions
    ) -> None:
        self.ctx = ctx
        self.flow = flow
        self.run = run
        self._metrics = metrics
        self._options = options
        self._executed = False

    def execute(self, progress: Callable[[RunProgress], None] | None = None) -> Run:
        """Execute the run to the end and return it finished. A lakefeed error (source
        unreachable, dataset gone, …) fails the run and is recorded in it; anything else is
        recorded too, then raised: it is a bug or an interrupt, and the caller must see it."""
        if self._executed:
            raise RuntimeError(f"Run {self.run.id} was executed already.")
        self._executed = True
        RunExecution(
            self.ctx, self.flow, self.run, self._metrics, self._options, progress
        ).execute()
        return self.ctx.runs.get(self.run.id)


def _window_start(ctx: RunContext, flow: Flow) -> int | None:
    previous = [r for r in ctx.runs.list(flow.id) if r.state == "completed"]
    ends = [
        a["durationSummary"]["extensions"].get("windowEnd")
        for r in previous
        for a in r.activities
        if a.get("id") == "copyActivity"
    ]
    ends = [e for e in ends if e is not None]
    if ends:
        return int(max(ends))
    schedule = flow.schedule
    return None if schedule.backfill else schedule.start_time * 1000
