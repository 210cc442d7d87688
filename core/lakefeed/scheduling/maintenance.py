"""Scheduled table maintenance in the scheduler daemon: every dataset whose ``maintenance``
settings are set gets a pass (compaction, snapshot expiry, orphan removal, as they say) at each
boundary of its ``every``, once across all the schedulers sharing the database.

A pass is claimed as a flow's window is (:mod:`lakefeed.catalog.windows`), under the key
``maint:<dataset id>``, which no flow id can be: the claim makes it run once, its lease is
renewed while it runs, and a scheduler that dies mid-pass leaves it to be taken over (nothing
of an unfinished pass is committed: each step commits once, at its end). A scheduler that was
down runs one catch-up pass, not one per boundary missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.records import Scope
from lakefeed.errors import InternalError, LakefeedError
from lakefeed.schedules.windows import due_window

if TYPE_CHECKING:
    from lakefeed.catalog.datasets import Dataset
    from lakefeed.catalog.windows import Claim, WindowClaims
    from lakefeed.engine import Lakefeed
    from lakefeed.schedules.clock import Clock

log = logging.getLogger("lakefeed.scheduler.maintenance")

#: Claim keys share the column of flow ids (36 characters); a flow id is a UUID.
KEY_PREFIX = "maint:"


class MaintenancePasses:
    """The maintenance passes one scheduler runs (``renewing(claim)`` keeps a claim's lease
    while its body runs, as the scheduler does for runs)."""

    def __init__(
        self,
        lf: Lakefeed,
        claims: WindowClaims,
        clock: Clock,
        renewing: Callable[[Claim], AbstractContextManager[None]],
    ) -> None:
        self.lf = lf
        self.claims = claims
        self.clock = clock
        self.renewing = renewing
        self.passes = 0  # run by this scheduler, for its stats

    def run_due(self, stop: threading.Event | None = None) -> dict[str, dict[str, Any]]:
        """Run every pass due now that no other scheduler holds; returns their reports by
        dataset id. Stops between passes once ``stop`` is set."""
        reports: dict[str, dict[str, Any]] = {}
        datasets = self.lf.maintained_datasets()
        if not datasets:
            return reports
        held = self.claims.all_scopes_open_windows()
        last_ends = self.claims.all_scopes_last_ends()
        for dataset in datasets:
            if stop is not None and stop.is_set():
                break
            key = KEY_PREFIX + dataset.id
            if key in held:  # taken over once its scheduler's lease expired
                claim = self.claims.take_over(held[key])
            else:
                claim = self._claim(dataset, last_ends.get(key))
            if claim is None:
                continue
            reports[dataset.id] = self._run(dataset, claim)
        return reports

    def run_forever(self, stop: threading.Event, every: float) -> None:
        """:meth:`run_due` every ``every`` seconds until ``stop`` is set (the daemon's thread:
        a long compaction never holds up the runs of flows)."""
        while not stop.is_set():
            try:
                self.run_due(stop)
            except Exception:
                log.exception("scheduled maintenance failed; retrying in %ss", every)
            if self.clock.sleep(every, stop):
                return

    def _claim(self, dataset: Dataset, last_end: int | None) -> Claim | None:
        """The dataset's due pass, claimed; None when none is due or another has it."""
        from lakefeed.datasets.maintenance_policy import MaintenancePolicy

        try:
            policy = MaintenancePolicy.from_json(dataset.maintenance or {})
        except LakefeedError as exc:
            log.warning("dataset %s: maintenance settings unusable: %s", dataset.id, exc)
            return None
        window = due_window(policy.schedule(), last_end, self.clock.now())
        if window is None:
            return None
        key = KEY_PREFIX + dataset.id
        return self.claims.claim(key, dataset.ims_org_id, dataset.sandbox_name, window)

    def _run(self, dataset: Dataset, claim: Claim) -> dict[str, Any]:
        lf = self.lf.scoped(Scope(ims_org_id=dataset.ims_org_id, sandbox_name=dataset.sandbox_name))
        try:
            with self.renewing(claim):
                report = lf.run_maintenance(dataset.id)
        except LakefeedError as exc:  # the dataset went, or its settings did
            report = {"error": exc.to_dict()}
        except Exception as exc:  # a broken dataset: the period is done, the others still run
            log.exception("dataset %s (%s): maintenance pass failed", dataset.id, dataset.name)
            failure = InternalError(
                f"The maintenance pass failed unexpectedly ({type(exc).__name__}).",
                fix="See the scheduler's log (lakefeed.scheduler.maintenance) for the traceback.",
            )
            report = {"error": failure.to_dict()}
        except BaseException:  # interrupted: due again
            self.claims.release(claim)
            raise
        self.claims.finish(claim, "")
        self.passes += 1
        failed = [step for step, result in report.items() if "error" in result]
        (log.warning if failed else log.info)("dataset %s maintenance pass: %s", dataset.id, report)
        return report
