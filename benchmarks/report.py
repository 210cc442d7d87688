"""The runner's table: sizes, figures (lakefeed, baseline, ratio, target, verdict), the
scaling tables, and the small helpers every section uses to run sides in turn."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Sizes:
    """What each section measures; ``--quick`` divides by about 20."""

    big_rows: int = 10_000_000
    big_files: int = 200
    scaling_rows: tuple[int, ...] = (1_000_000, 3_000_000)
    small_files: int = 2_000
    small_rows: int = 1_000
    per_append: int = 25
    sequential_footers: int = 400  # sequential read_metadata at 25 ms: timed on this many
    listing_objects: int = 20_000
    growth_files: tuple[int, ...] = (2_000, 50_000)
    latency_ms: int = 25
    repeat: int = 1
    listing_repeat: int = 2  # lakefeed ls / s3fs.find processes, alternated (median)
    growth_repeat: int = 1  # no-op runs / listings, alternated (median)
    footers_repeat: int = 3  # footers without latency and bare GETs, alternated (median)


QUICK = Sizes(
    big_rows=500_000,
    big_files=10,
    scaling_rows=(100_000,),
    small_files=100,
    sequential_footers=100,
    listing_objects=1_000,
    growth_files=(200, 600),
    listing_repeat=2,
    growth_repeat=2,
    footers_repeat=1,
)


def overridden(sizes: Sizes, settings: list[str]) -> Sizes:
    """``sizes`` with ``NAME=VALUE`` settings (``--size growth_files=2000,20000``)."""
    values = asdict(sizes)
    for setting in settings:
        name, _, text = setting.partition("=")
        if name not in values:
            raise SystemExit(f"--size {setting}: no size {name!r}; sizes: {', '.join(values)}")
        if isinstance(values[name], tuple):
            values[name] = tuple(int(v) for v in text.split(","))
        else:
            values[name] = int(text)
    return Sizes(**values)


@dataclass
class Figure:
    """One line of the table: lakefeed's value, the baseline's, and the target on their
    ratio (or on lakefeed's value alone when ``on_value``)."""

    figure: str
    unit: str
    lakefeed: float | None
    baseline: float | None = None
    target: float | None = None
    at_most: bool = True
    on_value: bool = False
    baseline_name: str = ""
    note: str = ""
    ratio: float | None = field(init=False, default=None)
    verdict: str = field(init=False, default="—")

    def __post_init__(self) -> None:
        if self.lakefeed is not None and self.baseline:
            self.ratio = self.lakefeed / self.baseline
        judged = self.lakefeed if self.on_value else self.ratio
        if self.target is not None and judged is not None:
            holds = judged <= self.target if self.at_most else judged >= self.target
            self.verdict = "holds" if holds else "falls short"
        elif self.target is not None:
            self.verdict = "not measured"


class Report:
    def __init__(self, quick: bool, sizes: Sizes) -> None:
        self.figures: list[Figure] = []
        self.scaling: dict[str, list[dict[str, Any]]] = {"rows": [], "files": [], "workers": []}
        self.raw: dict[str, Any] = {}
        self.extras: dict[str, str] = {}
        self.quick = quick
        self.sizes = sizes
        self.started = time.time()

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(f"  {line(figure)}", flush=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A report read back from its JSON (``run.py --show``)."""
        report = cls(data["mode"] == "quick", Sizes(**data["sizes"]))
        derived = {"ratio", "verdict"}
        report.figures = [
            Figure(**{k: v for k, v in f.items() if k not in derived}) for f in data["figures"]
        ]
        report.scaling = data["scaling"]
        return report

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": "quick" if self.quick else "full",
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 1),
            "machine": machine(),
            "sizes": asdict(self.sizes),
            "figures": [asdict(f) for f in self.figures],
            "scaling": self.scaling,
            "raw": self.raw,
            "extras": self.extras,
        }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
    }


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MiB":
        return f"{value / MIB:,.0f} MiB"
    if unit == "rows/s":
        return f"{value / 1e6:.2f}M rows/s"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:.2f}"


def mib_text(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MiB"


def target_text(figure: Figure) -> str:
    if figure.target is None:
        return "—"
    sign = "≤" if figure.at_most else "≥"
    if figure.on_value:
        return f"{sign} {number(figure.target, figure.unit)}"
    return f"{sign} {figure.target:g}×"


def cells(figure: Figure) -> list[str]:
    base = number(figure.baseline, figure.unit)
    if figure.baseline_name and figure.baseline is not None:
        base = f"{base} ({figure.baseline_name})"
    ratio = "—" if figure.ratio is None else f"{figure.ratio:.2f}×"
    return [
        figure.figure,
        number(figure.lakefeed, figure.unit),
        base,
        ratio,
        target_text(figure),
        figure.verdict + (f" ({figure.note})" if figure.note else ""),
    ]


def line(figure: Figure) -> str:
    return " | ".join(cells(figure))


HEADER = ["figure", "lakefeed", "baseline", "ratio", "target", "verdict"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# -- helpers -----------------------------------------------------------------------------------


def median_of(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if key in r and r[key] is not None]
    return statistics.median(values) if values else None


def alternating(
    sides: dict[str, Callable[[], dict[str, Any]]], repeat: int
) -> dict[str, list[dict[str, Any]]]:
    """Each side ``repeat`` times, in turn (a, b, c, a, b, c, …)."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, measure in sides.items():
            result = measure()
            results[name].append(result)
            seconds = result.get("seconds")
            shown = f"{seconds:.2f} s" if isinstance(seconds, float) else result.get("error")
            print(f"    {name:28} {shown}", flush=True)
    return results


def fallback_note(results: list[dict[str, Any]], wanted: str) -> str:
    """Says so when lakefeed ran on another executor than the one asked for."""
    names = {r.get("executor") for r in results}
    if names and names <= {"InProcessExecutor"} and wanted != "inprocess":
        return f"ran in-process: LAKEFEED_EXECUTOR={wanted} not supported yet"
    return ""


def checked(results: list[dict[str, Any]], rows: int, what: str) -> str:
    """A note when a run failed or lost rows (never timed silently)."""
    for result in results:
        if "error" in result:
            return f"{what}: {result['error']}"
        if result.get("status", "success") != "success" or result.get("rows") != rows:
            return f"{what}: {result.get('status')} {result.get('rows')} of {rows} rows"
    return ""


def scaling_tables(report: Report) -> str:
    parts = []
    rows = report.scaling["rows"]
    if rows:
        parts.append("time and memory with rows (lakefeed: processes executor)\n")
        parts.append(
            markdown_table(
                [
                    "rows",
                    "files",
                    "input MB",
                    "lakefeed",
                    "rows/s",
                    "peak RSS (all)",
                    "pyarrow",
                    "ratio",
                ],
                [
                    [
                        f"{r['rows']:,}",
                        f"{r['files']}",
                        f"{r['input_mb']:,.0f}",
                        number(r["lakefeed_s"], "s"),
                        number(r["lakefeed_rows_per_s"], "rows/s"),
                        mib_text(r["lakefeed_peak_rss_mib"]),
                        number(r["pyarrow_s"], "s"),
                        "—" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                    ]
                    for r in rows
                ],
            )
        )
    files = report.scaling["files"]
    if files:
        parts.append("\n\ntime and memory with files (tiny files on S3, one flow)\n")
        parts.append(
            markdown_table(
                [
                    "files",
                    "first ingest",
                    "no-op run",
                    "listing",
                    "ratio",
                    "store B/file",
                    "peak RSS",
                ],
                [
                    [
                        f"{r.get('files', 0):,}",
                        number(r.get("ingest_s"), "s"),
                        number(r.get("noop_run_s"), "s"),
                        number(r.get("listing_s"), "s"),
                        "—" if r.get("ratio") is None else f"{r['ratio']:.2f}×",
                        number(r.get("store_bytes_per_file"), "B"),
                        mib_text(r.get("peak_rss_mib")),
                    ]
                    for r in files
                ],
            )
        )
    workers = report.scaling["workers"]
    if workers:
        parts.append("\n\ntime and memory with workers (the big ingest)\n")
        parts.append(
            markdown_table(
                ["executor", "ran on", "time", "rows/s", "peak RSS (all processes)"],
                [
                    [
                        r["executor"],
                        ", ".join(r["ran_on"]),
                        number(r["seconds"], "s"),
                        number(r["rows_per_s"], "rows/s"),
                        mib_text(r["peak_rss_mib"]),
                    ]
                    for r in workers
                ],
            )
        )
    return "".join(parts)
