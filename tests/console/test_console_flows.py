"""The console's flows, flow and run pages and its actions (run now, retry, enable, disable),
against a real server: what the pages show is what the engine holds, every action goes through
the engine, another sandbox's flows and runs are not found, and no page shows a secret."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import Server
from console_pages import assert_console_page, by_id, error_code, table_rows
from console_support import CSRF, LOCAL_ORG, Console, Demo, demo_chain
from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema, profile_table

RUN_PAGE = re.compile(r"^/console/runs/([0-9a-f-]{36})$")
SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
CHART_RUN = re.compile(r'class="lf-chart-run[ "]')


# -- sessions whose every answer is checked -------------------------------------------------------


@dataclass
class Watched:
    """A signed-in console whose answers are all kept, to check them after the test."""

    console: Console
    secret: str
    token: str
    answers: list[httpx.Response] = field(default_factory=list)


WATCHED: list[Watched] = []


def watched_sign_in(
    server: Server, sandbox: str = "prod", sandboxes: tuple[str, ...] = ()
) -> Watched:
    """:func:`console_support.sign_in`, keeping the client's secret and every answer."""
    api_key, secret = server.lf.auth.create_client(LOCAL_ORG, sandboxes)
    answers: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        answers.append(response)

    http = httpx.Client(
        base_url=server.url, follow_redirects=False, timeout=60, event_hooks={"response": [keep]}
    )
    signed = http.post(
        "/console/sign-in",
        data={"client_id": api_key, "client_secret": secret, "sandbox": sandbox},
    )
    assert signed.status_code == 303, signed.text
    found = CSRF.search(http.get("/console/flows").text)
    assert found is not None
    token = http.cookies["lakefeed_console"]
    watched = Watched(Console(http, found.group(1), api_key), secret, token, answers)
    WATCHED.append(watched)
    return watched


@pytest.fixture(autouse=True)
def _every_answer_checked() -> Iterator[None]:
    """After each test: every console answer it got was a proper page (or a download), none
    a 500, and none showed the session's token or the client's secret."""
    yield
    for watched in WATCHED:
        for answer in watched.answers:
            where = f"{answer.request.method} {answer.request.url.path}"
            assert answer.status_code < 500, where
            assert watched.token not in answer.text, where
            assert watched.secret not in answer.text, where
            if answer.headers.get("content-type", "").startswith("text/html"):
                assert_console_page(answer)
        watched.answers.clear()


@pytest.fixture(scope="module")
def session(server: Server) -> Iterator[Console]:
    watched = watched_sign_in(server)
    yield watched.console
    watched.console.http.close()


# -- flows made through the engine ---------------------------------------------------------------


