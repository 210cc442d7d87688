"""What a ``lakefeed scheduler`` process costs per poll when many flows exist, on the real
engine (SQLite control plane in a temp home), side by side with a baseline measured in the
same run.

    python benchmarks/scheduler_tick.py                       # 1000 flows
    python benchmarks/scheduler_tick.py --flows 200 --repeat 9

Setup (not timed): one local-files connection over an empty folder, a Profile schema, one
dataset, then ``--flows`` flows, each with its own source and target connection and an hourly
schedule starting a few seconds after the flow is made. The scheduler runs on a
``ManualClock``, so nothing waits for real time.

- baseline: ``SELECT * FROM flows``, every row fetched (the floor of any poll: the scheduler
  has to read the flows to know what is due).
- idle poll: ``scheduler.due_claims()`` before any ``startTime``: nothing is due, nothing
  claimed. What every poll (every 5 s) pays.
- claim all: ``due_claims()`` just after the starts, claiming one window per flow; the
  ``schedule_windows`` rows are deleted between repeats so each repeat claims them all again.
- empty run: ``scheduler.run_claim(claim)`` of ``--runs`` of those claims, one after another:
  a scheduled run that lists an empty folder and finds nothing. The first run (imports, the
  Iceberg catalog) is reported apart.
- steady idle poll: ``due_claims()`` half-way to the next boundary, every window done (what
  an idle scheduler pays between runs), then again after ``--history`` older done windows and
  their runs are added per flow (``schedule_windows`` and ``runs`` keep every window and run
  of a flow; nothing prunes them).

Where the scheduler has ``due_scheduled_runs`` (on-demand runs waiting for their startTime,
looked for on every poll after ``due_claims``), it is timed too.

Times are medians of ``--repeat`` (each after one unmeasured warm-up); the idle polls are also
split into the queries ``due_claims`` makes, timed inside the same calls. Peak RSS is this
process's (``ru_maxrss``). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HOUR = 3600


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls after one warm-up."""
    call()
    return statistics.median(timed(call)[0] for _ in range(repeat))


def setup(home: Path, landing: Path, flows: int) -> tuple[Any, list[int]]:
    """A fresh installation with ``flows`` hourly flows over the empty ``landing``; returns the
    engine and each flow's startTime (ascending: made one after another)."""
    from lakefeed import Lakefeed
    from lakefeed.testing.profiles import create_profile_schema

    lf = Lakefeed(home=home)
    landing.mkdir()
    connection = lf.create_connection(
        "bench-landing", "local-files", None, {"rootPath": str(landing)}
    )
    dataset = lf.datasets.create("bench-profiles", create_profile_schema(lf.schemas)["$id"])
    starts = []
    for n in range(flows):
        source = lf.flows.create_source_connection(
            name=f"source-{n}",
            base_connection_id=connection.id,
            path=".",
            recursive=True,
            data_format="parquet_xdm",
        )
        target = lf.flows.create_target_connection(name=f"target-{n}", dataset_id=dataset.id)
        # Each flow's own "a few seconds from now": validate_schedule refuses a startTime more
        # than a minute in the past, and making 1000 flows can take longer than that.
        start = int(time.time()) + 5
        lf.flows.create_flow(
            name=f"flow-{n}",
            source_connection_ids=[source.id],
            target_connection_ids=[target.id],
            schedule={"startTime": start, "frequency": "hour", "interval": 1},
        )
        starts.append(start)
    return lf, starts


