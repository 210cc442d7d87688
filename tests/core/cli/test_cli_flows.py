"""``lakefeed flows`` and ``lakefeed runs``: build a flow by hand, run it, read its runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.testing.profiles import profile_table

RunCli = Callable[..., Result]


def test_flows_create_then_run_then_runs(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    (landing / "in").mkdir()
    pq.write_table(profile_table(30, bad={2: "loyalty_id"}), landing / "in" / "a.parquet")
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["meta:altId"])
    created = json.loads(
        run_cli(
            "flows", "create", "--name", "daily", "--connection", "raw", "--path", "in",
            "--dataset", "profiles", "--partial-ingestion-percent", "10",
            "--frequency", "day", "--interval", "1", "--start-time", "4102444800", "--json",
        ).stdout
    )  # fmt: skip
    assert created["name"] == "daily"
    assert created["scheduleParams"] == {
        "startTime": "4102444800", "frequency": "day", "interval": "1", "backfill": "true",
    }  # fmt: skip
    assert created["options"] == {"partialIngestionPercent": 10.0}
    source = lf.flows.source_connection(created["sourceConnectionIds"][0])
    assert source.path == "in" and source.base_connection_id == lf.connection("raw").id
    target = lf.flows.target_connection(created["targetConnectionIds"][0])
    assert target.dataset_id == lf.datasets.get("profiles").id

    shown = run_cli("flows", "show", "daily").stdout
    assert "every 1 day" in shown and "profiles" in shown and "raw" in shown
    listed = json.loads(run_cli("flows", "list", "--json").stdout)
    assert listed["count"] == 1 and listed["items"][0]["id"] == created["id"]
    assert (
        json.loads(run_cli("flows", "show", created["id"], "--json").stdout)["items"][0]["name"]
        == "daily"
    )

    summary = run_cli("flows", "run", "daily", code=3).stdout  # committed, one row rejected
    assert "partial" in summary and "INGEST-1212-400" in summary
    assert "1 of 30 rows were rejected" in summary
    assert "lakefeed batches errors" in summary
    run = lf.runs.list(created["id"])[0]
    assert run.metrics["recordSummary"]["outputRecordCount"] == 29

    again = json.loads(run_cli("flows", "run", "daily", "--json").stdout)
    assert again["metrics"]["fileSummary"]["skippedFileCount"] == 1

    runs = json.loads(run_cli("runs", "list", "--flow", "daily", "--json").stdout)
    assert runs["count"] == 2 and {r["flowId"] for r in runs["items"]} == {created["id"]}
    table = run_cli("runs", "list").stdout
    assert run.id in table and "daily" in table
    shown_run = run_cli("runs", "show", run.id).stdout
    assert "daily" in shown_run and str(run.batch_id) in shown_run and "30" in shown_run
    as_json = json.loads(run_cli("runs", "show", run.id, "--json").stdout)
    assert as_json["items"][0]["metrics"]["recordSummary"]["failedRecordCount"] == 1


def test_flows_run_exits_1_and_names_the_file_errors(
    landing: Path, run_cli: RunCli, profile_schema: dict
) -> None:
    (landing / "broken.parquet").write_bytes(b"not parquet")
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    run_cli(
        "flows", "create", "--name", "f", "--connection", "raw", "--path", ".",
        "--dataset", "profiles",
    )  # fmt: skip
    failed = run_cli("flows", "run", "f", code=1)
    assert "failed" in failed.stdout and "LF-2415" in failed.stdout
    assert "broken.parquet" in failed.stdout
    retried = run_cli("flows", "run", "f", "--retry-failed", "--json", code=1)
    assert json.loads(retried.stdout)["metrics"]["fileSummary"]["failedFileCount"] == 1


def test_flows_create_checks_everything_before_storing(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    base = ("flows", "create", "--connection", "raw", "--path", ".", "--dataset", "profiles")
    bad_schedule = run_cli(*base, "--name", "x", "--interval", "5", code=1)
    assert "LF-1361" in bad_schedule.stderr and "frequency 'once'" in bad_schedule.stderr
    bad_percent = run_cli(*base, "--name", "x", "--partial-ingestion-percent", "0", code=1)
    assert "LF-1001" in bad_percent.stderr
    assert "LF-1104" in run_cli(*base[:-1], "nope", "--name", "x", code=1).stderr
    assert lf.flows.source_connections() == []  # nothing half-created
    run_cli(*base, "--name", "x")
    taken = run_cli(*base, "--name", "x", code=1)
    assert "LF-1103" in taken.stderr
    assert len(lf.flows.list_flows()) == 1