@pytest.fixture(scope="module")
def folders(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders of this server's flows (one server per database backend), inside its local
    roots."""
    return tmp_path_factory.mktemp("console-flows")


@pytest.fixture(scope="module")
def demo(server: Server, folders: Path) -> Demo:
    """The demo chain, its second file listed as waiting."""
    made = demo_chain(server.lf, folders / "demo")
    server.lf.discover_backlog(made.flow_id)
    return made


@pytest.fixture(scope="module")
def dev_demo(server: Server, folders: Path) -> Demo:
    """A demo chain of its own in sandbox ``dev`` of the same org."""
    server.lf.auth.create_sandbox(LOCAL_ORG, "dev")
    dev = server.lf.scoped(Scope(LOCAL_ORG, "dev"))
    return demo_chain(dev, folders / "dev", name="dev-profiles")


def flow_from(lf: Lakefeed, demo: Demo, name: str, schedule: Mapping[str, Any] | None) -> Flow:
    """Another flow from the demo's folder into its dataset, with ``schedule``."""
    connection = lf.connection(f"{demo.dataset}-landing")
    dataset = lf.datasets.get(demo.dataset)
    source = lf.flows.create_source_connection(
        name=f"{name}-source", base_connection_id=connection.id, path="."
    )
    target = lf.flows.create_target_connection(name=f"{name}-target", dataset_id=dataset.id)
    return lf.flows.create_flow(
        name=name,
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
        schedule=schedule,
    )


def failed_chain(lf: Lakefeed, landing: Path, name: str) -> tuple[str, str]:
    """A flow without partial ingestion whose one file has a bad row: its run failed.
    Returns ``(flow_id, run_id)``."""
    landing.mkdir(parents=True)
    bad = profile_table(10, tenant_id=lf.schemas.tenant_id, bad={3: "gender"})
    pq.write_table(bad, landing / "broken.parquet")
    schema = create_profile_schema(lf.schemas)
    lf.create_connection(f"{name}-landing", "local-files", None, {"rootPath": str(landing)})
    run = lf.ingest(f"{name}-landing", ".", dataset=name, schema=schema["$id"])
    assert (run.state, run.status) == ("completed", "failed")
    return run.flow_id, run.id


# -- reading pages -------------------------------------------------------------------------------


def page(
    console: Console, path: str, params: Mapping[str, str] | None = None, expect: int = 200
) -> str:
    return assert_console_page(console.get(path, params=params), expect)


def flow_row(listing: str, flow_id: str) -> list[str] | None:
    """The flows table's row of ``flow_id`` (None when it is not shown)."""
    if 'id="flows"' not in listing:
        return None
    rows = [row for row in table_rows(listing, "flows")[1:] if flow_id in row[0]]
    assert len(rows) <= 1
    return rows[0] if rows else None


def started_run(answer: httpx.Response) -> str:
    """The id of the run an action started (it redirects to the run's page)."""
    assert answer.status_code == 303, answer.text
    found = RUN_PAGE.match(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def finished_run_page(console: Console, run_id: str, seconds: float = 120) -> str:
    """The run's page once the run is done: the page stops asking htmx to refresh it."""
    deadline = time.monotonic() + seconds
    while True:
        shown = page(console, f"/console/runs/{run_id}")
        if "hx-trigger" not in shown:
            return shown
        assert time.monotonic() < deadline, f"run {run_id} still in progress"
        time.sleep(0.1)


def size_text(count: int) -> str:
    return f"{count} B" if count < 1024 else f"{count / 1024:.1f} KiB"


def utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def charts(flow_page: str) -> list[str]:
    found = SVG.findall(flow_page)
    assert len(found) == 2, "a records chart and a durations chart"
    for chart in found:
        assert 'role="img"' in chart.split(">", 1)[0]
        assert "<title" in chart and "<desc" in chart
    return found


# -- the flows list ------------------------------------------------------------------------------


def test_the_flows_list_shows_state_schedule_last_run_and_backlog(
    session: Console, demo: Demo
) -> None:
    listing = page(session, "/console/flows")
    row = flow_row(listing, demo.flow_id)
    assert row is not None
    waiting = (demo.landing / "profiles-1.parquet").stat().st_size
    name, state, schedule, next_run, last, files, size, oldest = row
    assert name.startswith("ingest-loyalty-profiles")
    assert (state, schedule, next_run, last) == ("enabled", "once", "—", "partial")
    assert (files, size) == ("1", size_text(waiting))
    assert re.fullmatch(r"\d+ (s|min)", oldest), oldest
    assert f'href="/console/runs/{demo.run_id}"' in listing
    assert f'href="/console/flows/{demo.flow_id}"' in listing


@pytest.mark.parametrize(
    ("filters", "shown"),
    [
        ({"state": "enabled"}, True),
        ({"state": "disabled"}, False),
        ({"status": "partial"}, True),
        ({"status": "failed"}, False),
        ({"status": "never"}, False),
        ({"q": "LOYALTY-prof"}, True),
        ({"q": "nomatch"}, False),
        ({"state": "enabled", "status": "partial", "q": "loyalty"}, True),
    ],
)
def test_the_filters(session: Console, demo: Demo, filters: dict[str, str], shown: bool) -> None:
    listing = page(session, "/console/flows", filters)
    assert (flow_row(listing, demo.flow_id) is not None) is shown
    if filters.get("q") == "nomatch":
        assert "No flow matches these filters" in listing
    for name, value in filters.items():  # the form shows the filters in use
        if name == "q":
            assert f'name="q" value="{value}"' in listing
        else:
            assert f'<option value="{value}" selected>' in listing


def test_the_flows_list_with_its_own_id_as_the_query(session: Console, demo: Demo) -> None:
    assert flow_row(page(session, "/console/flows", {"q": demo.flow_id[:8]}), demo.flow_id)


def test_hostile_filter_values_are_escaped_or_ignored(session: Console, demo: Demo) -> None:
    script = "<script>alert(1)</script>"
    listing = page(
        session, "/console/flows", {"q": script, "state": "<img src=x>", "status": '"><b>'}
    )
    assert script not in listing and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert "<img src=x>" not in listing and "&lt;img" not in listing  # unknown: dropped
    assert "<b>" not in listing
    filters = listing.split('class="filters"', 1)[1].split("</form>", 1)[0]
    assert " selected>" not in filters  # neither select keeps an unknown value
    at_most = page(session, "/console/flows", {"q": "x" * 200})
    assert "No flow matches" in at_most
    too_long = page(session, "/console/flows", {"q": "y" * 201}, 400)
    assert error_code(too_long) == "LF-1001" and "q" in too_long


def test_a_scheduled_flow_shows_when_it_is_due(
    server: Server, session: Console, demo: Demo
) -> None:
    lf = server.lf
    now = int(time.time())
    every_15 = {"frequency": "minute", "interval": 15}
    due = flow_from(lf, demo, "sched-due", {**every_15, "startTime": now - 30})
    late = flow_from(lf, demo, "sched-late", {**every_15, "startTime": now - 30})
    # A flow whose start passed an hour ago with no run since: its schedule is an hour old.
    lf.flows.flows.update(
        late.id, schedule_params={**late.schedule_params, "startTime": now - 3600}
    )
    ahead = flow_from(
        lf, demo, "sched-ahead", {"frequency": "hour", "interval": 1, "startTime": now + 7200}
    )
    off = flow_from(lf, demo, "sched-off", {**every_15, "startTime": now - 30})
    lf.flows.set_flow_state(off.id, "disabled")

    listing = page(session, "/console/flows")
    rows = {flow.id: flow_row(listing, flow.id) for flow in (due, late, ahead, off)}
    assert all(rows.values())
    cells = {flow_id: row for flow_id, row in rows.items() if row is not None}
    assert cells[due.id][2].startswith("every 15 minute")
    assert cells[ahead.id][2] == "every hour"
    assert cells[due.id][3] == "due now"
    assert cells[late.id][3] == "late"
    assert cells[ahead.id][3] == utc(now + 7200)
    assert cells[off.id][3] == "—"
    for flow_id in (due.id, late.id, ahead.id, off.id):
        assert cells[flow_id][4] == "never run"
    assert re.search(r"\b1 late\b", listing)

    only_late = page(session, "/console/flows", {"status": "late"})
    assert flow_row(only_late, late.id) and not flow_row(only_late, due.id)
    assert not flow_row(only_late, demo.flow_id)
    assert "<dt>Next run</dt><dd>late</dd>" in page(session, f"/console/flows/{late.id}")
    assert "<dt>Next run</dt><dd>due now</dd>" in page(session, f"/console/flows/{due.id}")
    assert "<dt>Next run</dt><dd>—</dd>" in page(session, f"/console/flows/{off.id}")


# -- a flow --------------------------------------------------------------------------------------


def test_the_flow_page_shows_its_parts_runs_and_charts(
    server: Server, session: Console, demo: Demo
) -> None:
    shown = page(session, f"/console/flows/{demo.flow_id}")
    connection = server.lf.connection(f"{demo.dataset}-landing")
    dataset = server.lf.datasets.get(demo.dataset)
    assert f'href="/console/connections/{connection.id}">{connection.name}</a>' in shown
    assert "<dt>Path</dt><dd><code>.</code></dd>" in shown
    assert f'href="/console/datasets/{dataset.id}">{demo.dataset}</a>' in shown
    assert "<dt>Frequency</dt><dd>once</dd>" in shown
    assert "<dt>Partial ingestion</dt><dd>5.0 %</dd>" in shown
    assert by_id(shown, "flow-state") == "enabled"
    waiting = (demo.landing / "profiles-1.parquet").stat().st_size
    assert f"1 files, {size_text(waiting)}" in shown
    header, *runs = table_rows(shown, "runs")
    assert header[:2] == ["Run", "Outcome"]
    assert [run[:2] + run[4:] for run in runs] == [[demo.run_id, "partial", "300", "298", "2", "0"]]
    for chart in charts(shown):
        assert len(CHART_RUN.findall(chart)) == 1  # one bar group per run
        assert f"/console/runs/{demo.run_id}" in chart
    assert 'id="run-now"' in shown and 'id="disable"' in shown
    assert 'id="enable"' not in shown and 'id="retry"' not in shown


def test_the_run_page_of_a_partial_run(server: Server, session: Console, demo: Demo) -> None:
    shown = page(session, f"/console/runs/{demo.run_id}")
    assert "hx-trigger" not in shown  # done: nothing to follow
    assert by_id(shown, "run-outcome") == "partial"
    counts = [by_id(shown, f"records-{kind}") for kind in ("in", "out", "failed")]
    assert counts == ["300", "298", "2"]
    files = table_rows(shown, "run-files")[1:]
    assert [(Path(f[0]).name, f[1], f[3], f[4], f[5]) for f in files] == [
        ("profiles-0.parquet", "converted", "300", "298", "2")
    ]
    rejected = table_rows(shown, "rejected")[1:]
    assert len(rejected) == 2
    assert f'href="/console/flows/{demo.flow_id}"' in shown


# -- actions -------------------------------------------------------------------------------------


def test_run_now_follows_the_run_to_its_counts_and_rejected_rows(
    server: Server, session: Console, folders: Path
) -> None:
    lf = server.lf
    chain = demo_chain(lf, folders / "run-now", name="run-now")
    assert 'id="run-now"' in page(session, f"/console/flows/{chain.flow_id}")

    run_id = started_run(session.post(f"/console/flows/{chain.flow_id}/run"))
    assert [run.id for run in lf.runs.list(chain.flow_id)] == [chain.run_id, run_id]
    shown = finished_run_page(session, run_id)
    assert lf.runs.get(run_id).state == "completed"
    assert by_id(shown, "run-outcome") == "partial"
    counts = [by_id(shown, f"records-{kind}") for kind in ("in", "out", "failed")]
    assert counts == ["200", "199", "1"]
    files = table_rows(shown, "run-files")[1:]
    assert [(Path(f[0]).name, f[1], f[3], f[4], f[5]) for f in files] == [
        ("profiles-1.parquet", "converted", "200", "199", "1")
    ]
    field_path = f"_{lf.schemas.tenant_id}.loyalty.loyaltyId"
    (rejected,) = table_rows(shown, "rejected")[1:]
    assert Path(rejected[0]).name == "profiles-1.parquet"
    assert field_path in rejected[2]

    links = re.findall(rf'href="(/console/runs/{run_id}/failed/[^"]+)" download', shown)
    assert len(links) == 1
    download = session.get(links[0])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-ndjson")
    assert download.headers["content-disposition"].startswith("attachment;")
    # The org's rows: never cached, never sniffed into something a browser would render.
    assert download.headers.get("cache-control") == "no-store"
    assert download.headers.get("x-content-type-options") == "nosniff"
    (line,) = [json.loads(text) for text in download.text.splitlines() if text]
    assert Path(line["_filename"]).name == "profiles-1.parquet"
    assert field_path in [error.get("field") for error in line["_errors"]]
    missing = session.get(f"/console/runs/{run_id}/failed/not-listed.jsonl")
    assert error_code(assert_console_page(missing, 404)) == "LF-1104"

    after = page(session, f"/console/flows/{chain.flow_id}")
    assert len(table_rows(after, "runs")) == 3
    for chart in charts(after):
        assert len(CHART_RUN.findall(chart)) == 2
    listing = page(session, "/console/flows")
    row = flow_row(listing, chain.flow_id)
    assert row is not None and row[4] == "partial"
    assert f'href="/console/runs/{run_id}"' in listing  # the last run is the new one


def test_run_now_while_a_run_is_in_progress_is_409(
    server: Server, session: Console, demo: Demo
) -> None:
    lf = server.lf
    flow = flow_from(lf, demo, "busy", None)
    handle = lf.run_now(flow)  # recorded inProgress; executed below
    try:
        row = flow_row(page(session, "/console/flows"), flow.id)
        assert row is not None and row[4] == "running"
        shown = page(session, f"/console/flows/{flow.id}")
        assert re.search(r'id="run-now" disabled', shown)
        live = page(session, f"/console/runs/{handle.run.id}")
        assert 'hx-trigger="every 2s"' in live and 'http-equiv="refresh"' in live
        refused = session.post(f"/console/flows/{flow.id}/run")
        assert error_code(assert_console_page(refused, 409)) == "LF-1444"
        assert [run.id for run in lf.runs.list(flow.id)] == [handle.run.id]
    finally:
        handle.execute()
    assert "hx-trigger" not in finished_run_page(session, handle.run.id)


def test_retry_runs_a_failed_run_again(
    server: Server, session: Console, demo: Demo, folders: Path
) -> None:
    lf = server.lf
    flow_id, failed = failed_chain(lf, folders / "broken", "broken")
    shown = page(session, f"/console/flows/{flow_id}")
    assert f'action="/console/runs/{failed}/retry"' in shown and 'id="retry"' in shown
    assert flow_row(page(session, "/console/flows", {"status": "failed"}), flow_id)
    failed_page = page(session, f"/console/runs/{failed}")
    assert by_id(failed_page, "run-outcome") == "failed"
    assert "LF-1500" in failed_page

    again = started_run(session.post(f"/console/runs/{failed}/retry"))
    assert lf.runs.get(again).params["retriggerOf"] == failed
    assert by_id(finished_run_page(session, again), "run-outcome") == "failed"  # still bad

    # Only a failed run is re-triggered: the engine's refusal, as a page; nothing started.
    refused = session.post(f"/console/runs/{demo.run_id}/retry")
    shown = assert_console_page(refused, 400)
    assert error_code(shown) == "LF-1387" and "only a failed run can be re-triggered" in shown
    assert [run.id for run in lf.runs.list(demo.flow_id)] == [demo.run_id]
    unknown = session.post("/console/runs/no-such-run/retry")
    assert error_code(assert_console_page(unknown, 404)) == "LF-1104"


def test_disable_and_enable(server: Server, session: Console, demo: Demo) -> None:
    lf = server.lf
    flow = flow_from(lf, demo, "toggle", None)
    answer = session.post(f"/console/flows/{flow.id}/disable")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/flows/{flow.id}"
    assert lf.flows.flow(flow.id).state == "disabled"
    shown = page(session, f"/console/flows/{flow.id}")
    assert by_id(shown, "flow-state") == "disabled"
    assert 'id="enable"' in shown
    assert 'id="run-now"' not in shown and 'id="disable"' not in shown
    assert flow_row(page(session, "/console/flows", {"state": "disabled"}), flow.id)
    assert not flow_row(page(session, "/console/flows", {"state": "enabled"}), flow.id)
    refused = session.post(f"/console/flows/{flow.id}/run")  # the engine's own refusal
    assert error_code(assert_console_page(refused, 400)) == "LF-1388"
    assert lf.runs.list(flow.id) == []

    answer = session.post(f"/console/flows/{flow.id}/enable")
    assert answer.status_code == 303
    assert lf.flows.flow(flow.id).state == "enabled"
    shown = page(session, f"/console/flows/{flow.id}")
    assert 'id="run-now"' in shown and 'id="disable"' in shown and 'id="enable"' not in shown
    missing = session.post("/console/flows/no-such-flow/disable")
    assert error_code(assert_console_page(missing, 404)) == "LF-1104"


def test_the_runs_of_a_deleted_flow_are_still_shown(
    server: Server, session: Console, folders: Path
) -> None:
    lf = server.lf
    chain = demo_chain(lf, folders / "gone", name="gone")
    lf.delete_flow(chain.flow_id)
    shown = page(session, f"/console/runs/{chain.run_id}")
    assert "its flow was deleted" in shown
    assert by_id(shown, "run-outcome") == "partial"
    (link,) = re.findall(rf'href="(/console/runs/{chain.run_id}/failed/[^"]+)" download', shown)
    assert len([line for line in session.get(link).text.splitlines() if line]) == 2
    assert session.get(f"/console/flows/{chain.flow_id}").status_code == 404
    assert flow_row(page(session, "/console/flows"), chain.flow_id) is None
    refused = session.post(f"/console/flows/{chain.flow_id}/run")
    assert error_code(assert_console_page(refused, 404)) == "LF-1104"
    assert [run.id for run in lf.runs.list(chain.flow_id)] == [chain.run_id]


def test_actions_keep_to_the_servers_local_roots(server: Server, session: Console) -> None:
    """A flow made with the Python API over a folder outside ``LAKEFEED_LOCAL_ROOTS``: the
    console, like REST, will not run it (nor retry its runs)."""
    lf = server.lf
    with tempfile.TemporaryDirectory() as outside:
        flow_id, failed = failed_chain(lf, Path(outside) / "landing", "outside")
        for path in (f"/console/flows/{flow_id}/run", f"/console/runs/{failed}/retry"):
            refused = session.post(path)
            assert error_code(assert_console_page(refused, 403)) == "LF-2120", path
        assert [run.id for run in lf.runs.list(flow_id)] == [failed]


# -- sandboxes -----------------------------------------------------------------------------------


def test_another_sandboxs_flows_and_runs_are_not_found(
    server: Server, session: Console, demo: Demo, dev_demo: Demo
) -> None:
    dev = server.lf.scoped(Scope(LOCAL_ORG, "dev"))
    assert flow_row(page(session, "/console/flows"), dev_demo.flow_id) is None
    for path in (
        f"/console/flows/{dev_demo.flow_id}",
        f"/console/runs/{dev_demo.run_id}",
        f"/console/runs/{dev_demo.run_id}/failed/failed-0.jsonl",
    ):
        assert session.get(path).status_code == 404, path
    for path in (
        f"/console/flows/{dev_demo.flow_id}/disable",
        f"/console/flows/{dev_demo.flow_id}/enable",
        f"/console/flows/{dev_demo.flow_id}/run",
        f"/console/runs/{dev_demo.run_id}/retry",
    ):
        answer = session.post(path)
        assert error_code(assert_console_page(answer, 404)) == "LF-1104", path
    assert dev.flows.flow(dev_demo.flow_id).state == "enabled"
    assert [run.id for run in dev.runs.list(dev_demo.flow_id)] == [dev_demo.run_id]

    # Signed in to dev, the other way round.
    in_dev = watched_sign_in(server, sandbox="dev").console
    assert flow_row(page(in_dev, "/console/flows"), dev_demo.flow_id) is not None
    assert flow_row(page(in_dev, "/console/flows"), demo.flow_id) is None
    assert page(in_dev, f"/console/runs/{dev_demo.run_id}").count(dev_demo.run_id) >= 1
    assert in_dev.get(f"/console/flows/{demo.flow_id}").status_code == 404
    assert in_dev.post(f"/console/flows/{demo.flow_id}/disable").status_code == 404
    assert server.lf.flows.flow(demo.flow_id).state == "enabled"
    in_dev.http.close()

    kept_to_prod = watched_sign_in(server, sandboxes=("prod",)).console
    switch = kept_to_prod.post("/console/sandbox", {"sandbox": "dev"})
    assert error_code(assert_console_page(switch, 403)) == "LF-2120"
    kept_to_prod.http.close()
