"""The console's run charts: accessible, inert SVG markup whose bars match the runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jinja2
import pytest
from markupsafe import Markup

from lakefeed.api.console.charts import (
    RunPoint,
    durations_chart,
    points_from_runs,
    records_chart,
    short_duration,
    short_number,
)
from lakefeed.catalog.runs import Run
from lakefeed.flows.metrics import RunMetrics, unstarted_metrics

SVG = "{http://www.w3.org/2000/svg}"
HOUR_MS = 3_600_000
T0 = int(datetime(2026, 3, 3, 14, 5, tzinfo=UTC).timestamp() * 1000)

Chart = Callable[..., Markup]
CHARTS = [records_chart, durations_chart]


def point(i: int, **changes: Any) -> RunPoint:
    values: dict[str, Any] = {
        "run_id": f"run-{i}",
        "started_ms": T0 + i * HOUR_MS,
        "duration_s": 60.0 + i,
        "records_in": 1000 + i,
        "records_out": 990 + i,
        "records_failed": 10,
        "outcome": "success",
        "href": f"/console/runs/run-{i}",
    }
    return RunPoint(**{**values, **changes})


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def with_class(root: ET.Element, css: str) -> list[ET.Element]:
    return [e for e in root.iter() if css in (e.get("class") or "").split()]


def texts(elements: list[ET.Element]) -> list[str]:
    return [e.text or "" for e in elements]


def run_groups(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "lf-chart-run")


def tooltip(group: ET.Element) -> str:
    title = group.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


@pytest.mark.parametrize("chart", CHARTS)
def test_a_chart_is_an_image_named_by_its_title_and_described(chart: Chart) -> None:
    markup = chart([point(i) for i in range(3)], title="Runs of flow A")
    assert isinstance(markup, Markup)
    root = parse(markup)

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("preserveAspectRatio")
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert by_id[title_id].tag == f"{SVG}title"
    assert by_id[title_id].text == "Runs of flow A"
    assert by_id[desc_id].tag == f"{SVG}desc"
    assert "3 runs, started 2026-03-03 14:05 UTC to 2026-03-03 16:05 UTC" in (
        by_id[desc_id].text or ""
    )


def test_the_records_description_gives_the_totals() -> None:
    desc = parse(records_chart([point(0), point(1)])).find(f"{SVG}desc")
    assert desc is not None
    assert "Records in: 2,001; out: 1,981; failed: 20." in (desc.text or "")


def test_the_durations_description_gives_the_range_and_the_outcomes() -> None:
    points = [
        point(0, duration_s=0.85),
        point(1, duration_s=12.0, outcome="partial"),
        point(2, duration_s=200.0),
        point(3, duration_s=None, outcome="inProgress"),
    ]
    desc = parse(durations_chart(points)).find(f"{SVG}desc")
    assert desc is not None
    assert "Durations from 850 ms to 3 min 20 s, median 12 s." in (desc.text or "")
    assert "Outcomes: 2 success, 1 partial, 1 in progress." in (desc.text or "")


def test_two_charts_of_a_page_have_distinct_ids() -> None:
    points = [point(i) for i in range(3)]
    ids = [
        e.get("id")
        for markup in (records_chart(points), durations_chart(points), records_chart(points[:2]))
        for e in parse(markup).iter()
        if e.get("id")
    ]
    assert len(ids) == len(set(ids))
    # deterministic: the same chart twice is the same markup
    assert records_chart(points) == records_chart(points)


def test_an_id_prefix_names_the_ids_and_must_be_an_id() -> None:
    root = parse(records_chart([point(0)], id_prefix="flow-7-records"))
    assert root.get("aria-labelledby") == "flow-7-records-title flow-7-records-desc"
    with pytest.raises(ValueError, match="id_prefix"):
        records_chart([point(0)], id_prefix='x" onload="alert(1)')


@pytest.mark.parametrize("chart", CHARTS)
def test_one_group_per_run_oldest_on_the_left(chart: Chart) -> None:
    root = parse(chart([point(i) for i in range(7)]))
    groups = run_groups(root)
    assert [tooltip(g).split(":")[0] for g in groups] == [f"run run-{i}" for i in range(7)]
    lefts = [float(with_class(g, "lf-chart-hit")[0].get("x", "")) for g in groups]
    assert lefts == sorted(lefts)


#: Coordinates are written with two decimals: heights compare within a few hundredths.
ROUNDED = 0.05


def bar_height(group: ET.Element, css: str) -> float:
    (bar,) = with_class(group, css)
    return float(bar.get("height", ""))


def test_record_bars_are_as_high_as_their_counts() -> None:
    points = [
        point(0, records_out=1000, records_failed=100),
        point(1, records_out=250, records_failed=400),
    ]
    first, second = run_groups(parse(records_chart(points)))
    assert bar_height(first, "lf-chart-out") == pytest.approx(
        4 * bar_height(second, "lf-chart-out"), abs=ROUNDED
    )
    assert bar_height(second, "lf-chart-failed") == pytest.approx(
        4 * bar_height(first, "lf-chart-failed"), abs=ROUNDED
    )
    # failed records are stacked on the records out
    (out,) = with_class(first, "lf-chart-out")
    (failed,) = with_class(first, "lf-chart-failed")
    assert float(failed.get("y", "")) + float(failed.get("height", "")) == pytest.approx(
        float(out.get("y", "")), abs=ROUNDED
    )


def test_duration_bars_are_as_high_as_the_durations_and_coloured_by_outcome() -> None:
    points = [point(0, duration_s=120.0), point(1, duration_s=30.0, outcome="failed")]
    first, second = run_groups(parse(durations_chart(points)))
    assert bar_height(first, "lf-chart-bar") == pytest.approx(
        4 * bar_height(second, "lf-chart-bar"), abs=ROUNDED
    )
    assert "lf-chart-outcome-success" in (first.get("class") or "")
    assert "lf-chart-outcome-failed" in (second.get("class") or "")
    (success_bar,) = with_class(first, "lf-chart-bar")
    (failed_bar,) = with_class(second, "lf-chart-bar")
    assert success_bar.get("fill") != failed_bar.get("fill")


def test_a_run_in_progress_has_a_marker_instead_of_a_bar() -> None:
    root = parse(durations_chart([point(0), point(1, duration_s=None, outcome="inProgress")]))
    _, running = run_groups(root)
    assert bar_height(running, "lf-chart-bar") == 0
    assert texts(with_class(running, "lf-chart-marker")) == ["…"]
    assert tooltip(running).startswith("run run-1: in progress, no duration yet")


def test_the_y_axis_has_short_round_tick_labels() -> None:
    records = parse(records_chart([point(0, records_out=38_000), point(1, records_out=1200)]))
    labels = texts(with_class(with_class(records, "lf-chart-y-axis")[0], "lf-chart-tick-label"))
    assert labels == ["0", "10K", "20K", "30K", "40K"]

    durations = parse(durations_chart([point(0, duration_s=200.0), point(1, duration_s=5.0)]))
    axis = with_class(durations, "lf-chart-y-axis")[0]
    assert texts(with_class(axis, "lf-chart-tick-label")) == [
        "0 s",
        "1 min",
        "2 min",
        "3 min",
        "4 min",
    ]


@pytest.mark.parametrize("peak", [0, 1, 3, 7, 10, 99, 101, 12_345, 999_999, 3_400_000])
def test_there_are_three_to_five_count_ticks_up_to_the_peak(peak: int) -> None:
    root = parse(records_chart([point(0, records_out=peak, records_failed=0)]))
    ticks = with_class(root, "lf-chart-grid")
    assert 3 <= len(ticks) <= 5
    # the top grid line is at or above the bar
    (group,) = run_groups(root)
    (bar,) = with_class(group, "lf-chart-out")
    assert min(float(t.get("y1", "")) for t in ticks) <= float(bar.get("y", ""))


def test_a_tooltip_says_what_a_run_did() -> None:
    markup = records_chart([point(0, records_in=1234, records_out=1200, records_failed=34)])
    (group,) = run_groups(parse(markup))
    assert tooltip(group) == (
        "run run-0: 1,234 in, 1,200 out, 34 failed, success, started 2026-03-03 14:05 UTC"
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_runs_with_a_page_are_links_the_others_are_not(chart: Chart) -> None:
    points = [point(0, href="/console/flows/f/runs/r?x=1&y=2"), point(1, href=None)]
    markup = chart(points)
    assert 'href="/console/flows/f/runs/r?x=1&amp;y=2"' in markup
    linked, plain = run_groups(parse(markup))
    assert linked.tag == f"{SVG}a"
    assert linked.get("href") == "/console/flows/f/runs/r?x=1&y=2"
    assert plain.tag == f"{SVG}g"
    assert plain.get("href") is None


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:,x"]
)
def test_a_link_that_could_run_script_is_not_drawn(href: str) -> None:
    (group,) = run_groups(parse(records_chart([point(0, href=href)])))
    assert group.tag == f"{SVG}g"
    assert "alert" not in records_chart([point(0, href=href)])


HOSTILE = """<script>alert("x")</script>' onmouseover="alert(1)"&amp;"""


