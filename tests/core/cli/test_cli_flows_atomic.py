"""``lakefeed flows update`` as one change (etag checked as it is stored, all or nothing, the
path checked as listing checks it), ``flows create`` checking its path the same way,
``flows delete --with-connections``, ``--if-match`` passed to the engine by every command,
and ``interval: 0`` with ``once`` kept as sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.errors import PreconditionFailed

RunCli = Callable[..., Result]
START = "4102444800"  # 2100-01-01: a start in the future, so the schedule may still change


def create_flow(run_cli: RunCli, name: str, *extra: str) -> str:
    created = run_cli(
        "flows", "create", "--name", name, "--connection", "raw", "--path", "in",
        "--dataset", "profiles", *extra, "--json",
    )  # fmt: skip
    return str(json.loads(created.stdout)["id"])


@pytest.fixture
def flow_id(landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> str:
    """A daily flow ``daily`` from ``raw`` into the dataset ``profiles``."""
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    return create_flow(
        run_cli, "daily", "--frequency", "day", "--interval", "1", "--start-time", START
    )


def source_path(lf: Lakefeed, flow_id: str) -> str:
    return lf.flows.source_connection(lf.flows.flow(flow_id).source_connection_id).path


# -- 1. flows update: one change --------------------------------------------------------------


def test_repointing_the_source_gives_the_flow_a_new_etag(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    old = lf.flows.flow(flow_id).etag
    run_cli("flows", "update", "daily", "--path", "other", "--if-match", old)
    assert source_path(lf, flow_id) == "other"
    assert lf.flows.flow(flow_id).etag != old
    # A second writer still holding the old etag is refused, and changes nothing.
    stale = run_cli("flows", "update", "daily", "--path", "third", "--if-match", old, code=1)
    assert "LF-" in stale.stderr and "etag" in stale.stderr
    assert source_path(lf, flow_id) == "other"


def test_a_failing_part_leaves_the_whole_update_unapplied(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    before = lf.flows.flow(flow_id)
    bad = run_cli(
        "flows", "update", "daily", "--name", "renamed", "--disable",
        "--path", "2026-*/x/*.parquet", code=1,
    )  # fmt: skip
    assert "LF-1001" in bad.stderr and "last path component" in bad.stderr
    after = lf.flows.flow(flow_id)
    assert (after.name, after.state, after.etag) == (before.name, before.state, before.etag)
    assert source_path(lf, flow_id) == "in"


def test_the_etag_is_checked_when_the_change_is_stored(flow_id: str, lf: Lakefeed) -> None:
    """Another writer between the read and the write: the store refuses, nothing applied."""
    old = lf.flows.flow(flow_id).etag
    lf.flows.update_flow(flow_id, description="someone else")  # after the caller read `old`
    with pytest.raises(PreconditionFailed):
        lf.flows.change_flow(flow_id, name="mine", path="other", state="disabled", etag=old)
    flow = lf.flows.flow(flow_id)
    assert (flow.name, flow.state, flow.description) == ("daily", "enabled", "someone else")
    assert source_path(lf, flow_id) == "in"


def test_update_changes_name_state_and_path_together(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    answer = run_cli(
        "flows", "update", "daily", "--name", "nightly", "--disable", "--path", "new/*.parquet",
        "--recursive", "--json",
    )  # fmt: skip
    flow = lf.flows.flow(flow_id)
    assert json.loads(answer.stdout) == {"id": flow_id, "etag": flow.etag}
    assert (flow.name, flow.state) == ("nightly", "disabled")
    source = lf.flows.source_connection(flow.source_connection_id)
    assert (source.path, source.recursive) == ("new/*.parquet", True)


def test_create_refuses_a_glob_before_the_last_component(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    sources = len(lf.flows.source_connections())
    bad = run_cli(
        "flows", "create", "--name", "globbed", "--connection", "raw",
        "--path", "2026-*/x/*.parquet", "--dataset", "profiles", code=1,
    )  # fmt: skip
    assert "LF-1001" in bad.stderr and "last path component" in bad.stderr
    assert len(lf.flows.source_connections()) == sources
    assert [f.name for f in lf.flows.list_flows()] == ["daily"]


# -- 2. one If-Match comparison ------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_if_match_is_no_condition(
    flow_id: str, lf: Lakefeed, run_cli: RunCli, blank: str
) -> None:
    """As REST treats an empty If-Match header: missing, not a mismatch."""
    run_cli("flows", "update", "daily", "--description", "d", "--if-match", blank)
    assert lf.flows.flow(flow_id).description == "d"
    run_cli("datasets", "update", "profiles", "--description", "d", "--if-match", blank)
    assert lf.datasets.get("profiles").description == "d"


def test_every_delete_takes_if_match(
    flow_id: str, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    run_cli("flows", "delete", "daily", "--if-match", '"stale"', code=1)
    assert lf.flows.flow(flow_id)
    run_cli("flows", "delete", "daily", "--if-match", lf.flows.flow(flow_id).etag)
    dataset = lf.datasets.get("profiles")
    refused = run_cli("datasets", "delete", "profiles", "--if-match", '"stale"', code=1)
    assert "etag" in refused.stderr and lf.datasets.get("profiles")
    run_cli("datasets", "delete", "profiles", "--if-match", dataset.etag)
    assert not lf.datasets.list()
    schema_id = profile_schema["$id"]
    refused = run_cli("schemas", "delete", schema_id, "--if-match", "stale", code=1)
    assert "etag" in refused.stderr and lf.schemas.get(schema_id)
    etag = lf.schemas.get(schema_id)["meta:registryMetadata"]["eTag"]
    run_cli("schemas", "delete", schema_id, "--if-match", etag)


def test_engine_methods_check_if_match(flow_id: str, lf: Lakefeed) -> None:
    with pytest.raises(PreconditionFailed):
        lf.update_flow(flow_id, description="x", if_match='"stale"')
    with pytest.raises(PreconditionFailed):
        lf.update_dataset("profiles", description="x", if_match='"stale"')
    with pytest.raises(PreconditionFailed):
        lf.delete_connection("raw", if_match='"stale"')
    assert lf.flows.flow(flow_id).description == ""
    assert lf.update_flow(flow_id, description="y", if_match="*").description == "y"


# -- 3. flows delete --with-connections ------------------------------------------------------


def test_delete_with_connections_removes_the_flows_own_connections(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow = lf.flows.flow(flow_id)
    out = run_cli("flows", "delete", "daily", "--with-connections")
    assert "Deleted source connection daily-source" in out.stdout
    assert "Deleted target connection daily-target" in out.stdout
    assert lf.flows.source_connections([flow.source_connection_id]) == []
    assert lf.flows.target_connections([flow.target_connection_id]) == []


def test_delete_without_the_flag_keeps_them(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    flow = lf.flows.flow(flow_id)
    answer = json.loads(run_cli("flows", "delete", "daily", "--json").stdout)
    assert answer == {"deleted": flow_id}
    assert len(lf.flows.source_connections([flow.source_connection_id])) == 1


def test_delete_with_connections_keeps_those_other_flows_use(
    flow_id: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    flow = lf.flows.flow(flow_id)
    other = lf.flows.create_flow(
        name="sharing",
        source_connection_ids=[flow.source_connection_id],
        target_connection_ids=[flow.target_connection_id],
    )
    answer = json.loads(run_cli("flows", "delete", "daily", "--with-connections", "--json").stdout)
    assert answer == {"deleted": flow_id, "deletedConnections": []}
    assert lf.flows.flow(other.id)
    assert len(lf.flows.source_connections([flow.source_connection_id])) == 1
    out = run_cli("flows", "delete", "sharing", "--with-connections")
    assert "daily-source" in out.stdout and "daily-target" in out.stdout
    assert lf.flows.source_connections() == [] and lf.flows.target_connections() == []


# -- 4. interval 0 with once ----------------------------------------------------------------


def test_interval_zero_with_once_is_kept(flow_id: str, lf: Lakefeed, run_cli: RunCli) -> None:
    once = create_flow(run_cli, "one-off", "--frequency", "once", "--interval", "0")
    schedule = lf.flows.flow(once).to_dict()["scheduleParams"]
    assert schedule["frequency"] == "once" and schedule["interval"] == "0"
    assert lf.flows.flow(once).schedule.period is None
