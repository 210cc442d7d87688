"""Runs of flows, as the Python API starts, schedules, retries and recovers them (the use
cases are in :mod:`lakefeed.flows`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.runner import RunHandle, RunProgress
    from lakefeed.schedules.windows import Window
from lakefeed.engine.installation import Installation


class RunOperations(Installation):
    """Starting, scheduling, retrying and recovering runs; a flow's backlog."""

    def start_run(
        self,
        flow: Flow | str,
        *,
        window: Window | None = None,
        only_window_files: bool = False,
        retry_failed: bool = False,
        params: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        guard: Callable[[Flow], None] | None = None,
        scheduled: Run | None = None,
    ) -> RunHandle:
        """Start a run of ``flow`` (or its id or name) and return its handle; the run is
        recorded ``inProgress`` and :meth:`RunHandle.execute` executes it (here, or in a
        worker). ``scheduled``: adopt that ``scheduled`` run instead of recording a new one.
        The flow need not be enabled (the scheduler checks its own); see
        :class:`~lakefeed.flows.runner.RunOptions` for the rest."""
        from lakefeed.flows.runner import RunOptions, start_run

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        options = RunOptions(
            window=window,
            only_window_files=only_window_files,
            retry_failed=retry_failed,
            cancel=cancel,
            guard=guard,
        )
        return start_run(self.run_context, flow, options, params=params, scheduled=scheduled)

    def start_scheduled(
        self,
        run: Run,
        *,
        cancel: threading.Event | None = None,
        guard: Callable[[Flow], None] | None = None,
    ) -> RunHandle:
        """Start a run recorded ``scheduled`` (``POST /runs`` with a later ``startTime``) now
        that its time has come. Refused when its flow is gone or disabled, or its params no
        longer fit the flow (:class:`FlowDisabled`, …); :class:`RunInProgress` when another
        process started it."""
        from lakefeed.flows import ondemand
        from lakefeed.flows.runner import RunOptions

        return ondemand.start_scheduled(
            self.run_context, run, RunOptions(cancel=cancel, guard=guard)
        )

    def run_now(self, flow: Flow | str, *, retry_failed: bool = False) -> RunHandle:
        """Start a run of an enabled flow now, whatever its schedule (:class:`FlowDisabled`
        otherwise); returns its handle."""
        from lakefeed.flows import ondemand
        from lakefeed.flows.runner import RunOptions

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        return ondemand.start(self.run_context, flow, RunOptions(retry_failed=retry_failed))

    def request_run(
        self, flow: Flow | str, params: Mapping[str, Any], *, now: float | None = None
    ) -> RunHandle | Run:
        """``POST /runs``: an on-demand run of a ``once`` flow, with its ``params`` checked.
        Returns the started run's handle, or — when ``params.startTime`` is more than a
        minute ahead — the run recorded ``scheduled`` for a scheduler to start then."""
        from lakefeed.flows import ondemand

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        window, stored = ondemand.on_demand_window(flow, params)
        return ondemand.start_or_defer(self.run_context, flow, window, stored, now=now)

    def check_run_params(self, flow: Flow, params: Mapping[str, Any]) -> None:
        """The checks :meth:`request_run` makes of ``params`` before it starts anything
        (:class:`RunNotSupported` unless ``flow`` runs ``once``, :class:`InvalidRunParams`,
        :class:`InvalidRunWindow`)."""
        from lakefeed.flows import ondemand

        ondemand.on_demand_window(flow, params)

    def retrigger(self, run_id: str) -> RunHandle:
        """Start a failed run's flow again over the same window, retrying the files that
        failed for good in it too; returns the new run's handle."""
        from lakefeed.flows import ondemand

        return ondemand.retrigger(self.run_context, run_id)

    def run_flow(
        self,
        flow: Flow | str,
        *,
        progress: Callable[[RunProgress], None] | None = None,
        retry_failed: bool = False,
    ) -> Run:
        """Run ``flow`` (or its id or name) now and return the finished run. Files already
        ingested are skipped; ``retry_failed`` also retries file versions that failed for good
        (corrupt, schema mismatch) before."""
        return self.run_now(flow, retry_failed=retry_failed).execute(progress)

    def retrigger_run(
        self, run_id: str, *, progress: Callable[[RunProgress], None] | None = None
    ) -> Run:
        """Run a failed run's flow again over the same window (files that failed for good in
        it are retried too); returns the new run, finished."""
        return self.retrigger(run_id).execute(progress)

    def recover_interrupted(self) -> list[Run]:
        """Close, in every org and sandbox, the runs whose process is gone (rolled forward or
        back from the table's snapshots); returns them. Servers and schedulers call it as they
        start."""
        from lakefeed.flows.recovery import recover_interrupted

        return recover_interrupted(self.run_context)

    def backlog_of(self, flow: Flow | str, *, refresh: bool = False) -> dict[str, Any]:
        """The files ``flow`` has discovered but not ingested, as of its last listing;
        ``refresh`` lists its source now."""
        from lakefeed.flows.backlog import backlog_of

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        return backlog_of(self.run_context, flow, refresh=refresh)

    def discover_backlog(self, flow: Flow | str) -> None:
        """List ``flow``'s source now and record what waits for its next run."""
        from lakefeed.flows.backlog import discover

        if isinstance(flow, str):
            flow = self.flows.flow(flow)
        discover(self.run_context, flow)
