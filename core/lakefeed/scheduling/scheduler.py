"""``Scheduler``: runs every enabled flow's due windows, once each, across processes.

A tick reads the enabled flows of every org and sandbox, works out which window each one is
due for (:mod:`lakefeed.schedules.windows`), claims it in the database
(:mod:`lakefeed.catalog.windows`) and runs it. Runs of one flow never overlap: a flow with
a window still running is skipped, unless that window's lease expired — then its scheduler
died, and this one takes the window over (the run it left is recovered first, as any
interrupted run is). Several schedulers may share one database; each window runs once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.owners import owner_gone, this_process
from lakefeed.catalog.records import Scope
from lakefeed.errors import (
    FlowDisabled,
    InvalidRunParams,
    InvalidRunWindow,
    LakefeedError,
    ResourceNotFound,
    RunCancelled,
    RunInProgress,
    RunNotSupported,
)
from lakefeed.flows import metrics as codes
from lakefeed.flows.metrics import unstarted_metrics
from lakefeed.schedules.clock import Clock, SystemClock
from lakefeed.schedules.windows import due_window
from lakefeed.scheduling import LEASE_SECONDS, POLL_SECONDS
from lakefeed.scheduling.maintenance import MaintenancePasses

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.catalog.runs import Run
    from lakefeed.catalog.windows import Claim
    from lakefeed.engine import Lakefeed

log = logging.getLogger("lakefeed.scheduler")


@dataclass
class SchedulerStats:
    """What a scheduler has done since it started (for logs, ``/metrics`` and tests)."""

    ticks: int = 0
    claimed: int = 0
    taken_over: int = 0
    runs: dict[str, int] = field(default_factory=dict)  # status → count
    released: int = 0


class Scheduler:
    def __init__(
        self,
        lf: Lakefeed,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        max_concurrent_runs: int = 2,
        discover_every: float | None = None,
        guard: Callable[[Lakefeed, Flow], None] | None = None,
    ) -> None:
        """``discover_every`` (seconds) also lists each enabled flow's source between runs to
        keep its backlog current; None lists only when a flow runs. ``guard(lf, flow)`` is
        called at the start of every run and may refuse it (the run fails with its error)."""
        self.lf = lf
        self.clock = clock or SystemClock()
        self.owner = owner or f"{this_process()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.max_concurrent_runs = max(1, max_concurrent_runs)
        self.discover_every = discover_every
        self.guard = guard
        self.claims = lf.windows.claims(
            owner=self.owner, clock=self.clock, lease_seconds=lease_seconds
        )
        self.stats = SchedulerStats()
        self.cancel = threading.Event()  # abandons running runs before their commit
        self._busy: set[str] = set()  # flows this process is running a window or run of
        self._lock = threading.Lock()
        self._last_discovery: dict[str, float] = {}
        self.maintenance = MaintenancePasses(lf, self.claims, self.clock, self._renewing)

    # -- one pass ------------------------------------------------------------------------------

    def due_claims(self, limit: int | None = None) -> list[Claim]:
        """Claim the windows that are due now (and expired ones to take over), up to
        ``limit``."""
        now = self.clock.now()
        last_ends = self.claims.all_scopes_last_ends()
        open_windows = self.claims.all_scopes_open_windows()
        flows = self._enabled_flows()
        once_ran = self._flows_with_runs([f.id for f in flows if _is_once(f)])
        claimed: list[Claim] = []
        for flow in flows:
            if limit is not None and len(claimed) >= limit:
                break
            with self._lock:
                if flow.id in self._busy:
                    continue
            held = open_windows.get(flow.id)
            if held is not None:
                claim = self.claims.take_over(held)
                if claim is not None:
                    log.warning(
                        "taking over window %s of flow %s from %s (lease expired)",
                        claim.window.end,
                        flow.id,
                        held.owner,
                    )
                    self.stats.taken_over += 1
                    claimed.append(claim)
                continue
            if _is_once(flow) and flow.id in once_ran:
                continue  # a once flow runs once; later runs are on demand
            window = due_window(flow.schedule, last_ends.get(flow.id), now)
            if window is None:
                continue
            claim = self.claims.claim(flow.id, flow.ims_org_id, flow.sandbox_name, window)
            if claim is not None:
                self.stats.claimed += 1
                claimed.append(claim)
        return claimed

    def tick(self) -> list[Run]:
        """Claim what is due and run it here, one window after another; returns the runs."""
        self.stats.ticks += 1
        runs = []
        for claim in self.due_claims():
            run = self.run_claim(claim)
            if run is not None:
                runs.append(run)
        for scheduled in self.due_scheduled_runs():
            run = self.run_scheduled(scheduled)
            if run is not None:
                runs.append(run)
        self._discover()
        self.maintenance.run_due()
        return runs

    def recover_interrupted(self) -> list[Run]:
        """What a scheduler does as it starts: recover the runs left ``inProgress`` by
        processes of this host that are gone (and by any whose heartbeat went quiet), and
        close the windows this host's gone schedulers held — done when their run finished
        (rolled forward), given back (due again) when it was rolled back or never started.
        Windows held on other hosts wait for their lease. Returns the recovered runs."""
        recovered = self.lf.recover_interrupted()
        for held in self.claims.all_scopes_open_windows().values():
            if not owner_gone(held.owner):
                continue
            run = None
            if held.run_id is not None:
                scope = Scope(ims_org_id=held.ims_org_id, sandbox_name=held.sandbox_name)
                run = self.lf.scoped(scope).runs.find(held.run_id)
                if run is not None and run.state != "completed":
                    continue  # still being recovered (or its recovery failed): the lease decides
            rolled_back = run is None or cut_short(run.status, run.metrics)
            if self.claims.close_abandoned(held, done=not rolled_back):
                log.warning("window %s of flow %s left by %s: %s", held.window_end,
                            held.flow_id, held.owner,
                            "due again" if rolled_back else "done")  # fmt: skip
        return recovered

    # -- the daemon ----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, *, grace_seconds: float = 30.0) -> None:
        """Tick every ``poll_seconds`` until ``stop`` is set, running up to
        ``max_concurrent_runs`` windows at once. On stop: claim nothing more, give running
        runs ``grace_seconds`` to finish, then abandon them before their commit (their
        windows are released, so they run again)."""
        pool = ThreadPoolExecutor(self.max_concurrent_runs, thread_name_prefix="lakefeed-sched")
        futures: set[Future[Any]] = set()
        log.info("scheduler %s started (poll %ss)", self.owner, self.poll_seconds)
        try:
            self.recover_interrupted()
        except Exception:
            log.exception("recovering interrupted runs failed; their leases decide instead")
        # A long compaction must not hold up claiming due windows either.
        threading.Thread(
            target=self.maintenance.run_forever,
            args=(stop, self.poll_seconds),
            name="lakefeed-maintenance",
            daemon=True,
        ).start()
        if self.discover_every is not None:
            # Listings of slow or unreachable sources must not hold up claiming due windows.
            threading.Thread(
                target=self._discover_loop, args=(stop,), name="lakefeed-discovery", daemon=True
            ).start()
        try:
            while not stop.is_set():
                self.stats.ticks += 1
                futures = {f for f in futures if not f.done()}
                free = self.max_concurrent_runs - len(futures)
                try:
                    if free > 0:
                        for claim in self.due_claims(limit=free):
                            futures.add(pool.submit(self._run_logged, claim))
                    free = self.max_concurrent_runs - len(futures)
                    if free > 0:
                        for scheduled in self.due_scheduled_runs(limit=free):
                            futures.add(pool.submit(self._run_scheduled_logged, scheduled))
                except Exception:
                    log.exception("scheduler tick failed; retrying in %ss", self.poll_seconds)
                if len(futures) >= self.max_concurrent_runs:
                    # Every worker is busy and more may be due: look again as soon as a run
                    # ends, not a whole poll later.
                    if self._wait_for_a_worker(futures, stop):
                        break
                elif self.clock.sleep(self.poll_seconds, stop):
                    break
        finally:
            log.info("scheduler %s stopping: %d runs in progress", self.owner, len(futures))
            done = threading.Event()

            def drain() -> None:
                pool.shutdown(wait=True)
                done.set()

            waiter = threading.Thread(target=drain)
            waiter.start()
            if not done.wait(grace_seconds):
                self.cancel.set()
            waiter.join()
            log.info("scheduler %s stopped", self.owner)

    def _wait_for_a_worker(self, futures: set[Future[Any]], stop: threading.Event) -> bool:
        """Wait until a run ends or a poll has passed; True when stopped meanwhile."""
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            done, _ = wait(
                futures, timeout=min(0.2, max(remaining, 0)), return_when=FIRST_COMPLETED
            )
            if done or remaining <= 0:
                return False
        return True

    def _run_logged(self, claim: Claim) -> None:
        try:
            self.run_claim(claim)
        except BaseException:
            log.exception("window %s of flow %s failed", claim.window.end, claim.flow_id)

    @contextmanager
    def _renewing(self, claim: Claim) -> Iterator[None]:
        """Renew the claim's lease every third of it while the body runs."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(max(self.lease_seconds / 3, 0.05)):
                try:
                    if not self.claims.renew(claim):
                        log.warning("flow %s's window is no longer this scheduler's", claim.flow_id)
                        return
                except Exception:
                    log.exception("renewing the lease of flow %s failed", claim.flow_id)

        thread = threading.Thread(target=renew, name="lakefeed-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    # -- running one window --------------------------------------------------------------------

    def run_claim(self, claim: Claim) -> Run | None:
        """Run a claimed window; the window is done afterwards whatever the run's status, or
        released (due again) when the flow is disabled, busy or the run was abandoned."""
        lf = self.lf.scoped(Scope(ims_org_id=claim.ims_org_id, sandbox_name=claim.sandbox_name))
        with self._lock:
            self._busy.add(claim.flow_id)
        try:
            with self._renewing(claim):
                return self._run_claim(lf, claim)
        finally:
            with self._lock:
                self._busy.discard(claim.flow_id)

    def _run_claim(self, lf: Lakefeed, claim: Claim) -> Run | None:
        try:
            flow = lf.flows.flow(claim.flow_id)
        except ResourceNotFound:
            self.claims.release(claim)
            return None
        if flow.state != "enabled":
            self._release(claim, "the flow is disabled")
            return None
        try:
            handle = lf.start_run(
                flow, window=claim.window, cancel=self.cancel, guard=self._guard_of(lf)
            )
        except RunInProgress as exc:
            if claim.takeover:
                # The scheduler whose lease expired is still running the window (a pause,
                # or a host whose runs are not known dead yet): leave the window to it.
                log.info("flow %s window %s is still being run: %s",
                         claim.flow_id, claim.window.end, exc)  # fmt: skip
                return None
            self._release(claim, str(exc))
            return None
        self.claims.attach_run(claim, handle.run.id)
        run = handle.execute()  # records its own failures in the run
        errors = run.metrics["statusSummary"]["errors"]
        if any(e.get("code") == RunCancelled.code for e in errors):
            self._release(claim, "the scheduler is stopping")
            return run
        self.claims.finish(claim, run.id)
        self.stats.runs[run.status] = self.stats.runs.get(run.status, 0) + 1
        log.info("flow %s window %s → run %s %s", flow.id, claim.window.end, run.id, run.status)
        return run

    # -- on-demand runs waiting for their startTime -------------------------------------------

    def due_scheduled_runs(self, limit: int | None = None) -> list[Run]:
        """Runs in state ``scheduled`` (``POST /runs`` with a later ``startTime``) of every org
        and sandbox whose time has come, oldest first, skipping flows this process is
        running."""
        waiting = self.lf.runs.all_scopes_scheduled()
        now = self.clock.now()
        with self._lock:
            busy = set(self._busy)
        due = [
            run
            for run in waiting
            if int(run.params.get("startTime") or 0) <= now and run.flow_id not in busy
        ]
        return due if limit is None else due[:limit]

    def run_scheduled(self, scheduled: Run) -> Run | None:
        """Start a ``scheduled`` run and execute it; None when another process started it or
        the flow is busy (it stays scheduled and is tried again)."""
        scope = Scope(ims_org_id=scheduled.ims_org_id, sandbox_name=scheduled.sandbox_name)
        lf = self.lf.scoped(scope)
        with self._lock:
            if scheduled.flow_id in self._busy:
                return None
            self._busy.add(scheduled.flow_id)
        try:
            try:
                handle = lf.start_scheduled(scheduled, cancel=self.cancel, guard=self._guard_of(lf))
            except RunInProgress:
                return None
            except SCHEDULED_RUN_REFUSED as exc:
                why = [{"code": exc.code, "message": str(exc)}]
                lf.runs.fail_scheduled(scheduled.id, unstarted_metrics("failed", why))
                return None
            run = handle.execute()
            flow = handle.flow
            self.stats.runs[run.status] = self.stats.runs.get(run.status, 0) + 1
            log.info("flow %s on-demand run %s %s", flow.id, run.id, run.status)
            return run
        finally:
            with self._lock:
                self._busy.discard(scheduled.flow_id)

    def _run_scheduled_logged(self, scheduled: Run) -> None:
        try:
            self.run_scheduled(scheduled)
        except BaseException:
            log.exception("on-demand run %s failed", scheduled.id)

    def _guard_of(self, lf: Lakefeed) -> Callable[[Flow], None] | None:
        """The guard for runs in ``lf``'s sandbox."""
        guard = self.guard
        if guard is None:
            return None
        return lambda flow: guard(lf, flow)

    def _release(self, claim: Claim, why: str) -> None:
        log.info("flow %s window %s not run: %s", claim.flow_id, claim.window.end, why)
        self.stats.released += 1
        self.claims.release(claim)

    # -- discovery -----------------------------------------------------------------------------

    def _discover_loop(self, stop: threading.Event) -> None:
        assert self.discover_every is not None
        every = max(min(self.discover_every, self.poll_seconds), 0.05)
        while not stop.is_set():
            try:
                self._discover()
            except Exception:
                log.exception("discovery failed; retrying in %ss", every)
            if self.clock.sleep(every, stop):
                return

    def _discover(self) -> None:
        """List sources between runs so each flow's backlog stays current."""
        if self.discover_every is None:
            return
        now = self.clock.now()
        for flow in self._enabled_flows():
            if now - self._last_discovery.get(flow.id, float("-inf")) < self.discover_every:
                continue
            with self._lock:
                if flow.id in self._busy:
                    continue
            self._last_discovery[flow.id] = now
            lf = self.lf.scoped(Scope(flow.ims_org_id, flow.sandbox_name))
            try:
                lf.discover_backlog(flow.id)
            except LakefeedError as exc:
                log.warning("listing the source of flow %s failed: %s", flow.id, exc)

    # -- the database (every org and sandbox: one daemon serves them all) ----------------------

    def _enabled_flows(self) -> list[Flow]:
        return self.lf.flows.all_scopes_enabled_flows()

    def _flows_with_runs(self, flow_ids: list[str]) -> set[str]:
        """The flows among ``flow_ids`` that have run: a run that was cut short before its
        commit (killed and rolled back, or abandoned on stop) does not count, so a ``once``
        flow whose only run was cut short runs again when its window is given back."""
        return self.lf.runs.all_scopes_flows_that_ran(flow_ids, cut_short=cut_short)


#: Why a ``scheduled`` run may not start when its time comes: it is failed with the error.
SCHEDULED_RUN_REFUSED = (
    ResourceNotFound,
    FlowDisabled,
    RunNotSupported,
    InvalidRunParams,
    InvalidRunWindow,
)


def cut_short(status: str | None, metrics: dict[str, Any]) -> bool:
    """Whether a completed run stopped before its commit because its process did (killed and
    rolled back by recovery, or abandoned on stop): nothing of it landed."""
    errors = (metrics.get("statusSummary") or {}).get("errors") or []
    stopped = {codes.INTERRUPTED, RunCancelled.code}
    return status != "success" and any(e.get("code") in stopped for e in errors)


def _is_once(flow: Flow) -> bool:
    return bool(flow.schedule_params.get("frequency") == "once")


def run_scheduler(
    lf: Lakefeed,
    stop: threading.Event,
    *,
    on_start: Callable[[Scheduler], None] | None = None,
    **options: Any,
) -> Scheduler:
    """Build a scheduler over ``lf`` and run it until ``stop`` is set."""
    scheduler = Scheduler(lf, **options)
    if on_start is not None:
        on_start(scheduler)
    scheduler.run_forever(stop)
    return scheduler
