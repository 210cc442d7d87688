"""The progress of ``flows run`` and ``ingest`` on standard error: a bar in a terminal, from the
first moment (listing, schema inference, inspection, conversion) with rows/s, MB/s and an ETA;
elsewhere (cron, CI, a log file) one summary line when the run ends, which survives in logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakefeed.cli.output import console, human_size
from lakefeed.errors import LakefeedError

if TYPE_CHECKING:
    from lakefeed.flows.runner import RunProgress

ProgressCallback = Callable[["RunProgress"], None]


def _clock() -> float:
    return time.monotonic()


@dataclass
class RunTracker:
    """The latest :class:`RunProgress` of a run and when its phases began, to tell rates, an
    ETA and the summary line."""

    clock: Callable[[], float] = _clock
    started: float = field(default=0.0)
    working_since: float | None = None  # when the files began to be read (rates count from)
    last: RunProgress | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()

    def update(self, progress: RunProgress) -> None:
        if self.working_since is None and progress.phase in ("inspecting", "converting"):
            self.working_since = self.clock()
        self.last = progress

    def _working(self) -> float:
        return max(self.clock() - (self.working_since or self.started), 1e-9)

    def description(self) -> str:
        p = self.last
        if p is None:
            return "Starting"
        if p.phase == "listing":
            return f"Listing the source: {p.files_listed} files found"
        if p.phase == "inferring schema":
            return f"Inferring the schema: {p.files_inspected} files read"
        if p.phase == "inspecting" and not p.files_done:
            return f"Inspecting {p.files_inspected}/{p.files_total} files"
        return "Ingesting"

    def rates(self) -> str:
        """``"12,345 rows/s, 3.21 MB/s"`` since the files began to be read; empty before."""
        p = self.last
        if p is None or self.working_since is None:
            return ""
        seconds = self._working()
        return f"{p.rows / seconds:,.0f} rows/s, {p.bytes_done / seconds / 1e6:.2f} MB/s"

    def eta(self) -> str:
        """Time left at the bytes rate so far (``h:mm:ss``), ``-:--:--`` while unknown."""
        p = self.last
        if p is None or not p.bytes_total or not p.bytes_done or self.working_since is None:
            return "-:--:--"
        left = (p.bytes_total - p.bytes_done) / (p.bytes_done / self._working())
        hours, rest = divmod(int(max(left, 0) + 0.5), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"

    def fields(self) -> dict[str, Any]:
        """What the bar shows now (``total`` None: a pulsing bar while the size is unknown)."""
        p = self.last
        total = p.bytes_total if p is not None and p.bytes_total else None
        files = rows = ""
        if p is not None and p.files_total:
            files = f"{p.files_done}/{p.files_total} files"
        if p is not None and (p.rows or p.phase == "converting"):
            rows = f"{p.rows} rows" + (f" ({p.failed_rows} rejected)" if p.failed_rows else "")
        return {
            "description": self.description(),
            "total": total,
            "completed": p.bytes_done if p is not None else 0,
            "files": files,
            "rows": rows,
            "rates": self.rates(),
            "eta": f"ETA {self.eta()}" if total else "",
        }

    def summary(self, failure: str | None = None) -> str | None:
        """One line of what the run did, for logs; None when it reported nothing and did not
        fail. ``failure``: why the run failed (an error code, ``interrupted``…), said first."""
        p = self.last
        elapsed = max(self.clock() - self.started, 0.0)
        if failure is not None:
            head = f"lakefeed: run {'interrupted' if failure == 'interrupted' else 'failed'}"
            head += "" if failure == "interrupted" else f" ({failure})"
            if p is None or not p.files_total:
                listed = f" ({p.files_listed} files listed)" if p is not None else ""
                return f"{head} in {elapsed:.2f} s{listed}"
            return f"{head}: {self._done(p, elapsed)}"
        if p is None:
            return None
        if not p.files_total:
            return f"lakefeed: no new files ({p.files_listed} listed) in {elapsed:.2f} s"
        return f"lakefeed: {self._done(p, elapsed)}"

    def _done(self, p: RunProgress, elapsed: float) -> str:
        seconds = self._working()
        rejected = f" ({p.failed_rows} rejected)" if p.failed_rows else ""
        return (
            f"{p.files_done}/{p.files_total} files, {p.rows} rows{rejected}, "
            f"{human_size(p.bytes_done)} in {elapsed:.2f} s "
            f"({p.rows / seconds:.0f} rows/s, {p.bytes_done / seconds / 1e6:.2f} MB/s)"
        )


@dataclass
class RunReport:
    """What :func:`run_progress` hands the command: ``callback`` for the engine's ``progress``
    (None under ``--json``), and :meth:`ended`, to tell it how the run ended."""

    callback: ProgressCallback | None
    failure: str | None = None

    def ended(self, metrics: Mapping[str, Any]) -> None:
        """The finished run's Flow Service ``metrics``: a failed run's summary line says so,
        with its first error code."""
        from lakefeed.flows.metrics import run_outcome

        if run_outcome(metrics) == "failed":
            errors = (metrics.get("statusSummary") or {}).get("errors") or []
            self.failure = next((str(e["code"]) for e in errors if e.get("code")), "no code")

    def raised(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self.failure = "interrupted"
        elif isinstance(exc, LakefeedError):
            self.failure = exc.code
        elif not isinstance(exc, SystemExit | GeneratorExit):
            self.failure = type(exc).__name__


@contextmanager
def run_progress(as_json: bool) -> Iterator[RunReport]:
    """A progress report for a run. In a terminal: a transient bar on standard error, shown
    at once (before the source is listed). Otherwise: nothing while it works, then one summary
    line on standard error, also when the run failed, raised or was interrupted (it says so).
    With ``as_json``: no callback (programs want the result, not the bar)."""
    if as_json:
        yield RunReport(None)
        return
    err = console(stderr=True)
    tracker = RunTracker()
    if not err.is_terminal:
        report = RunReport(tracker.update)
        try:
            yield report
        except BaseException as exc:
            report.raised(exc)
            raise
        finally:
            line = tracker.summary(report.failure)
            if line:
                err.print(line, markup=False, highlight=False)
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        TextColumn("{task.fields[rows]}"),
        TextColumn("{task.fields[rates]}"),
        TextColumn("{task.fields[eta]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task(**tracker.fields())

    def update(p: RunProgress) -> None:
        tracker.update(p)
        progress.update(task, **tracker.fields())

    with progress:
        yield RunReport(update)
