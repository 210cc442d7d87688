"""``lakefeed datasets delete``: the dataset and its Iceberg table go; refused while a flow
writes to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.errors import ResourceNotFound

RunCli = Callable[..., Result]


def test_delete_dataset_and_its_table(lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    dataset = lf.datasets.get("profiles")
    identifier = dataset.table_identifier
    assert lf.iceberg_catalog().table_exists(identifier)
    out = run_cli("datasets", "delete", "profiles")
    assert f"Deleted dataset profiles ({dataset.id})" in out.stdout
    assert not lf.iceberg_catalog().table_exists(identifier)
    try:
        lf.datasets.get(dataset.id)
    except ResourceNotFound:
        pass
    else:
        raise AssertionError("the dataset is still there")
    gone = run_cli("datasets", "delete", dataset.id, code=1)
    assert dataset.id in gone.stderr


def test_delete_json_and_refused_while_a_flow_writes(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    dataset_id = lf.datasets.get("profiles").id
    run_cli(
        "flows", "create", "--name", "f", "--connection", "raw", "--path", ".",
        "--dataset", "profiles",
    )  # fmt: skip
    refused = run_cli("datasets", "delete", "profiles", code=1)
    assert "'f'" in refused.stderr  # names the flow that writes to it
    assert lf.datasets.get(dataset_id).name == "profiles"
    run_cli("flows", "delete", "f")
    answer = json.loads(run_cli("datasets", "delete", "profiles", "--json").stdout)
    assert answer == {"deleted": dataset_id}


def test_update_name_description_and_tags(
    lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    before = lf.datasets.get("profiles")
    out = run_cli(
        "datasets", "update", "profiles", "--name", "members", "--description", "loyalty",
        "--tag", "team=growth,ops", "--tag", "tier=gold",
    )  # fmt: skip
    assert f"Updated dataset members ({before.id})" in out.stdout
    after = lf.datasets.get(before.id)
    assert (after.name, after.description) == ("members", "loyalty")
    assert after.tags == {"team": ["growth", "ops"], "tier": ["gold"]}
    assert after.schema_id == before.schema_id and after.etag != before.etag
    shown = json.loads(run_cli("datasets", "update", "members", "--tag", "tier=", "--json").stdout)
    assert shown["tags"] == {"team": ["growth", "ops"]} and shown["id"] == before.id


def test_update_if_match_and_refusals(lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    run_cli("datasets", "create", "other", "--schema", profile_schema["$id"])
    stale = lf.datasets.get("profiles").etag
    run_cli("datasets", "update", "profiles", "--description", "one", "--if-match", stale)
    refused = run_cli(
        "datasets", "update", "profiles", "--description", "two", "--if-match", stale, code=1
    )
    assert "LF-1404" in refused.stderr and "has changed" in refused.stderr
    taken = run_cli("datasets", "update", "profiles", "--name", "other", code=1)
    assert "LF-1103" in taken.stderr
    bad_tag = run_cli("datasets", "update", "profiles", "--tag", "team", code=1)
    assert "NAME=VALUE" in bad_tag.stderr
    nothing = run_cli("datasets", "update", "profiles", code=1)
    assert "Nothing to change" in nothing.stderr
    assert lf.datasets.get("profiles").description == "one"
