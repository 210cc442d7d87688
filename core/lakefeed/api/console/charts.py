"""Inline SVG charts of a flow's runs, drawn on the server: records per run and run durations.

They need no chart script and carry no ``style`` (the console's Content-Security-Policy forbids
inline styles): only SVG presentation attributes, and ``lf-chart-*`` classes the console's
stylesheet may refine. Each chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` that
summarises it; every run is a group with a tooltip, a link to its page when it has one. Colours
are Okabe–Ito (colour-blind safe), with patterns where two outcomes would look alike in grey.
Times are UTC: the server does not know the reader's time zone.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from lakefeed.flows.metrics import run_outcome


@dataclass(frozen=True)
class RunPoint:
    """One run, as the charts draw it."""

    run_id: str
    started_ms: int | None  # epoch ms
    duration_s: float | None  # None while in progress (or never started)
    records_in: int
    records_out: int
    records_failed: int
    outcome: str  # success | partial | failed | inProgress | anything else
    href: str | None = None  # the run's page


# -- numbers and durations --------------------------------------------------------------------


def short_number(n: float) -> str:
    """``950``, ``1.2K``, ``34K``, ``3.4M``, ``1.1B``: a count in at most four characters."""
    if n < 0:
        return "-" + short_number(-n)
    if round(n, 1) < 1000:
        return f"{round(n, 1):g}"
    for power, unit in enumerate("KMBT", start=1):
        value = n / 1000**power
        text = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"
        if float(text) < 1000 or unit == "T":
            return text.removesuffix(".0") + unit
    raise AssertionError("unreachable")  # pragma: no cover


def short_duration(seconds: float) -> str:
    """``850 ms``, ``1.5 s``, ``12 s``, ``3 min 20 s``, ``1 h 5 min``, ``2 d 3 h``."""
    if not math.isfinite(seconds):
        return "—"
    if seconds < 0:
        return "-" + short_duration(-seconds)
    if seconds == 0:
        return "0 s"
    if (ms := round(seconds * 1000)) < 1000:
        return f"{ms} ms"
    if (tenths := round(seconds * 10)) < 100:
        return f"{tenths / 10:g} s"
    if (whole := round(seconds)) < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    if (minutes := round(seconds / 60)) < 24 * 60:
        hours, mins = divmod(minutes, 60)
        return f"{hours} h" + (f" {mins} min" if mins else "")
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


# -- from Flow Service runs -------------------------------------------------------------------


def points_from_runs(
    runs: Iterable[Mapping[str, Any]],
    href: Callable[[str], str] | None = None,
    *,
    now_ms: int | None = None,
) -> list[RunPoint]:
    """Points of Flow Service runs (``Run.to_dict()`` shape), oldest first.

    Runs still ``scheduled`` have not run and are left out. ``href(run_id)`` gives a run's
    page (it receives the raw id: quote it). A run in progress has no duration, unless
    ``now_ms`` is given: then it is the time it has run so far."""
    points = []
    for run in runs:
        if run.get("state") == "scheduled":
            continue
        metrics = run.get("metrics") or {}
        records = metrics.get("recordSummary") or {}
        times = metrics.get("durationSummary") or {}
        started, completed = _ms(times.get("startedAtUTC")), _ms(times.get("completedAtUTC"))
        outcome = run_outcome(metrics) if metrics.get("statusSummary") else "unknown"
        end = completed if completed is not None else now_ms if outcome == "inProgress" else None
        run_id = str(run.get("id", ""))
        point = RunPoint(
            run_id=run_id,
            started_ms=started,
            duration_s=max(end - started, 0) / 1000
            if started is not None and end is not None
            else None,
            records_in=_count(records.get("inputRecordCount")),
            records_out=_count(records.get("outputRecordCount")),
            records_failed=_count(records.get("failedRecordCount")),
            outcome=outcome,
            href=href(run_id) if href else None,
        )
        points.append((started or _ms(run.get("createdAt")) or 0, point))
    return [point for _, point in sorted(points, key=lambda item: item[0])]


def _ms(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _count(value: object) -> int:
    return _ms(value) or 0


# -- the charts -------------------------------------------------------------------------------

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 30, 34  # plot margins: y labels, legend, x labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
FONT_SIZE = 12
TEXT = "#1a1a1a"
GRID = "#d9d9d9"
OUT = "#0072B2"  # Okabe–Ito blue

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class _Swatch:
    """How one kind of bar is painted, and its name in the legend."""

    label: str
    css: str
    colour: str
    pattern: str | None = None  # the id suffix of a pattern drawn over the colour
    dashed: bool = False  # outlined with dashes (in progress)


# Okabe–Ito colours. Green and vermillion have the same lightness, and orange and sky blue are
# under 3:1 on white: patterns and dark outlines keep every kind apart without colour.
_OUTCOMES = {
    "success": _Swatch("Success", "success", "#009E73"),
    "partial": _Swatch("Partial", "partial", "#E69F00", pattern="hatch"),
    "failed": _Swatch("Failed", "failed", "#D55E00", pattern="cross"),
    "inProgress": _Swatch("In progress", "in-progress", "#56B4E9", dashed=True),
}
_OTHER = _Swatch("Other", "other", "#757575")
_RECORDS_OUT = _Swatch("Records out", "out", OUT)
_RECORDS_FAILED = _Swatch("Failed", "failed", _OUTCOMES["failed"].colour, pattern="cross")

#: Pattern tiles (6x6) by id suffix: dark lines over the swatch's colour.
_PATTERNS = {
    "hatch": ("#E69F00", "M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2"),
    "cross": ("#D55E00", "M0,0 l6,6 M6,0 l-6,6"),
}


def records_chart(
    points: Iterable[RunPoint],
    *,
    title: str = "Records per run",
    limit: int = 50,
    id_prefix: str | None = None,
) -> Markup:
    """Records out (ingested) and failed per run, stacked, oldest run on the left; at most
    the last ``limit`` points. ``id_prefix`` makes the ids in the markup unique on a page
    (by default they derive from the title and the data)."""
    chart = _Chart("records", points, title, limit, id_prefix)
    if not chart.points:
        return chart.empty()
    ticks = _count_ticks(max(p.records_out + p.records_failed for p in chart.points))
    bars = []
    for i, p in enumerate(chart.points):
        tooltip = (
            f"run {p.run_id}: {p.records_in:,} in, {p.records_out:,} out, "
            f"{p.records_failed:,} failed, {_outcome_label(p.outcome)}"
        )
        x, width = chart.bar(i, 0.7)
        out_top = chart.y(p.records_out, ticks[-1])
        failed_top = out_top - chart.height(p.records_failed, ticks[-1])
        body = chart.rect(_RECORDS_OUT, x, out_top, width, chart.bottom - out_top)
        body += chart.rect(_RECORDS_FAILED, x, failed_top, width, out_top - failed_top)
        bars.append(chart.run_group(i, p, tooltip, body, css=""))
    total_in = sum(p.records_in for p in chart.points)
    total_out = sum(p.records_out for p in chart.points)
    total_failed = sum(p.records_failed for p in chart.points)
    desc = (
        f"{chart.span()} Records in: {total_in:,}; out: {total_out:,}; "
        f"failed: {total_failed:,}. Most in one run: "
        f"{max(p.records_out for p in chart.points):,} out."
    )
    return chart.svg(desc, [_RECORDS_OUT, _RECORDS_FAILED], ticks, short_number, bars)


def durations_chart(
    points: Iterable[RunPoint],
    *,
    title: str = "Run duration",
    limit: int = 50,
    id_prefix: str | None = None,
) -> Markup:
    """The duration of each run, coloured by its outcome, oldest run on the left; at most the
    last ``limit`` points. A run without a duration (in progress) shows a marker only."""
    chart = _Chart("durations", points, title, limit, id_prefix)
    if not chart.points:
        return chart.empty()
    durations = [p.duration_s for p in chart.points if p.duration_s is not None]
    ticks = _duration_ticks(max(durations, default=0.0))
    bars = []
    for i, p in enumerate(chart.points):
        swatch = _OUTCOMES.get(p.outcome, _OTHER)
        label = _outcome_label(p.outcome)
        x, width = chart.bar(i, 0.6)
        if p.duration_s is None:
            running = p.outcome == "inProgress"
            tooltip = f"run {p.run_id}: {label}, no duration{' yet' if running else ''}"
            body = chart.rect(swatch, x, chart.bottom, width, 0)
            marker = "…" if running else "–"
            body += _text(marker, x + width / 2, chart.bottom - 4, "lf-chart-marker", "middle")
        else:
            tooltip = f"run {p.run_id}: {short_duration(p.duration_s)}, {label}"
            top = chart.y(p.duration_s, ticks[-1])
            body = chart.rect(swatch, x, top, width, chart.bottom - top)
        bars.append(chart.run_group(i, p, tooltip, body, css=f" lf-chart-outcome-{swatch.css}"))
    order = list(_OUTCOMES)
    counts = Counter(p.outcome for p in chart.points)
    ranked = sorted(counts, key=lambda o: (order.index(o) if o in order else len(order), o))
    desc = chart.span() + " "
    if durations:
        desc += (
            f"Durations from {short_duration(min(durations))} to "
            f"{short_duration(max(durations))}, median {short_duration(median(durations))}. "
        )
    desc += "Outcomes: " + ", ".join(f"{counts[o]} {_outcome_label(o)}" for o in ranked) + "."
    legend = list(_OUTCOMES.values())
    if any(p.outcome not in _OUTCOMES for p in chart.points):
        legend.append(_OTHER)
    return chart.svg(desc, legend, ticks, short_duration, bars)


def _outcome_label(outcome: str) -> str:
    return "in progress" if outcome == "inProgress" else outcome


class _Chart:
    """Geometry and markup shared by both charts: one slot per run across the plot."""

    def __init__(
        self,
        kind: str,
        points: Iterable[RunPoint],
        title: str,
        limit: int,
        id_prefix: str | None,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        every = list(points)
        self.kind, self.title, self.total = kind, title, len(every)
        self.points: Sequence[RunPoint] = every[-limit:]
        if id_prefix is None:
            digest = hashlib.blake2b(f"{title}\0{self.points!r}".encode(), digest_size=5)
            id_prefix = f"lf-chart-{kind}-{digest.hexdigest()}"
        elif not _PREFIX.fullmatch(id_prefix):
            raise ValueError(f"id_prefix {id_prefix!r} is not an id: use letters, digits, - and _")
        self.prefix = id_prefix
        self.slot = PLOT_W / max(len(self.points), 1)
        self.bottom = TOP + PLOT_H

    def bar(self, i: int, share: float) -> tuple[float, float]:
        """Left edge and width of the bar of run ``i``, ``share`` of its slot (32 at most)."""
        width = min(self.slot * share, 32.0)
        return LEFT + self.slot * (i + 0.5) - width / 2, width

    def height(self, value: float, top: float) -> float:
        # a value above zero stays visible, however small beside the others
        return max(value / top * PLOT_H, 1.0) if value > 0 else 0.0

    def y(self, value: float, top: float) -> float:
        return self.bottom - self.height(value, top)

    def rect(
        self, swatch: _Swatch, x: float, y: float, width: float, height: float, *, kind: str = "bar"
    ) -> str:
        fill = f"url(#{self.prefix}-{swatch.pattern})" if swatch.pattern else swatch.colour
        extra: dict[str, object] = {}
        if swatch.dashed:
            extra = {"stroke": TEXT, "stroke-width": 1, "stroke-dasharray": "2 2"}
        attrs = {"x": x, "y": y, "width": width, "height": height, "fill": fill, **extra}
        return _tag("rect", {"class": f"lf-chart-{kind} lf-chart-{swatch.css}", **attrs})

    def run_group(self, i: int, point: RunPoint, tooltip: str, body: str, *, css: str) -> str:
        """The bars of one run with their tooltip, in a link to its page when it has one;
        a transparent band over the whole slot makes it easy to point at and to see focused."""
        hit = _tag(
            "rect",
            {
                "class": "lf-chart-hit",
                "x": LEFT + self.slot * i,
                "y": TOP,
                "width": self.slot,
                "height": PLOT_H,
                "fill": "#ffffff",
                "fill-opacity": 0,
            },
        )
        if point.started_ms is not None:
            tooltip += f", started {_stamp(point.started_ms)}"
        inner = f"<title>{escape(tooltip)}</title>{hit}{body}"
        href = _safe_href(point.href)
        if href is None:
            return f'<g class="lf-chart-run{css}">{inner}</g>'
        return f'<a class="lf-chart-run{css}" href="{escape(href)}">{inner}</a>'

    def span(self) -> str:
        n = len(self.points)
        text = f"{n} run{'s' if n != 1 else ''}"
        if self.total > n:
            text = f"The last {n} of {self.total} runs"
        times = [p.started_ms for p in self.points if p.started_ms is not None]
        if times:
            first, last = _stamp(min(times)), _stamp(max(times))
            text += f", started {first}" if first == last else f", started {first} to {last}"
        return text + "."

    def _ids(self) -> tuple[str, str]:
        return f"{self.prefix}-title", f"{self.prefix}-desc"

    def _open(self, height: int) -> str:
        title_id, desc_id = self._ids()
        return _open_tag(
            "svg",
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "class": f"lf-chart lf-chart-svg lf-chart-{self.kind}",
                "role": "img",
                "aria-labelledby": f"{title_id} {desc_id}",
                "viewBox": f"0 0 {WIDTH} {height}",
                "width": "100%",
                "preserveAspectRatio": "xMidYMid meet",
                "font-family": "system-ui, sans-serif",
                "font-size": FONT_SIZE,
                "fill": TEXT,
            },
        )

    def _heading(self, desc: str) -> str:
        title_id, desc_id = self._ids()
        return (
            f'<title id="{escape(title_id)}">{escape(self.title)}</title>'
            f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>'
        )

    def empty(self) -> Markup:
        """A short chart that says there is nothing to draw yet."""
        body = _text("No runs yet", LEFT, 30, "lf-chart-empty-text", "start")
        return Markup(f"{self._open(48)}{self._heading('No runs yet.')}{body}</svg>")

    def svg(
        self,
        desc: str,
        legend: Sequence[_Swatch],
        ticks: Sequence[float],
        tick_label: Callable[[float], str],
        bars: Sequence[str],
    ) -> Markup:
        parts = [self._open(HEIGHT), self._heading(desc), self._patterns(legend)]
        parts += self._legend(legend)
        parts += self._y_axis(ticks, tick_label)
        parts += self._x_axis()
        parts += bars
        parts.append("</svg>")
        return Markup("".join(parts))

    def _patterns(self, swatches: Sequence[_Swatch]) -> str:
        tiles = []
        for name in sorted({s.pattern for s in swatches if s.pattern}):
            colour, lines = _PATTERNS[name]
            tiles.append(
                f'<pattern id="{escape(self.prefix)}-{name}" patternUnits="userSpaceOnUse" '
                f'width="6" height="6"><rect width="6" height="6" fill="{colour}"/>'
                f'<path d="{lines}" stroke="{TEXT}" stroke-width="1" stroke-opacity="0.55"/>'
                "</pattern>"
            )
        return f"<defs>{''.join(tiles)}</defs>"

    def _legend(self, swatches: Sequence[_Swatch]) -> list[str]:
        parts, x = ['<g class="lf-chart-legend">'], float(LEFT)
        for swatch in swatches:
            parts.append(self.rect(swatch, x, 8, 12, 12, kind="swatch"))
            parts.append(_text(swatch.label, x + 16, 18.5, "lf-chart-legend-label", "start"))
            x += 16 + _text_width(swatch.label) + 14
        parts.append("</g>")
        return parts

    def _y_axis(self, ticks: Sequence[float], label: Callable[[float], str]) -> list[str]:
        parts = ['<g class="lf-chart-y-axis">']
        for tick in ticks:
            y = self.bottom - tick / ticks[-1] * PLOT_H
            line = {"x1": LEFT, "x2": WIDTH - RIGHT, "y1": y, "y2": y}
            parts.append(_tag("line", {"class": "lf-chart-grid", **line, "stroke": GRID}))
            parts.append(_text(label(tick), LEFT - 6, y + 4, "lf-chart-tick-label", "end"))
        axis = {"x1": LEFT, "x2": WIDTH - RIGHT, "y1": self.bottom, "y2": self.bottom}
        parts.append(_tag("line", {"class": "lf-chart-axis", **axis, "stroke": TEXT}))
        parts.append("</g>")
        return parts

    def _x_axis(self) -> list[str]:
        """Start times under the runs, every ``step``-th from the newest, leaving out those
        that would overlap the label on their right."""
        labels = _time_labels([p.started_ms for p in self.points])
        widest = max((_text_width(label) for label in labels if label), default=0.0)
        step = math.ceil(len(labels) / max(int(PLOT_W // (widest + 12)), 1))
        baseline = self.bottom + 16
        parts, free_until = ['<g class="lf-chart-x-axis">'], WIDTH + 8.0
        for i in reversed(range(len(labels))):
            label = labels[i]
            if not label or (len(labels) - 1 - i) % step:
                continue
            cx, width = LEFT + self.slot * (i + 0.5), _text_width(label)
            left = min(max(cx - width / 2, 2.0), WIDTH - 2 - width)
            if left + width > free_until - 8:
                continue
            free_until = left
            tick = {"x1": cx, "x2": cx, "y1": self.bottom, "y2": self.bottom + 4}
            parts.append(_tag("line", {"class": "lf-chart-tick", **tick, "stroke": TEXT}))
            parts.append(_text(label, left, baseline, "lf-chart-tick-label", "start"))
        parts.append(_text("UTC", LEFT, baseline + 14, "lf-chart-axis-note", "end"))
        parts.append("</g>")
        return parts


# -- ticks, times and markup ------------------------------------------------------------------

#: Tick steps of a time axis, in seconds: round units of ms, s, min and h.
_DURATION_STEPS = (
    *(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5),
    *(1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800),
    *(3600, 7200, 10800, 21600, 43200, 86400),
)


def _count_ticks(peak: float) -> list[float]:
    """0 and 2 to 4 round steps of a count axis, the last at or above ``peak``."""
    return _ticks(peak, _round_step(max(peak, 1) / 4))


def _duration_ticks(peak: float) -> list[float]:
    """0 and 2 to 4 steps of round time units, the last at or above ``peak`` seconds."""
    peak = peak if peak > 0 else 1.0
    raw = peak / 4
    step = next((s for s in _DURATION_STEPS if s >= raw), None)
    return _ticks(peak, step or 86400 * _round_step(raw / 86400))


def _round_step(raw: float) -> float:
    """The smallest whole 1, 2, 2.5 or 5 x 10^n at or above ``raw`` (2.5 from 25 up)."""
    magnitude = 10 ** math.floor(math.log10(max(raw, 1)))
    steps = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)
    return next(m * magnitude for m in steps if m * magnitude >= raw)


def _ticks(peak: float, step: float) -> list[float]:
    count = max(math.ceil(peak / step - 1e-9), 2)  # 3 to 5 labels
    return [i * step for i in range(count + 1)]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _stamp(ms: int) -> str:
    return f"{_utc(ms):%Y-%m-%d %H:%M} UTC"


def _time_labels(times: Sequence[int | None]) -> list[str]:
    """Start times as short as the span allows: ``14:05`` within a day, ``3 Mar 14:05``
    within a year, else ``3 Mar 2026``; ``""`` for a run that never started."""
    dates = [_utc(ms) for ms in times if ms is not None]
    if not dates:
        return ["" for _ in times]
    same_day = len({d.date() for d in dates}) == 1
    same_year = len({d.year for d in dates}) == 1

    def label(ms: int | None) -> str:
        if ms is None:
            return ""
        d = _utc(ms)
        if same_day:
            return f"{d:%H:%M}"
        day = f"{d.day} {_MONTHS[d.month - 1]}"
        return f"{day} {d:%H:%M}" if same_year else f"{day} {d.year}"

    return [label(ms) for ms in times]


def _text_width(text: str) -> float:
    # an estimate: the server does not measure fonts; digits and letters average ~0.6 em
    return len(text) * FONT_SIZE * 0.6


def _safe_href(href: str | None) -> str | None:
    """``href`` unless it could run script (``javascript:``, ``data:``…): only relative
    and web addresses are links."""
    if not href:
        return None
    try:
        scheme = urlsplit(href.strip()).scheme.lower()
    except ValueError:
        return None
    return href if scheme in ("", "http", "https") else None


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(escape(value))


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {name}="{_num(value)}"' for name, value in attrs.items())


def _open_tag(name: str, attrs: Mapping[str, object]) -> str:
    return f"<{name}{_attrs(attrs)}>"


def _tag(name: str, attrs: Mapping[str, object]) -> str:
    return f"<{name}{_attrs(attrs)}/>"


def _text(text: str, x: float, y: float, css: str, anchor: str) -> str:
    attrs = _attrs({"class": css, "x": x, "y": y, "text-anchor": anchor})
    return f"<text{attrs}>{escape(text)}</text>"