@pytest.mark.parametrize("chart", CHARTS)
def test_hostile_text_comes_out_inert(chart: Chart) -> None:
    points = [point(0, run_id=HOSTILE, outcome=HOSTILE, href=f"/runs/{HOSTILE}")]
    for markup in (chart(points, title=HOSTILE), chart([], title=HOSTILE)):
        assert "<script" not in markup
        assert 'onmouseover="' not in markup
        root = parse(markup)  # still well-formed
        assert all(not e.tag.endswith("script") for e in root.iter())
        assert all(not name.startswith("on") for e in root.iter() for name in e.attrib)
        title = root.find(f"{SVG}title")
        assert title is not None
        assert title.text == HOSTILE
    (group,) = run_groups(parse(chart(points)))
    assert tooltip(group).startswith(f"run {HOSTILE}: ")
    assert group.get("href") == f"/runs/{HOSTILE}"


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("count", [0, 1, 50])
def test_no_inline_style_anywhere(chart: Chart, count: int) -> None:
    markup = chart([point(i, outcome=("partial", "other")[i % 2]) for i in range(count)])
    assert "style=" not in markup
    assert "<style" not in markup
    for element in parse(markup).iter():
        classes = (element.get("class") or "").split()
        assert all(css.startswith("lf-chart") for css in classes)


