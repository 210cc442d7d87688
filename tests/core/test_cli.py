"""The CLI end to end in subprocesses: --json output, errors without tracebacks, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests_support import lakefeed

SECRET = "sup3r-s3cret-value-for-cli"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    pq.write_table(pa.table({"a": [1, 2, 3]}), root / "one.parquet")
    pq.write_table(pa.table({"a": [4]}), root / "sub" / "two.parquet")
    (root / "broken.parquet").write_bytes(b"nope")
    return root


def test_specs_json_lists_all_source_specs(tmp_path: Path) -> None:
    out = lakefeed(tmp_path, "specs", "--json")
    assert out.returncode == 0, out.stderr
    specs = {s["name"]: s for s in json.loads(out.stdout)["items"]}
    assert {"local-files", "amazon-s3", "azure-blob", "adls-gen2", "google-cloud", "sftp"} <= set(
        specs
    )
    assert specs["amazon-s3"]["id"] == "ecadc60c-7455-4d87-84dc-2a0e293d997b"
    assert specs["sftp"]["authSpec"][0]["spec"]["properties"]["password"]["format"] == "password"
    one = json.loads(lakefeed(tmp_path, "specs", "sftp", "--json").stdout)
    assert one["id"] == "b7bf2577-4520-42c9-bae9-cad01560f7bc"


def test_plugins_json(tmp_path: Path) -> None:
    out = json.loads(lakefeed(tmp_path, "plugins", "--json").stdout)
    by_name = {p["name"]: p for p in out["items"]}
    assert by_name["s3"]["hooks"] == ["register_source_types"]
    assert by_name["s3"]["version"] and by_name["memory"]["distribution"] == "lakefeed-memory"


def test_connection_lifecycle_never_prints_secrets(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    created = lakefeed(
        tmp_path,
        "connections",
        "create",
        "s3",
        "--spec",
        "amazon-s3",
        "-p",
        "s3AccessKey=AKIA",
        "-p",
        f"s3SecretKey=@{secret_file}",
        "-p",
        "serviceUrl=http://127.0.0.1:1",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    conn_id = json.loads(created.stdout)["id"]
    outputs = [created]
    for args in (
        ("connections", "list", "--json"),
        ("connections", "show", "s3", "--json"),
        ("connections", "list"),
        ("connections", "show", conn_id),
    ):
        result = lakefeed(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        outputs.append(result)
    shown = json.loads(outputs[2].stdout)["items"][0]
    assert shown["auth"]["params"]["s3SecretKey"] == "********"
    failed = lakefeed(tmp_path, "connections", "test", "s3")
    assert failed.returncode == 1
    assert "LF-2503" in failed.stderr and "Traceback" not in failed.stderr
    outputs.append(failed)
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    deleted = lakefeed(tmp_path, "connections", "delete", "s3", "--json")
    assert json.loads(deleted.stdout) == {"deleted": conn_id}
    assert json.loads(lakefeed(tmp_path, "connections", "list", "--json").stdout)["count"] == 0


def test_params_file_with_malformed_json_points_at_the_error(tmp_path: Path) -> None:
    out = lakefeed(
        tmp_path,
        "connections",
        "create",
        "x",
        "--spec",
        "local-files",
        "--params-file",
        "-",
        input='{"rootPath": "/tmp",}',
    )
    assert out.returncode == 1
    assert "not valid JSON" in out.stderr and "line 1" in out.stderr
    assert "Traceback" not in out.stderr


def test_ls_inspect_preview_json(tmp_path: Path, data: Path) -> None:
    assert (
        lakefeed(
            tmp_path,
            "connections",
            "create",
            "d",
            "--spec",
            "local-files",
            "-p",
            f"rootPath={data}",
        ).returncode
        == 0
    )
    listed = json.loads(lakefeed(tmp_path, "ls", "d", "-r", "--json").stdout)
    assert sorted(e["name"] for e in listed["items"]) == [
        "broken.parquet",
        "one.parquet",
        "two.parquet",
    ]
    assert json.loads(lakefeed(tmp_path, "ls", "d", "--json").stdout)["items"][0]["size"] == 4
    inspected = lakefeed(tmp_path, "inspect", "d", "-r", "--json")
    assert inspected.returncode == 1  # one file failed
    report = json.loads(inspected.stdout)
    assert report["totalRows"] == 4 and report["schemasAgree"] is True
    assert [f["error"]["code"] for f in report["failures"]] == ["LF-2415"]
    preview = json.loads(lakefeed(tmp_path, "preview", "d", "one.parquet", "--json").stdout)
    assert preview["data"] == [{"a": 1}, {"a": 2}, {"a": 3}]
    human = lakefeed(tmp_path, "inspect", "d", "*.parquet")
    assert "one.parquet" in human.stdout and "broken.parquet" in human.stdout


def test_unknown_connection_and_spec_are_clear_errors(tmp_path: Path) -> None:
    out = lakefeed(tmp_path, "ls", "nope", "/")
    assert out.returncode == 1 and "No connection 'nope'" in out.stderr
    out = lakefeed(tmp_path, "specs", "dropbox")
    assert out.returncode == 1 and "Unknown connection spec 'dropbox'" in out.stderr
    assert "Traceback" not in out.stderr


def test_dataset_base_connections_are_listed_and_refused_as_storage(tmp_path: Path) -> None:
    """A dataset (Data Lake) base connection, as created over REST: listed with its spec's
    label; test, ls, inspect and preview say it has no storage instead of failing on its spec."""
    from lakefeed import Lakefeed
    from lakefeed.specs import DATASET_TARGET_SPEC_ID

    lake = Lakefeed(home=tmp_path).connections.create_dataset_base_connection(name="lake")
    listed = lakefeed(tmp_path, "connections", "list")
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if "lake" in line]
    assert "Data Lake (dataset target)" in row and DATASET_TARGET_SPEC_ID not in row
    as_json = json.loads(lakefeed(tmp_path, "connections", "list", "--json").stdout)
    (item,) = as_json["items"]
    assert item["connectionSpec"]["id"] == DATASET_TARGET_SPEC_ID and "auth" not in item
    shown = lakefeed(tmp_path, "connections", "show", "lake")
    assert shown.returncode == 0 and "Data Lake (dataset target)" in shown.stdout
    assert json.loads(lakefeed(tmp_path, "connections", "show", lake.id, "--json").stdout) == {
        "items": [item]
    }
    for args in (
        ("connections", "test", "lake"),
        ("ls", "lake"),
        ("inspect", "lake", "."),
        ("preview", "lake", "x.parquet"),
    ):
        refused = lakefeed(tmp_path, *args)
        assert refused.returncode == 1, args
        assert (
            "LF-1001" in refused.stderr and "dataset (Data Lake) base connection" in refused.stderr
        )
        assert "LF-1413" not in refused.stderr and "Traceback" not in refused.stderr
    assert lakefeed(tmp_path, "connections", "delete", "lake").returncode == 0


def test_a_generic_storage_error_prints_its_cause_and_no_dangling_reference(
    tmp_path: Path,
) -> None:
    """LF-2000 is the storage error no rule recognises: the backend's own words must be in
    what the CLI prints, since nothing else is ("see the cause below" pointed at nothing)."""
    created = lakefeed(
        tmp_path, "connections", "create", "raw", "--spec", "amazon-s3",
        "-p", "s3AccessKey=AKIAEXAMPLE", "-p", "s3SecretKey=not-a-secret",
        "-p", "serviceUrl=http://127.0.0.1:9",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    # botocore refuses the bucket name itself, before any request: no rule knows that error.
    out = lakefeed(tmp_path, "ls", "raw", "bad!bucket/x")
    assert out.returncode == 1
    printed = " ".join(out.stderr.split())  # rich wraps long lines
    assert "LF-2000" in printed and "Invalid bucket name" in printed
    assert "below" not in printed and "Traceback" not in printed
