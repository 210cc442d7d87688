"""The reliability suite's runner: runs the scenarios and prints one table.

    make reliability                                  # servers started and stopped for you
    python reliability/run.py --quick                 # a couple of minutes
    python reliability/run.py --seed 7 --trials 200 --only sigkill-ingest,sigkill-serve

Needs the test servers (tests/servers/start.sh) with their env sourced for the scenarios that
use storage emulators. Exits 1 when any case deviates from its expected outcome, 2 on a usage
error. See docs/reliability.md for what each scenario checks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the project root importable so `reliability.*` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Scenario name → module (each has ``run(ctx) -> list[Outcome]``), in running order.
SCENARIOS = {
    "sigkill-ingest": "reliability.sigkill_ingest",
    "sigkill-serve": "reliability.sigkill_serve",
    "fault-proxy": "reliability.faults",
    "rewrite-race": "reliability.rewrite_race",
    "ssrf": "reliability.ssrf",
    "bad-parquet": "reliability.bad_parquet",
    "bad-api": "reliability.bad_api",
}
COLUMNS = (
    "scenario",
    "trials/inputs",
    "faults injected",
    "expected outcome",
    "ok",
    "rows lost",
    "rows duplicated",
    "notes",
)
NOTES_WIDTH = 90


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="reliability/run.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--seed", type=int, help="Seed of every random choice (default: new).")
    parser.add_argument(
        "--trials", type=int, help="SIGKILL trials of lakefeed ingest (default 100; quick 12)."
    )
    parser.add_argument(
        "--serve-trials",
        type=int,
        help="SIGKILL trials of lakefeed serve --scheduler (default 100; quick 6).",
    )
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated scenarios to run: " + ", ".join(SCENARIOS) + " (default: all).",
    )
    parser.add_argument("--quick", action="store_true", help="Small sizes: a couple of minutes.")
    parser.add_argument(
        "--fault-bound",
        type=float,
        default=120.0,
        help="Seconds within which a run behind a proxy failing every request must fail "
        "(default 120).",
    )
    parser.add_argument(
        "--executor",
        metavar="SPEC",
        help="Convert on this executor in every scenario and lakefeed process (as "
        "LAKEFEED_EXECUTOR: inprocess, processes[:N], dask://HOST:PORT; default inprocess).",
    )
    parser.add_argument("--json", metavar="FILE", help="Also write the results as JSON.")
    parser.add_argument("--keep", action="store_true", help="Keep the working folder.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log every trial.")
    args = parser.parse_args(argv)
    unknown = [n for n in filter(None, args.only.split(",")) if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    from reliability.support import Context, Outcome, scrub_environment

    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % 1_000_000
    scrub_environment(args.executor)
    workdir = Path(tempfile.mkdtemp(prefix="lakefeed-reliability-"))
    ctx = Context(
        seed=seed,
        quick=args.quick,
        trials=args.trials if args.trials is not None else (12 if args.quick else 100),
        serve_trials=args.serve_trials
        if args.serve_trials is not None
        else (6 if args.quick else 100),
        workdir=workdir,
        fault_bound=args.fault_bound,
        verbose=args.verbose,
    )
    chosen = [n for n in SCENARIOS if not args.only or n in args.only.split(",")]
    print(f"lakefeed reliability suite: seed {seed}, working in {workdir}", file=sys.stderr)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    for name in chosen:
        print(f"[{name}] running", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            results = importlib.import_module(SCENARIOS[name]).run(ctx)
        except Exception as exc:
            traceback.print_exc()
            crashed = Outcome(name, "-", lost=None, duplicated=None)
            crashed.fail(f"the scenario stopped: {type(exc).__name__}: {exc}")
            results = [crashed]
        elapsed = time.monotonic() - began
        for result in results:
            result.seconds = result.seconds or elapsed
        outcomes += results
        verdict = "ok" if all(r.ok for r in results) else "DEVIATES"
        print(f"[{name}] {verdict} in {elapsed:.0f}s", file=sys.stderr, flush=True)
    print_table(outcomes)
    print_details(outcomes)
    total = time.monotonic() - started
    print(f"\nseed {seed}; {total:.0f}s; rerun: python reliability/run.py --seed {seed}")
    if args.json:
        report: dict[str, Any] = {
            "seed": seed,
            "seconds": round(total, 1),
            "quick": args.quick,
            "outcomes": [o.to_dict() for o in outcomes],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(o.ok for o in outcomes) else 1


def cells(outcome: Any) -> list[str]:
    def number(value: int | None) -> str:
        return "?" if value is None else str(value)

    notes = "; ".join(outcome.notes)
    if len(notes) > NOTES_WIDTH:
        notes = notes[: NOTES_WIDTH - 1] + "…"
    return [
        outcome.scenario,
        f"{outcome.trials} {outcome.unit}",
        "-" if outcome.faults is None else str(outcome.faults),
        outcome.expected,
        "yes" if outcome.ok else "NO",
        number(outcome.lost),
        number(outcome.duplicated),
        notes,
    ]


def print_table(outcomes: list[Any]) -> None:
    rows = [list(COLUMNS), *(cells(o) for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    line = "|".join("-" * (w + 2) for w in widths)
    print()
    for index, row in enumerate(rows):
        print("|".join(f" {cell:<{w}} " for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(line)


def print_details(outcomes: list[Any]) -> None:
    for outcome in outcomes:
        if outcome.ok and len("; ".join(outcome.notes)) <= NOTES_WIDTH:
            continue
        print(f"\n{outcome.scenario}:")
        for note in outcome.notes:
            print(f"  note: {note}")
        for failure in outcome.failures[:12]:
            print(f"  DEVIATION: {failure}")
        if len(outcome.failures) > 12:
            print(f"  … and {len(outcome.failures) - 12} more deviations")


if __name__ == "__main__":
    sys.exit(main())
