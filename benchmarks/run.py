"""The benchmark runner (``make bench``): lakefeed and its baselines side by side, one table.

    python benchmarks/run.py                       # the full run (≤ 25 min on 2 cores)
    python benchmarks/run.py --quick               # everything ~20x smaller (≤ 3 min)
    python benchmarks/run.py --only ingest,small   # chosen sections
    python benchmarks/run.py --json out.json       # where the results go (default below)

Sections (``--only``): ingest (target 1), dask (2), small (3), s3 (4), footers (5),
listing (6), growth (7, and how time grows with the file count), rows (how time and memory grow
with the row count); not in the default run: text (CSV/JSON Lines, ``text_formats.py``),
scheduler (``scheduler_tick.py``), api (``api_latency.py``). The S3 sections need the test
servers' environment (``/tmp/lakefeed-test-servers/run/servers.env``).

Data is generated once and cached under ``--data`` (default ``.bench-data/``). Every
measurement runs in a fresh process (``measure.spawn``), lakefeed and its baseline alternating.
The method, sizes and latest figures are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the project root importable so `benchmarks.*` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import local_sections, remote_sections
from benchmarks.measure import child
from benchmarks.report import (
    HEADER,
    QUICK,
    Report,
    Sizes,
    cells,
    machine,
    markdown_table,
    overridden,
    scaling_tables,
)

HERE = Path(__file__).resolve().parent
EXTRA_SCRIPTS = {
    "text": ("text_formats.py", ["--rows", "2000000"], ["--rows", "100000"]),
    "scheduler": ("scheduler_tick.py", [], ["--flows", "100", "--runs", "10", "--repeat", "3"]),
    "api": ("api_latency.py", [], ["--clients", "10", "--requests", "10"]),
}


def section_extra(name: str) -> Callable[[Report, Path], None]:
    """The older single-purpose benchmarks, run as they are; their output is kept as text."""

    def run(report: Report, data: Path) -> None:
        script, full, quick = EXTRA_SCRIPTS[name]
        args = [sys.executable, str(HERE / script), *(quick if report.quick else full)]
        if name == "text":
            args += ["--data", str(data / "text")]
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(done.stdout, flush=True)
        report.extras[name] = done.stdout
        if done.returncode:
            report.extras[name] += f"\n(exit status {done.returncode})"

    return run


SECTIONS: dict[str, Callable[[Report, Path], None]] = {
    "ingest": local_sections.section_ingest,
    "dask": local_sections.section_dask,
    "small": local_sections.section_small,
    "s3": remote_sections.section_s3,
    "footers": remote_sections.section_footers,
    "listing": remote_sections.section_listing,
    "growth": remote_sections.section_growth,
    "rows": local_sections.section_rows,
    **{name: section_extra(name) for name in EXTRA_SCRIPTS},
}
DEFAULT = ["ingest", "dask", "small", "s3", "footers", "listing", "growth", "rows"]
NEEDS_S3 = {"s3", "footers", "listing", "growth"}


# -- the report --------------------------------------------------------------------------------


def show(report: Report) -> None:
    """The figures' table and the scaling tables, in Markdown (docs/performance.md)."""
    if report.figures:
        print(markdown_table(HEADER, [cells(f) for f in report.figures]))
    tables = scaling_tables(report)
    if tables:
        print(f"\n{tables}")


def compiled() -> None:
    """Byte-compile lakefeed's sources, as installing a package does: a checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile them again in every measured process
    (spawned workers included), which no installation does."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for folder in ("core", "plugins"):
        compileall.compile_dir(root / folder, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="everything ~20x smaller")
    parser.add_argument("--only", help=f"comma list of sections: {', '.join(SECTIONS)}")
    parser.add_argument("--repeat", type=int, help="runs of each side (median); default 1")
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one size, e.g. growth_files=2000,20000 or big_rows=1000000 (see Sizes)",
    )
    parser.add_argument("--data", type=Path, default=Path(".bench-data"))
    parser.add_argument("--json", type=Path, help="default: DATA/results.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument(
        "--show", type=Path, metavar="JSON", help="print the tables of an earlier run's results"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, json.loads(args.params))
        return 0
    if args.show:
        show(Report.from_dict(json.loads(args.show.read_text())))
        return 0

    sizes = QUICK if args.quick else Sizes()
    sizes = overridden(sizes, [*args.size, *([f"repeat={args.repeat}"] if args.repeat else [])])
    chosen = [n.strip() for n in args.only.split(",")] if args.only else DEFAULT
    unknown = [n for n in chosen if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    if NEEDS_S3 & set(chosen) and not remote_sections.s3_endpoint():
        parser.error(
            "LAKEFEED_TEST_S3_ENDPOINT is not set: start the test servers and source "
            "/tmp/lakefeed-test-servers/run/servers.env, or leave out "
            + ", ".join(sorted(NEEDS_S3 & set(chosen)))
        )
    args.data.mkdir(parents=True, exist_ok=True)
    compiled()
    report = Report(args.quick, sizes)
    print(f"{'quick' if args.quick else 'full'} run: {', '.join(chosen)}; {machine()}")
    for name in chosen:
        print(f"\n[{name}]", flush=True)
        started = time.perf_counter()
        try:
            SECTIONS[name](report, args.data.resolve())
        except Exception:  # one broken section must not lose the others' figures
            report.extras[f"{name} error"] = traceback.format_exc()
            print(report.extras[f"{name} error"], flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)

    print(f"\n{'quick' if args.quick else 'full'} run, {time.time() - report.started:.0f} s\n")
    show(report)
    path = args.json or args.data / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=1, default=str))
    print(f"\nresults: {path}")
    failed = [name for name in chosen if f"{name} error" in report.extras]
    if failed:
        print(f"sections that stopped with an error: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
