"""``lakefeed flows update`` (name, description, schedule, options, state, ``--if-match``) and
``lakefeed flows delete``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]
START = "4102444800"  # 2100-01-01: a start in the future, so the schedule may still change


@pytest.fixture
def flow_id(landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> str:
    """A daily flow ``daily`` from ``raw`` into the dataset ``profiles``."""
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    created = run_cli(
        "flows", "create", "--name", "daily", "--connection", "raw", "--path", "in",
        "--dataset", "profiles", "--frequency", "day", "--interval", "1",
        "--start-time", START, "--json",
    )  # fmt: skip
    return str(json.loads(created.stdout)["id"])


def test_update_name_description_schedule_and_options(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    before = lf.flows.flow(flow_id)
    out = run_cli(
        "flows", "update", "daily", "--name", "hourly", "--description", "every two hours",
        "--frequency", "hour", "--interval", "2", "--no-backfill",
        "--partial-ingestion-percent", "5",
    )  # fmt: skip
    assert "Updated flow hourly" in out.stdout and "every 2 hours" in out.stdout
    flow = lf.flows.flow(flow_id).to_dict()
    assert flow["name"] == "hourly" and flow["description"] == "every two hours"
    assert {k: flow["scheduleParams"][k] for k in ("startTime", "frequency", "interval")} == {
        "startTime": START,
        "frequency": "hour",
        "interval": "2",
    }
    assert flow["scheduleParams"]["backfill"] == "false"
    assert flow["options"]["partialIngestionPercent"] == 5.0
    assert flow["etag"] != before.etag
    answer = json.loads(
        run_cli("flows", "update", "hourly", "--error-diagnostics", "--json").stdout
    )
    assert answer == {"id": flow_id, "etag": lf.flows.flow(flow_id).etag}
    assert lf.flows.flow(flow_id).options["errorDiagnosticsEnabled"] is True


def test_update_to_once_drops_interval_and_backfill(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    run_cli("flows", "update", "daily", "--frequency", "once")
    schedule = lf.flows.flow(flow_id).to_dict()["scheduleParams"]
    assert schedule["frequency"] == "once" and "interval" not in schedule


def test_update_state(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    run_cli("flows", "update", "daily", "--disable")
    assert lf.flows.flow(flow_id).state == "disabled"
    run_cli("flows", "update", "daily", "--enable", "--description", "back on")
    flow = lf.flows.flow(flow_id)
    assert (flow.state, flow.description) == ("enabled", "back on")


def test_update_refuses_a_bad_schedule_and_changes_nothing(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    before = lf.flows.flow(flow_id).etag
    bad = run_cli("flows", "update", "daily", "--frequency", "minute", "--interval", "5", code=1)
    assert "interval" in bad.stderr and "LF-" in bad.stderr
    past = run_cli("flows", "update", "daily", "--start-time", "2001-01-01T00:00:00Z", code=1)
    assert "past" in past.stderr
    nothing = run_cli("flows", "update", "daily", "--enable", code=1)  # already enabled
    assert "Nothing to change" in nothing.stderr
    missing = run_cli("flows", "update", "nope", "--name", "x", code=1)
    assert "nope" in missing.stderr
    assert lf.flows.flow(flow_id).etag == before


def test_if_match(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    stale = lf.flows.flow(flow_id).etag
    run_cli("flows", "update", "daily", "--description", "one", "--if-match", stale.strip('"'))
    refused = run_cli(
        "flows", "update", "daily", "--description", "two", "--if-match", stale, code=1
    )
    assert "LF-1404" in refused.stderr and "has changed" in refused.stderr
    assert lf.flows.flow(flow_id).description == "one"
    state_only = run_cli("flows", "update", "daily", "--disable", "--if-match", stale, code=1)
    assert "LF-1404" in state_only.stderr and lf.flows.flow(flow_id).state == "enabled"
    current = lf.flows.flow(flow_id).etag
    run_cli("flows", "update", "daily", "--disable", "--if-match", current)
    assert lf.flows.flow(flow_id).state == "disabled"


def test_delete(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    out = run_cli("flows", "delete", "daily")
    assert f"Deleted flow daily ({flow_id})" in out.stdout
    assert lf.flows.list_flows() == []
    gone = run_cli("flows", "delete", flow_id, code=1)
    assert flow_id in gone.stderr


def test_delete_json_and_refused_while_running(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    handle = lf.start_run(flow_id)  # recorded in progress, not executed
    busy = run_cli("flows", "delete", "daily", code=1)
    assert "run in progress" in busy.stderr
    handle.execute()
    assert json.loads(run_cli("flows", "delete", "daily", "--json").stdout) == {"deleted": flow_id}


def test_update_path_and_recursive(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    run_cli("flows", "update", "daily", "--path", "exports/2026", "--recursive")
    source = lf.flows.source_connection(lf.flows.flow(flow_id).source_connection_ids[0])
    assert (source.path, source.recursive) == ("exports/2026", True)
    shown = run_cli("flows", "show", "daily").stdout
    assert "exports/2026" in shown
    empty = run_cli("flows", "update", "daily", "--path", " ", code=1)
    assert "--path is empty" in empty.stderr


def test_update_path_refused_for_a_shared_source(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow = lf.flows.flow(flow_id)
    lf.flows.create_flow(
        name="twin",
        source_connection_ids=list(flow.source_connection_ids),
        target_connection_ids=list(flow.target_connection_ids),
    )
    refused = run_cli("flows", "update", "daily", "--path", "elsewhere", code=1)
    assert "'twin'" in refused.stderr and "re-point" in refused.stderr
    source = lf.flows.source_connection(flow.source_connection_ids[0])
    assert source.path == "in"


def test_delete_if_match(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    stale = lf.flows.flow(flow_id).etag
    run_cli("flows", "update", "daily", "--description", "changed")
    refused = run_cli("flows", "delete", "daily", "--if-match", stale, code=1)
    assert "LF-1404" in refused.stderr
    assert lf.flows.flow(flow_id).name == "daily"
    run_cli("flows", "delete", "daily", "--if-match", lf.flows.flow(flow_id).etag)
    assert lf.flows.list_flows() == []