@pytest.mark.parametrize("chart", CHARTS)
def test_no_runs_yet(chart: Chart) -> None:
    root = parse(chart([], title="Durations"))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert by_id[title_id].text == "Durations"
    assert by_id[desc_id].text == "No runs yet."
    assert "No runs yet" in texts(root.findall(f"{SVG}text"))
    assert run_groups(root) == []


@pytest.mark.parametrize("chart", CHARTS)
def test_only_the_last_runs_are_drawn(chart: Chart) -> None:
    points = [point(i) for i in range(60)]
    root = parse(chart(points))
    groups = run_groups(root)
    assert len(groups) == 50
    assert tooltip(groups[0]).startswith("run run-10:")
    assert tooltip(groups[-1]).startswith("run run-59:")
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert (desc.text or "").startswith("The last 50 of 60 runs")

    assert len(run_groups(parse(chart(points, limit=5)))) == 5
    with pytest.raises(ValueError, match="limit"):
        chart(points, limit=0)


def test_time_labels_are_thinned_out_and_the_newest_run_is_labelled() -> None:
    root = parse(records_chart([point(i) for i in range(50)]))
    labels = texts(with_class(with_class(root, "lf-chart-x-axis")[0], "lf-chart-tick-label"))
    assert 3 <= len(labels) <= 8
    assert labels[0] == "5 Mar 15:05"  # newest first in the markup: run-49 started T0 + 49 h


def test_within_a_day_time_labels_are_times_of_day() -> None:
    root = parse(records_chart([point(0), point(1)]))
    labels = texts(with_class(with_class(root, "lf-chart-x-axis")[0], "lf-chart-tick-label"))
    assert sorted(labels) == ["14:05", "15:05"]