def idle_poll(scheduler: Any, repeat: int) -> tuple[float, dict[str, float]]:
    """Median ms of ``due_claims()`` when it claims nothing, and the medians of its parts: the
    three queries it makes, timed inside the same calls, and the rest (Python over the flows)."""
    queries = {
        "last_ends": (scheduler.claims, "all_scopes_last_ends"),
        "open_windows": (scheduler.claims, "all_scopes_open_windows"),
        "enabled_flows": (scheduler, "_enabled_flows"),
    }
    parts: dict[str, list[float]] = {name: [] for name in queries}

    def timing(name: str, method: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            ms, result = timed(method)
            parts[name].append(ms)
            return result

        return call

    for name, (owner, attribute) in queries.items():  # shadows the method until deleted
        setattr(owner, attribute, timing(name, getattr(owner, attribute)))
    totals, rests = [], []
    try:
        for attempt in range(repeat + 1):
            ms, claims = timed(scheduler.due_claims)
            if claims:
                raise SystemExit(f"an idle poll claimed {len(claims)} windows")
            if attempt:
                totals.append(ms)
                rests.append(ms - sum(samples[-1] for samples in parts.values()))
            else:
                for samples in parts.values():
                    samples.clear()  # the warm-up
    finally:
        for owner, attribute in queries.values():
            delattr(owner, attribute)
    split = {name: statistics.median(samples) for name, samples in parts.items()}
    split["rest"] = statistics.median(rests)
    # A poll of run_forever also looks for on-demand runs waiting for their startTime, where
    # this lakefeed has them (a separate call, not part of due_claims).
    due_scheduled_runs = getattr(scheduler, "due_scheduled_runs", None)
    if due_scheduled_runs is not None:
        if due_scheduled_runs():
            raise SystemExit("an idle poll found scheduled runs")
        split["scheduled_runs"] = median_ms(due_scheduled_runs, repeat)
    return statistics.median(totals), split


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50, help="empty runs timed (≤ --flows)")
    parser.add_argument(
        "--history", type=int, default=168, help="done windows added per flow (168: a week)"
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="parent of the temp home (default: $TMPDIR)"
    )
    args = parser.parse_args()
    runs = max(1, min(args.runs, args.flows))
    repeat = max(1, args.repeat)
    # LAKEFEED_DATABASE_URL and friends would point the engine away from the temp home.
    for key in [k for k in os.environ if k.startswith("LAKEFEED_")]:
        del os.environ[key]

    from lakefeed.catalog import tables
    from lakefeed.catalog.windows import KEEP_WINDOWS
    from lakefeed.schedules.clock import ManualClock
    from lakefeed.scheduling.scheduler import Scheduler

    if args.home is not None:
        args.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lakefeed-bench-sched-", dir=args.home) as tmp:
        home = Path(tmp) / "home"
        ms, (lf, starts) = timed(lambda: setup(home, Path(tmp) / "landing", args.flows))
        print(
            f"setup: {args.flows} flows (+ {2 * args.flows} source/target connections) in "
            f"{ms / 1000:.1f} s; home {home}"
        )
        windows = tables.schedule_windows

        def select_flows() -> int:
            with lf.db.connect() as db:
                return len(db.execute(sa.select(tables.flows)).fetchall())

        def delete_windows() -> None:
            with lf.db.begin() as db:
                db.execute(windows.delete())

        assert select_flows() == args.flows
        baseline = median_ms(select_flows, repeat)

        # (a) idle: before every startTime, no window claimed yet.
        clock = ManualClock(starts[0] - 1)
        scheduler = Scheduler(lf, clock=clock)
        idle, idle_split = idle_poll(scheduler, repeat)

        # (b) claim all: after every startTime, before the second boundary.
        clock.set(starts[-1] + 1)
        claim_ms: list[float] = []
        claims: list[Any] = []
        for attempt in range(repeat + 1):
            delete_windows()
            ms, claims = timed(scheduler.due_claims)
            if len(claims) != args.flows:
                raise SystemExit(f"claimed {len(claims)} windows of {args.flows} flows")
            if attempt:
                claim_ms.append(ms)
        claim_all = statistics.median(claim_ms)

        # (c) empty runs of the claimed windows.
        run_ms: list[float] = []
        statuses: dict[str, int] = {}
        for claim in claims[:runs]:
            ms, run = timed(functools.partial(scheduler.run_claim, claim))
            run_ms.append(ms)
            status = "released" if run is None else run.status
            statuses[status] = statuses.get(status, 0) + 1
        first_run, later = run_ms[0], run_ms[1:] or run_ms
        empty_run = statistics.median(later)

        # (d) steady idle: every window done, half-way to the next boundary.
        with lf.db.begin() as db:
            db.execute(windows.update().values(state="done", finished_at=0))
        clock.set(starts[-1] + HOUR // 2)
        steady, steady_split = idle_poll(scheduler, repeat)

        # ... and with --history older runs per flow (a week of hourly runs), and as many of
        # their windows as finish() keeps.
        rss_before_history = peak_rss_mib()
        with lf.db.connect() as db:
            rows = db.execute(sa.select(windows)).mappings().all()
            run_row = dict(db.execute(sa.select(tables.runs).limit(1)).mappings().one())
        for chunk in range(0, len(rows), 100):  # bounded memory: 100 flows' history at a time
            old_windows, old_runs = [], []
            for row in rows[chunk : chunk + 100]:
                end = int(row["window_end"])
                for k in range(1, args.history + 1):
                    run_id = str(uuid.uuid4())
                    if k >= KEEP_WINDOWS:  # finish() keeps only the latest windows per flow
                        old_runs.append(
                            {**run_row, "id": run_id, "flow_id": row["flow_id"],
                             "created_at": end - k}
                        )  # fmt: skip
                        continue
                    old_windows.append(
                        {
                            **row,
                            "window_end": end - k * HOUR,
                            "previous_end": end - (k + 1) * HOUR,
                            "window_start": end - (k + 1) * HOUR,
                            "run_id": run_id,
                        }
                    )
                    old_runs.append(
                        {**run_row, "id": run_id, "flow_id": row["flow_id"], "created_at": end}
                    )
            if old_windows:
                with lf.db.begin() as db:
                    db.execute(windows.insert(), old_windows)
                    db.execute(tables.runs.insert(), old_runs)
        with lf.db.connect() as db:
            total_windows = db.execute(sa.select(sa.func.count()).select_from(windows)).scalar()
            total_runs = db.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar()
        aged, aged_split = idle_poll(scheduler, repeat)

    n = args.flows
    print(f"\nmedians of {repeat} (after a warm-up); ms unless said")
    print(f"{'flows':>6} {'baseline':>9} {'idle poll':>10} {'idle/base':>10} {'claim all':>10} "
          f"{'µs/flow':>8} {'claim/base':>11} {'empty run':>10}")  # fmt: skip
    print(
        f"{n:6d} {baseline:9.2f} {idle:10.2f} {idle / baseline:9.2f}x {claim_all:10.1f} "
        f"{claim_all * 1000 / n:8.0f} {claim_all / baseline:10.1f}x {empty_run:10.2f}"
    )
    print(
        f"\nempty runs: {len(run_ms)} ({', '.join(f'{k} {v}' for k, v in statuses.items())}); "
        f"first {first_run:.0f} ms (warm-up, not in the median), then median {empty_run:.1f}, "
        f"min {min(later):.1f}, max {max(later):.1f}; a tick() running every flow's window, "
        f"one after another, would take ~{(claim_all / n + empty_run) * n / 1000:.1f} s"
    )
    print(
        f"\n{'idle poll: due_claims()':34} {'total':>8} {'/base':>7} {'last_ends':>10} "
        f"{'open_windows':>13} {'enabled_flows':>14} {'rest':>7} {'+due_scheduled_runs':>20}"
    )
    for name, total, split in (
        ("before start (no windows)", idle, idle_split),
        (f"between runs ({n} windows)", steady, steady_split),
        (f"+{args.history} runs/flow", aged, aged_split),
    ):
        scheduled = split.get("scheduled_runs")
        print(
            f"{name:34} {total:8.2f} {total / baseline:6.2f}x {split['last_ends']:10.2f} "
            f"{split['open_windows']:13.2f} {split['enabled_flows']:14.2f} {split['rest']:7.2f} "
            f"{'n/a' if scheduled is None else f'{scheduled:.2f}':>20}"
        )
    print(f"(after the history: {total_windows:,} schedule_windows rows, {total_runs:,} runs)")
    print(f"baseline SELECT * FROM flows: {baseline:.2f} ms ({baseline * 1000 / n:.0f} µs/flow)")
    print(
        f"\npeak RSS {peak_rss_mib():,.0f} MiB ({rss_before_history:,.0f} MiB before the "
        f"history rows were made)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
