"""``lakefeed scheduler``: the scheduler daemon, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import log_printably
from lakefeed.cli.ranges import count, seconds
from lakefeed.scheduling import LEASE_SECONDS, POLL_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from lakefeed.catalog.flows import Flow
    from lakefeed.engine import Lakefeed
    from lakefeed.scheduling.scheduler import Scheduler


def scheduler_options(command: Any) -> Any:
    """The options `lakefeed scheduler` and `lakefeed serve --scheduler` share."""
    options = [
        click.option(
            "--poll",
            "poll_seconds",
            type=seconds(0.05),
            default=POLL_SECONDS,
            show_default=True,
            help="Seconds between two looks for due windows.",
        ),
        click.option(
            "--lease",
            "lease_seconds",
            type=seconds(1),
            default=LEASE_SECONDS,
            show_default=True,
            help="Seconds a window is held without renewal before another scheduler may "
            "take it over.",
        ),
        click.option(
            "--max-runs",
            "max_concurrent_runs",
            type=count(1),
            default=2,
            show_default=True,
            help="Windows run at the same time by this process.",
        ),
        click.option(
            "--discover-every",
            type=seconds(),
            default=None,
            help="Also list each enabled flow's source every N seconds between runs, to keep "
            "its backlog current (default: only when it runs).",
        ),
        click.option(
            "--grace",
            "grace_seconds",
            type=seconds(),
            default=30.0,
            show_default=True,
            help="On SIGTERM, seconds running runs get to finish before they are abandoned "
            "(before their commit; their windows run again).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_scheduler(
    lf: Lakefeed,
    poll_seconds: float,
    lease_seconds: float,
    max_concurrent_runs: int,
    discover_every: float | None,
    guard: Callable[[Lakefeed, Flow], None] | None = None,
) -> Scheduler:
    """A scheduler from the shared options, logging its windows and runs on standard error."""
    from lakefeed.scheduling.scheduler import Scheduler

    log_printably(logging.INFO)
    return Scheduler(
        lf,
        poll_seconds=poll_seconds,
        lease_seconds=lease_seconds,
        max_concurrent_runs=max_concurrent_runs,
        discover_every=discover_every,
        guard=guard,
    )


@click.command("scheduler")
@scheduler_options
@click.option(
    "--once",
    is_flag=True,
    help="Run what is due now, one window after another, then exit (for cron); exit 1 when a "
    "run failed.",
)
def scheduler_command(
    poll_seconds: float,
    lease_seconds: float,
    max_concurrent_runs: int,
    discover_every: float | None,
    grace_seconds: float,
    once: bool,
) -> None:
    """Run every enabled flow's schedule until SIGTERM or Ctrl-C. Several schedulers may share
    one database: each window runs once, and a window whose scheduler died is taken over."""
    lf = engine()
    scheduler = build_scheduler(
        lf, poll_seconds, lease_seconds, max_concurrent_runs, discover_every
    )
    if once:
        _run_once(scheduler)
        return
    stop = threading.Event()

    def stopping(signum: int, _frame: Any) -> None:
        click.echo(f"lakefeed scheduler: {signal.Signals(signum).name}, stopping", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    click.echo(f"lakefeed scheduler {scheduler.owner} on {lf.home}", err=True)
    scheduler.run_forever(stop, grace_seconds=grace_seconds)
    stats = scheduler.stats
    click.echo(
        f"lakefeed scheduler stopped: {stats.claimed} windows claimed, {stats.taken_over} "
        f"taken over, runs {dict(stats.runs) or 'none'}",
        err=True,
    )


def _run_once(scheduler: Scheduler) -> None:
    def stopping(signum: int, _frame: Any) -> None:
        click.echo(f"lakefeed scheduler: {signal.Signals(signum).name}, abandoning", err=True)
        scheduler.cancel.set()  # the run stops before its commit; its window is due again

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.recover_interrupted()
        runs = scheduler.tick()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = [run for run in runs if run.status != "success"]
    click.echo(
        f"lakefeed scheduler: {len(runs)} runs, {len(failed)} failed"
        + "".join(f"\n  failed: run {run.id} of flow {run.flow_id}" for run in failed),
        err=True,
    )
    if failed:
        raise SystemExit(1)
