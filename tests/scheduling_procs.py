"""Scheduler processes for the multi-process tests (spawned: they import this module)."""

from __future__ import annotations

import os
import signal
from multiprocessing.synchronize import Barrier
from typing import Any

from lakefeed import Lakefeed
from lakefeed.schedules.clock import ManualClock
from lakefeed.scheduling.scheduler import Scheduler


def tick_through(home: str, times: list[int], barrier: Barrier, owner: str, out: Any) -> None:
    """Tick at each of ``times`` in step with the other scheduler (same time, same moment)."""
    clock = ManualClock(times[0])
    scheduler = Scheduler(Lakefeed(home=home), clock=clock, owner=owner)
    ran = []
    for moment in times:
        barrier.wait(timeout=120)
        clock.set(moment)
        ran += [(run.flow_id, run.id) for run in scheduler.tick()]
    out.put((owner, ran))


def die_during_run(home: str, now: int, lease_seconds: float) -> None:
    """Claim the due window and get SIGKILLed while writing the run's data."""
    from lakefeed.datasets import writer

    write = writer.SourceWriter.write

    def killing_write(self: Any, data: Any) -> None:
        write(self, data)
        os.kill(os.getpid(), signal.SIGKILL)

    writer.SourceWriter.write = killing_write  # type: ignore[method-assign]
    clock = ManualClock(now)
    Scheduler(Lakefeed(home=home), clock=clock, lease_seconds=lease_seconds).tick()
    raise SystemExit("the run finished without being killed")
