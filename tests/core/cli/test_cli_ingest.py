"""``lakefeed ingest`` end to end, and ``batches errors`` on what it rejected."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from ingestion_suite import corrupt_page
from lakefeed import Lakefeed
from lakefeed.testing.profiles import (
    PROFILE_CLASS,
    PROFILE_FIELD_GROUPS,
    create_profile_schema,
    loyalty_field_group,
    profile_table,
)
from tests_support import lakefeed

RunCli = Callable[..., Result]
RUN_KEYS = {"id", "flowId", "state", "metrics", "activities", "providerRefId"}


def profile_document(tmp_path: Path, run_cli: RunCli) -> Path:
    """A schema document on disk, whose tenant field group is created through the CLI."""
    group_file = tmp_path / "loyalty.json"
    group_file.write_text(json.dumps(loyalty_field_group("local")))
    group = json.loads(
        run_cli("schemas", "create", str(group_file), "--kind", "fieldgroups", "--json").stdout
    )
    document = {
        "title": "Loyalty Profiles",
        "type": "object",
        "allOf": [{"$ref": ref} for ref in (PROFILE_CLASS, *PROFILE_FIELD_GROUPS)]
        + [{"$ref": group["meta:altId"]}],
    }
    path = tmp_path / "profiles.schema.json"
    path.write_text(json.dumps(document))
    return path


def test_ingest_with_a_schema_document_then_only_new_files(
    tmp_path: Path, landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    document = profile_document(tmp_path, run_cli)
    pq.write_table(profile_table(20), landing / "p1.parquet")

    first = json.loads(
        run_cli(
            "ingest", "raw", ".", "--dataset", "profiles", "--schema", str(document), "--json"
        ).stdout
    )
    assert set(first) >= RUN_KEYS
    assert first["metrics"]["statusSummary"]["status"] == "success"
    assert first["metrics"]["recordSummary"]["outputRecordCount"] == 20

    again = json.loads(
        run_cli(
            "ingest", "raw", ".", "--dataset", "profiles", "--schema", str(document), "--json"
        ).stdout
    )
    assert again["metrics"]["fileSummary"]["inputFileCount"] == 0
    assert again["metrics"]["fileSummary"]["skippedFileCount"] == 1
    assert len(lf.schemas.list("schemas")) == 1  # the document was not registered twice

    pq.write_table(profile_table(10, start=20), landing / "p2.parquet")
    human = run_cli("ingest", "raw", ".", "--dataset", "profiles").stdout
    assert "success" in human and "files" in human
    assert lf.datasets.read(lf.datasets.get("profiles")).num_rows == 30


def test_a_document_unlike_the_datasets_schema_is_refused(
    tmp_path: Path, landing: Path, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(5), landing / "p.parquet")
    run_cli("ingest", "raw", ".", "--dataset", "profiles", "--schema", profile_schema["$id"])
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps({"title": "Bare", "type": "object", "allOf": [{"$ref": PROFILE_CLASS}]})
    )
    refused = run_cli("ingest", "raw", ".", "--dataset", "profiles", "--schema", str(other), code=1)
    assert "LF-1202" in refused.stderr and "Leave out --schema" in refused.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"title": "B", "type": "object", "allOf": [{"$ref": "_x.nope"}]}))
    refused = run_cli("ingest", "raw", ".", "--dataset", "x", "--schema", str(broken), code=1)
    assert "LF-1202" in refused.stderr and "_x.nope" in refused.stderr
    missing = run_cli("ingest", "raw", ".", "--dataset", "x", "--schema", "typo.json", code=1)
    assert "LF-1001" in missing.stderr and "Cannot read" in missing.stderr


def test_partial_ingestion_then_batch_errors_show_why(
    landing: Path, run_cli: RunCli, profile_schema: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "600")  # room for the records, so messages stay on one line
    pq.write_table(profile_table(100, bad={5: "email", 9: "points"}), landing / "p.parquet")
    out = run_cli(
        "ingest", "raw", "p.parquet", "--dataset", "profiles",
        "--schema", profile_schema["meta:altId"], "--partial-ingestion-percent", "5",
        code=3,  # committed, but rows were rejected
    ).stdout  # fmt: skip
    assert "partial" in out and "INGEST-1212-400" in out
    batch_id = out.split("lakefeed batches errors ")[1].split()[0]

    table = run_cli("batches", "errors", batch_id).stdout
    assert "not a valid email address" in table and "INGEST-1401-400" in table
    assert "personalEmail.address" in table  # the message names the field

    rows = json.loads(run_cli("batches", "errors", batch_id, "--json").stdout)["items"]
    assert [r["rowIndex"] for r in rows] == [5, 9]
    assert set(rows[0]) == {"sourceFile", "rowIndex", "errors", "record"}
    assert rows[0]["sourceFile"].endswith("p.parquet")
    assert rows[1]["errors"][0]["field"] == "_local.loyalty.points"
    assert rows[1]["record"]["_local"]["loyalty"]["points"] == -5
    lines = run_cli("batches", "errors", batch_id, "--json-lines", "--limit", "1").stdout
    assert [json.loads(line)["rowIndex"] for line in lines.splitlines()] == [5]
    offset = json.loads(run_cli("batches", "errors", batch_id, "--json", "--offset", "1").stdout)
    assert [r["rowIndex"] for r in offset["items"]] == [9]


def test_ingest_infers_the_schema_from_a_local_folder(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    folder = tmp_path / "orders"
    (folder / "day=1").mkdir(parents=True)
    pq.write_table(
        pa.table({"order_id": [1, 2, 3], "amount": [1.5, 2.5, 3.5]}), folder / "day=1" / "a.parquet"
    )
    run = json.loads(
        run_cli(
            "ingest",
            f"file://{folder}",
            ".",
            "--dataset",
            "orders",
            "--infer",
            "--recursive",
            "--json",
        ).stdout
    )
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == 3
    schema_id = lf.datasets.get("orders").schema_id
    resolved = json.loads(run_cli("schemas", "show", schema_id, "--full", "--json").stdout)
    assert resolved["properties"]["order_id"]["meta:xdmType"] == "long"


def test_a_failing_run_exits_1_with_its_errors(
    landing: Path, run_cli: RunCli, profile_schema: dict
) -> None:
    pq.write_table(profile_table(20, bad={1: "gender"}), landing / "p.parquet")
    args = ("ingest", "raw", ".", "--dataset", "profiles", "--schema", profile_schema["$id"])
    failed = run_cli(*args, code=1)
    assert "failed" in failed.stdout and "LF-1500" in failed.stdout
    assert "were not kept" in failed.stdout  # no diagnostics without partial ingestion
    as_json = json.loads(run_cli(*args, "--json", code=1).stdout)
    assert as_json["metrics"]["statusSummary"]["status"] == "failed"


def test_schema_and_infer_exclude_each_other(landing: Path, run_cli: RunCli) -> None:
    result = run_cli("ingest", "raw", ".", "--dataset", "d", "--schema", "x", "--infer", code=2)
    assert "exclude each other" in result.output


def test_progress_bar_on_a_terminal_only(
    landing: Path, run_cli: RunCli, profile_schema: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq.write_table(profile_table(10), landing / "p.parquet")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats standard error as a terminal
    shown = run_cli("ingest", "raw", ".", "--dataset", "p", "--schema", profile_schema["$id"])
    assert "Ingesting" in shown.stderr and "1/1 files" in shown.stderr
    assert "Ingesting" not in shown.stdout
    pq.write_table(profile_table(10, start=10), landing / "q.parquet")
    quiet = run_cli("ingest", "raw", ".", "--dataset", "p", "--json")
    assert "Ingesting" not in quiet.stderr
    assert json.loads(quiet.stdout)["metrics"]["recordSummary"]["outputRecordCount"] == 10


def test_unknown_resources_are_clear_errors_without_traceback(landing: Path) -> None:
    home = Path(os.environ["LAKEFEED_HOME"])
    for args, expected in (
        (("datasets", "show", "nope"), "LF-1104"),
        (("datasets", "preview", "nope"), "LF-1104"),
        (("flows", "run", "nope"), "LF-1104"),
        (("runs", "list", "--flow", "nope"), "LF-1104"),
        (("batches", "errors", "nope"), "LF-1104"),
        (("ingest", "raw", ".", "--dataset", "d", "--schema", "_local.schemas.nope"), "LF-1201"),
        (("ingest", "s3://bucket/x", ".", "--dataset", "d", "--infer"), "LF-1101"),
    ):
        out = lakefeed(home, *args)
        assert out.returncode == 1, (args, out.stderr)
        assert expected in out.stderr and "Fix:" in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize("command", ["ingest", "datasets create"])
def test_a_schema_too_long_for_a_file_name_is_an_unknown_schema(
    landing: Path, run_cli: RunCli, command: str
) -> None:
    """A --schema longer than a file name can be (a document pasted instead of a path) is
    looked up as an id, not a traceback from the file system."""
    pasted = '{"title": "Orders", "allOf": []}' * 200
    args = {
        "ingest": ["ingest", "raw", ".", "--dataset", "d"],
        "datasets create": ["datasets", "create", "d"],
    }[command]
    refused = run_cli(*args, "--schema", pasted, code=1)
    assert "LF-1201" in refused.stderr, refused.stderr


def test_error_diagnostics_keep_rows_of_a_failed_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    pq.write_table(profile_table(20, bad={4: "gender"}), landing / "a.parquet")
    home = tmp_path / "home"
    schema = create_profile_schema(Lakefeed(home=home).schemas)
    args = [str(landing), ".", "--dataset", "d", "--schema", schema["$id"], "--json"]
    failed = lakefeed(home, "ingest", *args, "--error-diagnostics")
    assert failed.returncode == 1
    run = json.loads(failed.stdout)
    assert run["metrics"]["statusSummary"]["status"] == "failed"
    batch_id = run["activities"][1]["targetInfo"][0]["reference"]["ids"][0]
    errors = lakefeed(home, "batches", "errors", batch_id, "--json")
    (row,) = json.loads(errors.stdout)["items"]
    assert row["rowIndex"] == 4
    assert row["errors"][0]["code"] == "INGEST-1401-400"


def test_exit_code_and_status_line_say_whether_everything_went_in(
    tmp_path: Path, run_cli: RunCli
) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    pq.write_table(pa.table({"order_id": [1, 2], "amount": [1.5, 2.5]}), folder / "a.parquet")
    args = ("ingest", str(folder), ".", "--dataset", "orders")

    ok = run_cli(*args, "--infer", "--json", code=0)
    assert json.loads(ok.stdout)["metrics"]["statusSummary"]["extensions"]["outcome"] == "success"

    pq.write_table(pa.table({"order_id": [3], "amount": [3.5]}), folder / "b.parquet")
    broken = pa.table({"order_id": [4, 5], "amount": [4.5, 5.5]})
    (folder / "c.parquet").write_bytes(corrupt_page(broken))
    partial = json.loads(run_cli(*args, "--json", code=3).stdout)
    status = partial["metrics"]["statusSummary"]
    assert status["status"] == "success"  # Flow Service's status: the batch committed
    assert status["extensions"]["outcome"] == "partial"
    (error,) = status["extensions"]["fileErrors"]
    assert error["path"].endswith("c.parquet") and error["permanent"] is True

    # The broken version failed for good: the next run says so, and is not partial for it.
    pq.write_table(pa.table({"order_id": [6], "amount": [6.5]}), folder / "d.parquet")
    human = run_cli(*args, code=0).stdout
    assert ": success" in human
    assert "Failed for good in an earlier run: 1 file version(s)" in human
    assert "c.parquet" in human and "LF-2422" in human
    again = json.loads(run_cli(*args, "--json", code=0).stdout)
    files = again["metrics"]["fileSummary"]
    assert files["skippedFileCount"] == 3 and files["extensions"] == {"failedBeforeFileCount": 1}

    (folder / "e.parquet").write_bytes(corrupt_page(broken))
    failed = run_cli(*args, "--json", code=1)  # nothing could be ingested
    assert json.loads(failed.stdout)["metrics"]["statusSummary"]["extensions"]["outcome"] == (
        "failed"
    )


def test_the_summary_names_precision_lost(tmp_path: Path, run_cli: RunCli) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    stamps = pa.array([1_700_000_000_123_456_789, 1_700_000_000_000_000_000], pa.timestamp("ns"))
    pq.write_table(pa.table({"id": [1, 2], "at": stamps}), folder / "e.parquet")

    out = run_cli("ingest", str(folder), ".", "--dataset", "events", "--infer", code=0).stdout

    assert ": success" in out and "Precision lost" in out
    assert "truncated to the target's time unit" in out
    line = next(line for line in out.splitlines() if "│ at " in line)
    assert "│ 1 " in line  # one of the two values had digits below the microsecond


def test_decimal_columns_are_inferred_as_exact_decimals(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    from decimal import Decimal

    amount = pa.array([Decimal("12345678901234567.89")], pa.decimal128(20, 2))
    pq.write_table(pa.table({"id": [1], "amount": amount}), landing / "d.parquet")

    assert "decimal(20, 2)" in run_cli("schemas", "infer", "raw", ".").stdout
    run_cli("ingest", "raw", ".", "--dataset", "money", "--infer", code=0)
    stored = lf.datasets.read(lf.datasets.get("money"))
    assert stored.column("amount").to_pylist() == [Decimal("12345678901234567.89")]
