"""``lakefeed datasets``: create, list, show, preview and batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.testing.profiles import profile_table

RunCli = Callable[..., Result]


def test_dataset_lifecycle(
    landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    created = json.loads(
        run_cli(
            "datasets", "create", "profiles", "--schema", profile_schema["meta:altId"],
            "--description", "Loyalty members", "--json",
        ).stdout
    )  # fmt: skip
    # Stored by $id even when given by altId, so ingest recognises the schema later.
    assert created["schemaRef"]["id"] == profile_schema["$id"]
    assert created["description"] == "Loyalty members"
    taken = run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"], code=1)
    assert "LF-1103" in taken.stderr

    empty = json.loads(run_cli("datasets", "show", "profiles", "--json").stdout)
    assert empty["rowCount"] == 0 and empty["currentSnapshotId"] is None
    assert run_cli("datasets", "preview", "profiles").exit_code == 0

    pq.write_table(profile_table(12), landing / "p.parquet")
    run_cli("ingest", "raw", "p.parquet", "--dataset", "profiles")

    shown = json.loads(run_cli("datasets", "show", created["id"], "--json").stdout)
    table = lf.datasets.table(lf.datasets.get("profiles"))
    assert shown["table"] == created["table"] and shown["rowCount"] == 12
    assert shown["metadataLocation"] == table.metadata_location and shown["batchCount"] == 1
    human = run_cli("datasets", "show", "profiles").stdout
    assert created["table"] in human and "Loyalty Profiles" in human

    listed = json.loads(run_cli("datasets", "list", "--json").stdout)
    assert [d["name"] for d in listed["items"]] == ["profiles"]
    assert "profiles" in run_cli("datasets", "list").stdout

    preview = json.loads(
        run_cli("datasets", "preview", "profiles", "--limit", "3", "--json").stdout
    )
    assert [r["_id"] for r in preview["data"]] == ["profile-0", "profile-1", "profile-2"]
    row = preview["data"][0]
    assert row["identityMap"]["Email"][0]["authenticatedState"] == "authenticated"
    assert row["_lakefeed"]["source_file"].endswith("p.parquet")
    assert {c["name"] for c in preview["schema"]["columns"]} >= {"_id", "person", "_lakefeed"}
    rows = run_cli("datasets", "preview", "profiles", "-n", "2").stdout
    assert "profile-1" in rows and "profile-2" not in rows
    assert "L00000000" in rows  # a nested leaf gets its own column
    assert "mobilePhone" not in rows  # fields empty in every shown row are left out
    picked = run_cli(
        "datasets", "preview", "profiles", "-n", "3", "-c", "personID,_local.loyalty.loyaltyId"
    ).stdout
    assert "_local.loyalty.loyaltyId" in picked and "L00000002" in picked
    assert "homeAddress" not in picked
    unknown = run_cli("datasets", "preview", "profiles", "-c", "nope.field", code=1)
    assert "LF-1001" in unknown.stderr and "nope.field" in unknown.stderr

    batches = json.loads(run_cli("datasets", "batches", "profiles", "--json").stdout)
    (batch,) = batches["items"]
    assert batch["status"] == "success" and batch["metrics"]["outputRecordCount"] == 12
    human_batches = run_cli("datasets", "batches", "profiles").stdout
    assert batch["id"] in human_batches and "success" in human_batches
