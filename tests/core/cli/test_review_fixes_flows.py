"""Review fixes: ``flows update`` sends a schedule only when one is given, merged over the
stored ``scheduleParams`` and checked as on create; ``flows create|update --path`` checked
through the connection as listing checks it; ``ingest`` of a glob that matches no file is
``NoFilesMatch`` before anything is made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.errors import NoFilesMatch
from lakefeed.testing.profiles import profile_table

RunCli = Callable[..., Result]
START = "4102444800"  # 2100-01-01


@pytest.fixture
def profiles(landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> str:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    return "profiles"


def create_flow(run_cli: RunCli, name: str, *extra: str, path: str = "in") -> str:
    created = run_cli(
        "flows", "create", "--name", name, "--connection", "raw", "--path", path,
        "--dataset", "profiles", *extra, "--json",
    )  # fmt: skip
    return str(json.loads(created.stdout)["id"])


def stored_schedule(lf: Lakefeed, flow_id: str) -> dict:
    return dict(lf.flows.flow(flow_id).to_dict()["scheduleParams"])


# -- 1. flows update: the schedule ------------------------------------------------------------


def test_interval_on_a_once_flow_is_refused_as_on_create(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow_id = create_flow(run_cli, "one-off", "--start-time", START)
    before = lf.flows.flow(flow_id).etag
    refused = run_cli("flows", "update", "one-off", "--interval", "5", code=1)
    assert "LF-1361" in refused.stderr
    made = run_cli(
        "flows", "create", "--name", "other", "--connection", "raw", "--path", "in",
        "--dataset", "profiles", "--interval", "5", code=1,
    )  # fmt: skip
    assert "LF-1361" in made.stderr
    assert lf.flows.flow(flow_id).etag == before


def test_backfill_on_a_once_flow_is_refused_as_on_create(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    create_flow(run_cli, "one-off", "--start-time", START)
    refused = run_cli("flows", "update", "one-off", "--no-backfill", code=1)
    made = run_cli(
        "flows", "create", "--name", "other", "--connection", "raw", "--path", "in",
        "--dataset", "profiles", "--no-backfill", code=1,
    )  # fmt: skip
    code = made.stderr.split("LF-")[1][:4]
    assert f"LF-{code}" in refused.stderr


def test_an_update_without_schedule_options_keeps_the_stored_schedule(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow_id = create_flow(run_cli, "one-off", "--frequency", "once", "--interval", "0")
    before = stored_schedule(lf, flow_id)
    assert before["interval"] == "0"
    run_cli("flows", "update", "one-off", "--description", "x")
    assert stored_schedule(lf, flow_id) == before
    assert lf.flows.flow(flow_id).description == "x"


def test_fields_lakefeed_does_not_use_are_kept(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow_id = create_flow(run_cli, "daily", "--frequency", "day", "--interval", "1")
    flow = lf.flows.flow(flow_id)
    schedule = {**flow.to_dict()["scheduleParams"], "timezone": "UTC"}
    lf.flows.update_flow(flow_id, schedule=schedule)
    run_cli("flows", "update", "daily", "--interval", "2", "--start-time", START)
    after = stored_schedule(lf, flow_id)
    assert after["timezone"] == "UTC" and str(after["interval"]) == "2"
    run_cli("flows", "update", "daily", "--description", "x")
    assert stored_schedule(lf, flow_id) == after


def test_becoming_once_drops_the_old_interval(profiles: str, lf: Lakefeed, run_cli: RunCli) -> None:
    flow_id = create_flow(
        run_cli, "daily", "--frequency", "day", "--interval", "1", "--start-time", START
    )
    run_cli("flows", "update", "daily", "--frequency", "once")
    after = stored_schedule(lf, flow_id)
    assert after["frequency"] == "once" and "interval" not in after


# -- 2. flows create|update --path: checked through the connection ---------------------------


def test_create_refuses_a_path_out_of_the_root(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    listed = run_cli("ls", "raw", "../../../etc", code=1)
    assert "LF-1001" in listed.stderr
    refused = run_cli(
        "flows", "create", "--name", "escape", "--connection", "raw", "--path", "../..",
        "--dataset", "profiles", code=1,
    )  # fmt: skip
    assert "LF-1001" in refused.stderr
    assert lf.flows.list_flows() == []
    assert not any(s.name.startswith("escape") for s in lf.flows.source_connections())


def test_update_refuses_a_path_out_of_the_root(
    profiles: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow_id = create_flow(run_cli, "daily")
    before = lf.flows.flow(flow_id).etag
    refused = run_cli("flows", "update", "daily", "--path", "../../../etc", code=1)
    assert "LF-1001" in refused.stderr
    flow = lf.flows.flow(flow_id)
    assert flow.etag == before
    assert lf.flows.source_connection(flow.source_connection_id).path == "in"


# -- 3. ingest: a glob that matches nothing ---------------------------------------------------


def test_ingest_of_a_glob_matching_nothing_is_an_error_and_makes_nothing(
    profiles: str, landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(5), landing / "p1.parquet")
    refused = run_cli("ingest", "raw", "nomatch*", "--dataset", "profiles", code=1)
    assert "LF-2405" in refused.stderr
    new = run_cli(
        "ingest", "raw", "nomatch*", "--dataset", "d1", "--schema", profile_schema["$id"], code=1
    )
    assert "LF-2405" in new.stderr
    with pytest.raises(NoFilesMatch):
        lf.ingest("raw", "nomatch*", dataset="profiles")
    assert lf.flows.list_flows() == []
    assert [d.name for d in lf.datasets.list()] == ["profiles"]


def test_ingest_of_a_glob_whose_files_are_all_ingested_is_nothing_new(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    pq.write_table(profile_table(5), landing / "p1.parquet")
    run_cli("ingest", "raw", "p*.parquet", "--dataset", "d1", "--infer")
    again = json.loads(run_cli("ingest", "raw", "p*.parquet", "--dataset", "d1", "--json").stdout)
    assert again["metrics"]["fileSummary"]["inputFileCount"] == 0
    assert again["metrics"]["fileSummary"]["skippedFileCount"] == 1
