"""``lakefeed schemas``: create from files or stdin, list both containers, show, infer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.testing.profiles import PROFILE_CLASS, loyalty_field_group

RunCli = Callable[..., Result]


def test_list_global_holds_the_profile_class(run_cli: RunCli) -> None:
    listed = json.loads(run_cli("schemas", "list", "--global", "--json").stdout)
    assert "_xdm.context.profile" in {d["meta:altId"] for d in listed["items"]}
    assert listed["count"] == len(listed["items"])
    table = run_cli("schemas", "list", "--global", "--kind", "classes").stdout
    assert "_xdm.context.profile" in table and "XDM Individual Profile" in table
    wrong = run_cli("schemas", "list", "--global", "--kind", "schemas", code=1)
    assert "LF-1001" in wrong.stderr


def test_create_from_a_file_and_from_stdin_then_show(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    group_file = tmp_path / "group.json"
    group_file.write_text(json.dumps(loyalty_field_group(lf.schemas.tenant_id)))
    created_group = run_cli("schemas", "create", str(group_file), "--kind", "fieldgroups")
    assert "Created field group Loyalty Details" in created_group.stdout
    (group,) = lf.schemas.list("fieldgroups")
    document = {
        "title": "Members",
        "type": "object",
        "allOf": [{"$ref": "_xdm.context.profile"}, {"$ref": group["meta:altId"]}],
    }
    schema = json.loads(
        run_cli("schemas", "create", "-", "--json", input=json.dumps(document)).stdout
    )
    assert schema["$id"].startswith("https://ns.adobe.com/local/schemas/")
    assert schema["meta:class"] == PROFILE_CLASS
    assert (
        json.loads(run_cli("schemas", "create", "@-", "--json", input=json.dumps(document)).stdout)[
            "title"
        ]
        == "Members"
    )

    tenant = json.loads(run_cli("schemas", "list", "--kind", "schemas", "--json").stdout)
    assert [d["title"] for d in tenant["items"]] == ["Members", "Members"]
    raw = json.loads(run_cli("schemas", "show", schema["meta:altId"], "--json").stdout)
    assert raw["allOf"][0]["$ref"] == PROFILE_CLASS and "properties" not in raw
    full = json.loads(run_cli("schemas", "show", schema["$id"], "--full", "--json").stdout)
    assert "loyaltyId" in full["properties"]["_local"]["properties"]["loyalty"]["properties"]
    pretty = run_cli("schemas", "show", schema["$id"]).stdout
    assert json.loads(pretty)["title"] == "Members"  # highlighted only on a terminal


def test_bad_documents_are_clear_errors(tmp_path: Path, run_cli: RunCli) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": "x",}')
    out = run_cli("schemas", "create", str(broken), code=1)
    assert "LF-1202" in out.stderr and "line 1" in out.stderr
    missing = run_cli("schemas", "create", str(tmp_path / "nope.json"), code=1)
    assert "LF-1001" in missing.stderr and "Cannot read" in missing.stderr
    untyped = run_cli("schemas", "create", "-", input='{"title": "T", "allOf": []}', code=1)
    assert "type" in untyped.stderr and "LF-1202" in untyped.stderr
    assert "LF-1201" in run_cli("schemas", "show", "_local.schemas.nope", code=1).stderr


def test_infer_prints_fields_and_creates_the_schema(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    (landing / "day=1").mkdir()
    pq.write_table(
        pa.table(
            {
                "order_id": pa.array([1, 2], pa.int32()),
                "customer": pa.array([{"name": "a"}, {"name": "b"}]),
            }
        ),
        landing / "day=1" / "a.parquet",
    )
    pq.write_table(pa.table({"order_id": pa.array([3], pa.int64())}), landing / "b.parquet")
    (landing / "notes.parquet").write_bytes(b"nope")

    table = run_cli("schemas", "infer", "raw", ".", "--recursive")
    assert "order_id" in table.stdout and "long" in table.stdout  # widened across files
    assert "customer.name" in table.stdout
    assert "notes.parquet" in table.stderr and "LF-2415" in table.stderr
    assert lf.schemas.list("schemas") == []

    created = json.loads(
        run_cli(
            "schemas", "infer", "raw", ".", "-r", "--create", "--title", "Orders", "--json"
        ).stdout
    )
    assert created["properties"]["order_id"]["meta:xdmType"] == "long"
    assert [f["error"]["code"] for f in created["failures"]] == ["LF-2415"]
    assert created["schema"]["title"] == "Orders"
    assert lf.schemas.get(created["schema"]["$id"])["title"] == "Orders"
    human = run_cli("schemas", "infer", "raw", "b.parquet", "--create", "--title", "B").stdout
    assert "Created schema B: https://ns.adobe.com/local/schemas/" in human


def test_infer_refuses_files_with_the_lineage_column_before_creating_anything(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    pq.write_table(pa.table({"id": [1], "_lakefeed": ["x"]}), landing / "a.parquet")
    refused = run_cli("schemas", "infer", "raw", "a.parquet", "--create", code=1)
    assert "_lakefeed" in refused.stderr and "reserves" in refused.stderr
    assert lf.schemas.list("schemas") == []  # nothing registered that no dataset could use
