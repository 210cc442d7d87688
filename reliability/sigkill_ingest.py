"""SIGKILL at random points of ``lakefeed ingest``, then a run to completion.

A series is one fresh LAKEFEED_HOME and one local folder. Each trial adds files to the folder,
starts the real CLI and kills it with SIGKILL after a random delay (seeded): a quarter before
an uninterrupted run of the same size would start its run, the others while it would run
(both measured first). Where the kill landed is read back from the
records (starting, recovering the previous run, listing, converting, committed but not
recorded, or after the run finished). After every kill the dataset must hold no row twice and
no row that is not in the source. At the end of a series one more ``lakefeed ingest`` must
exit 0, leave every source row in the dataset exactly once, no run in progress, and runs,
batches, ledger and table in agreement.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from reliability.support import (
    LAKEFEED,
    Context,
    Outcome,
    child_env,
    cli,
    dataset_values,
    kill9,
    record_problems,
    run_phase,
    tally,
    write_files,
)

NAME = "sigkill-ingest"
DATASET = "reliability"
ROWS_PER_FILE = 200


def ingest_args(source: Path) -> list[str]:
    return ["ingest", str(source), ".", "--dataset", DATASET, "--infer", "--json"]


def run(ctx: Context) -> list[Outcome]:
    rng = ctx.rng(NAME)
    outcome = Outcome(
        "SIGKILL lakefeed ingest",
        "each row exactly once after a re-run; records agree",
        unit="kills",
    )
    files_per_trial = 12 if ctx.quick else 40
    per_series = 5 if ctx.quick else 10
    start, span = calibrate(ctx, files_per_trial)
    outcome.notes.append(f"{files_per_trial} files/kill, run from {start:.1f}s to {span:.1f}s")
    phases: Counter[str] = Counter()
    series = 0
    while outcome.trials < ctx.trials:
        kills = min(per_series, ctx.trials - outcome.trials)
        one_series(ctx, rng, series, kills, files_per_trial, (start, span), outcome, phases)
        outcome.trials += kills
        series += 1
    outcome.faults = sum(n for phase, n in phases.items() if not phase.startswith("exited"))
    outcome.notes.append("at: " + ", ".join(f"{p} {n}" for p, n in phases.most_common()))
    return [outcome]


def calibrate(ctx: Context, files: int) -> tuple[float, float]:
    """When an uninterrupted ingest of one trial's files starts its run, and when it ends
    (seconds after the process starts)."""
    home = ctx.folder("ingest-calibrate")
    for attempt in range(2):  # the second, warm run is what the trials resemble
        write_files(home / "source", files, ROWS_PER_FILE, f"cal{attempt}")
        launched = time.time()
        result = cli(home, *ingest_args(home / "source"), timeout=300)
        if result.code != 0:
            raise RuntimeError(f"the calibration ingest failed ({result.code}): {result.tail()}")
    started = json.loads(result.stdout)["metrics"]["durationSummary"]["startedAtUTC"] / 1000
    return max(started - launched, 0.05), result.seconds * 1.15


def kill_delay(rng: Any, start: float, span: float) -> float:
    """A quarter of the kills land before the run starts (imports, setup, recovery of the
    previous run), the others while it runs."""
    return rng.uniform(0, start) if rng.random() < 0.25 else rng.uniform(start, span)


def one_series(
    ctx: Context,
    rng: Any,
    series: int,
    kills: int,
    files: int,
    timing: tuple[float, float],
    outcome: Outcome,
    phases: Counter[str],
) -> None:
    from lakefeed import Lakefeed

    home = ctx.folder(f"ingest-series-{series}")
    source = home / "source"
    lf = Lakefeed(home=home / "home")
    expected: list[str] = []
    for kill in range(kills):
        expected += write_files(source, files, ROWS_PER_FILE, f"s{series}k{kill}")
        before = {r.id: r.state for r in lf.runs.list()}
        delay = kill_delay(rng, *timing)
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                [LAKEFEED, *ingest_args(source)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=child_env(home / "home"),
            )
            try:
                code: int | None = process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                kill9(process)
                code = None
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace")
        where = f"series {series} kill {kill}"
        if code is not None and code != 0:
            outcome.fail(f"{where}: ingest exited {code} before the kill: {errors[-300:]}")
        try:
            phase = "exited" if code is not None else classify(lf, before)
            phases[phase] += 1
            found = tally(dataset_values(lf, DATASET), expected, partial=True)
        except Exception as exc:
            outcome.fail(f"{where}: reading the state after the kill failed: {exc!r}")
            continue
        ctx.log(f"{where} after {delay:.2f}s: {phase}; {len(expected)} rows written")
        if found.duplicated or found.unexpected:
            outcome.fail(f"{where} ({phase}): {found}")
            outcome.duplicated = (outcome.duplicated or 0) + found.duplicated
    finish(ctx, lf, home, source, expected, outcome, f"series {series}")


def finish(
    ctx: Context,
    lf: Any,
    home: Path,
    source: Path,
    expected: list[str],
    outcome: Outcome,
    where: str,
) -> None:
    started = time.monotonic()
    result = cli(home / "home", *ingest_args(source), timeout=600)
    if result.code != 0:
        outcome.fail(f"{where}: the completing ingest exited {result.code}: {result.tail()}")
    try:
        found = tally(dataset_values(lf, DATASET), expected)
        problems = record_problems(lf, DATASET)
    except Exception as exc:
        outcome.fail(f"{where}: reading the dataset after the completing run failed: {exc!r}")
        return
    ctx.log(f"{where} completed in {time.monotonic() - started:.1f}s: {found}")
    outcome.lost = (outcome.lost or 0) + found.lost
    outcome.duplicated = (outcome.duplicated or 0) + found.duplicated
    if found:
        outcome.fail(f"{where}: after the completing run {found}")
    for problem in problems[:3]:
        outcome.fail(f"{where}: {problem}")


def classify(lf: Any, before: dict[str, str]) -> str:
    """Where a kill landed, read from the records it left."""
    runs = lf.runs.list()
    new = [r for r in runs if r.id not in before]
    if not new:
        recovered = [
            r for r in runs if before.get(r.id) == "inProgress" and r.state != "inProgress"
        ]
        return "recovering" if recovered else "starting"
    return run_phase(lf, max(new, key=lambda r: (r.created_at, r.id)))