def test_jinja_embeds_a_chart_unescaped() -> None:
    env = jinja2.Environment(autoescape=True)
    page = env.from_string("<figure>{{ chart }}</figure>").render(chart=records_chart([point(0)]))
    assert page.startswith("<figure><svg ")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1K"),
        (1234, "1.2K"),
        (2500, "2.5K"),
        (9_960, "10K"),
        (12_345, "12K"),
        (999_499, "999K"),
        (999_950, "1M"),
        (3_400_000, "3.4M"),
        (1_100_000_000, "1.1B"),
        (2_000_000_000_000, "2T"),
        (-1500, "-1.5K"),
        (2.5, "2.5"),
    ],
)
def test_short_number(n: float, text: str) -> None:
    assert short_number(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.0004, "0 ms"),
        (0.85, "850 ms"),
        (0.9996, "1 s"),
        (1.5, "1.5 s"),
        (9.96, "10 s"),
        (12.4, "12 s"),
        (59.6, "1 min"),
        (200, "3 min 20 s"),
        (3599.6, "1 h"),
        (3900, "1 h 5 min"),
        (7200, "2 h"),
        (86_400 + 3 * 3600, "1 d 3 h"),
        (-12, "-12 s"),
        (float("nan"), "—"),
    ],
)
def test_short_duration(seconds: float, text: str) -> None:
    assert short_duration(seconds) == text


# -- points from Flow Service runs ------------------------------------------------------------


def run_dict(run_id: str, metrics: RunMetrics | dict[str, Any], *, state: str) -> dict[str, Any]:
    shape = metrics.to_flow_service() if isinstance(metrics, RunMetrics) else metrics
    run = Run(
        id=run_id,
        ims_org_id="ACME@AdobeOrg",
        sandbox_name="prod",
        flow_id="flow-1",
        state=state,
        status=shape["statusSummary"]["status"],
        params={},
        metrics=shape,
        activities=[],
        owner="",
        heartbeat_at=0,
        etag='"1"',
        created_at=(shape["durationSummary"]["startedAtUTC"] or T0 + 9 * HOUR_MS),
        updated_at=T0,
    )
    return run.to_dict()


def finished(start: int, seconds: float, **counts: Any) -> RunMetrics:
    return RunMetrics(started_at=start, completed_at=start + int(seconds * 1000), **counts)


def test_points_from_runs_oldest_first_with_counts_durations_and_outcomes() -> None:
    runs = [
        run_dict("late", RunMetrics(started_at=T0 + 3 * HOUR_MS), state="inProgress"),
        run_dict(
            "partial",
            finished(
                T0 + HOUR_MS,
                200,
                status="success",
                input_records=1234,
                output_records=1200,
                failed_records=34,
            ),
            state="completed",
        ),
        run_dict(
            "first",
            finished(T0, 0.85, status="success", input_records=10, output_records=10),
            state="completed",
        ),
        run_dict(
            "failed",
            finished(T0 + 2 * HOUR_MS, 3900, status="failed", input_records=5, failed_records=5),
            state="completed",
        ),
        run_dict("next", unstarted_metrics("scheduled"), state="scheduled"),
    ]
    points = points_from_runs(runs, lambda run_id: f"/console/runs/{run_id}")

    assert points == [
        RunPoint("first", T0, 0.85, 10, 10, 0, "success", "/console/runs/first"),
        RunPoint(
            "partial", T0 + HOUR_MS, 200.0, 1234, 1200, 34, "partial", "/console/runs/partial"
        ),
        RunPoint("failed", T0 + 2 * HOUR_MS, 3900.0, 5, 0, 5, "failed", "/console/runs/failed"),
        RunPoint("late", T0 + 3 * HOUR_MS, None, 0, 0, 0, "inProgress", "/console/runs/late"),
    ]


def test_a_run_in_progress_has_run_until_now_when_now_is_given() -> None:
    runs = [run_dict("late", RunMetrics(started_at=T0), state="inProgress")]
    (running,) = points_from_runs(runs, now_ms=T0 + 90_000)
    assert running.duration_s == 90.0
    assert running.href is None


def test_a_run_closed_without_starting_is_kept_without_times() -> None:
    closed = unstarted_metrics("failed", [{"code": "LF-1510", "message": "stopped"}])
    (point_,) = points_from_runs([run_dict("closed", closed, state="completed")])
    assert (point_.started_ms, point_.duration_s, point_.outcome) == (None, None, "failed")
    root = parse(durations_chart([point_]))
    assert texts(with_class(root, "lf-chart-marker")) == ["–"]


def test_points_from_runs_tolerates_missing_metrics() -> None:
    (point_,) = points_from_runs([{"id": "bare", "state": "completed", "metrics": {}}])
    assert point_ == RunPoint("bare", None, None, 0, 0, 0, "unknown", None)
