"""CSV and JSON through the CLI: ``inspect``, ``preview``, ``schemas infer`` and ``ingest
--infer`` with ``--format`` and ``--option``, exactly once, and bad options refused."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]

SEMICOLONS = "id;city;temp;seen\n1;Oslo;-3.5;2026-01-02\n2;Lima;19.25;2026-01-03\n"


def test_inspect_and_preview_a_gzip_csv_with_options(landing: Path, run_cli: RunCli) -> None:
    (landing / "w.csv.gz").write_bytes(gzip.compress(SEMICOLONS.encode()))

    shown = json.loads(
        run_cli("inspect", "raw", "w.csv.gz", "-o", "columnDelimiter=;", "--json").stdout
    )
    (file,) = shown["files"]
    types = {f["name"]: f["type"] for f in file["schema"]}
    assert types == {"id": "int64", "city": "string", "temp": "double", "seen": "date32[day]"}

    preview = json.loads(
        run_cli(
            "preview", "raw", "w.csv.gz", "--format", "delimited", "-o", "columnDelimiter=;",
            "--json",
        ).stdout
    )  # fmt: skip
    assert preview["data"][1]["city"] == "Lima"

    refused = run_cli("inspect", "raw", "w.csv.gz", "-o", "columnDelimiter=;;", code=1)
    assert "columnDelimiter" in refused.output
    malformed = run_cli("inspect", "raw", "w.csv.gz", "-o", "columnDelimiter", code=2)
    assert "KEY=VALUE" in malformed.output


def test_ingest_infer_a_csv_folder_then_only_new_files(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    (landing / "a.csv").write_text(SEMICOLONS)
    args = ("ingest", "raw", "*.csv", "--dataset", "weather", "--infer", "-o", "columnDelimiter=;")

    first = json.loads(run_cli(*args, "--json").stdout)
    assert first["metrics"]["recordSummary"]["outputRecordCount"] == 2, first["metrics"]
    fields = lf.schemas.resolve(lf.datasets.get("weather").schema_id)["properties"]
    assert fields["temp"]["type"] == "number"  # inferred from the sample, not text
    assert fields["id"]["type"] == "integer" and fields["city"]["type"] == "string"

    (landing / "b.csv").write_text("id;city;temp;seen\n3;Pune;31;2026-01-04\n")
    second = json.loads(run_cli(*args[:-2], "--json", "-o", "columnDelimiter=;").stdout)
    assert second["metrics"]["fileSummary"]["inputFileCount"] == 1
    rows = lf.datasets.read(lf.datasets.get("weather")).to_pylist()
    assert sorted(r["id"] for r in rows) == [1, 2, 3]
    assert next(r for r in rows if r["id"] == 1)["temp"] == -3.5


def test_ingest_json_lines_with_nested_objects(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    lines = [
        {"id": 1, "place": {"city": "Oslo", "tags": ["a", "b"]}},
        {"id": 2, "place": {"city": "Lima", "tags": []}},
    ]
    (landing / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))

    run = json.loads(
        run_cli("ingest", "raw", "p.jsonl", "--dataset", "places", "--infer", "--json").stdout
    )

    assert run["metrics"]["recordSummary"]["outputRecordCount"] == 2, run["metrics"]
    rows = lf.datasets.read(lf.datasets.get("places")).to_pylist()
    one = next(r for r in rows if r["id"] == 1)
    assert one["place"] == {"city": "Oslo", "tags": ["a", "b"]}


def test_ingest_with_a_mapping_file_then_a_changed_mapping(
    tmp_path: Path, landing: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    (landing / "m1.csv").write_text("member,first\nm1,ada\nm2,grace\n")
    mapping = {
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "member", "destination": "_id"},
            {
                "sourceType": "EXPRESSION",
                "source": "concat('L-', member)",
                "destination": "_local.loyalty.loyaltyId",
            },
            {
                "sourceType": "EXPRESSION",
                "source": "upper(first)",
                "destination": "person.name.firstName",
            },
        ]
    }
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(mapping))
    args = ("ingest", "raw", "*.csv", "--dataset", "members", "--schema", profile_schema["$id"])

    first = json.loads(run_cli(*args, "--mapping", str(mapping_file), "--json").stdout)

    assert first["metrics"]["recordSummary"]["outputRecordCount"] == 2, first["metrics"]
    names = {r["_id"]: r["person"]["name"]["firstName"] for r in rows(lf, "members")}
    assert names == {"m1": "ADA", "m2": "GRACE"}

    mapping["mappings"][2]["source"] = "lower(first)"  # applies to the runs after this change
    mapping_file.write_text(json.dumps(mapping))
    (landing / "m2.csv").write_text("member,first\nm3,Alan\n")
    second = json.loads(run_cli(*args, "--mapping", str(mapping_file), "--json").stdout)

    assert second["metrics"]["fileSummary"]["inputFileCount"] == 1, second["metrics"]
    names = {r["_id"]: r["person"]["name"]["firstName"] for r in rows(lf, "members")}
    assert names == {"m1": "ADA", "m2": "GRACE", "m3": "alan"}
    (stored,) = lf.mapping_sets()
    assert stored.version == 1
    refused = run_cli(*args[:-2], "--infer", "--mapping", str(mapping_file), code=1)
    assert "--infer" in refused.output


def rows(lf: Lakefeed, dataset: str) -> list[dict]:
    return lf.datasets.read(lf.datasets.get(dataset)).to_pylist()


def test_flows_create_with_a_format_its_options_and_a_file_extension(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    (landing / "w.csv").write_text(SEMICOLONS)
    (landing / "w.txt").write_text(SEMICOLONS)  # not read: the flow takes *.csv only
    schema = lf.schemas.create_inferred_schema(
        "weather",
        {
            "id": {"type": "integer"},
            "city": {"type": "string"},
            "temp": {"type": "number"},
            "seen": {"type": "string", "format": "date"},
        },
    )
    lf.datasets.create("weather", schema["$id"])

    run_cli(
        "flows", "create", "--name", "weather", "--connection", "raw", "--path", ".",
        "--dataset", "weather", "--format", "delimited", "-o", "columnDelimiter=;",
        "--file-extension", "csv",
    )  # fmt: skip
    run = json.loads(run_cli("flows", "run", "weather", "--json").stdout)

    assert run["metrics"]["fileSummary"]["inputFileCount"] == 1, run["metrics"]
    assert sorted(r["city"] for r in rows(lf, "weather")) == ["Lima", "Oslo"]
    refused = run_cli(
        "flows", "create", "--name", "bad", "--connection", "raw", "--path", ".",
        "--dataset", "weather", "--format", "delimited", "-o", "quoteChar=ab", code=1,
    )  # fmt: skip
    assert "quoteChar" in refused.output


def test_the_same_options_spelt_differently_are_the_same_flow(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    (landing / "t.data").write_text("id\tcity\n1\tOslo\n")
    args = ("ingest", "raw", "t.data", "--dataset", "tabs", "--infer", "--format", "delimited")

    run_cli(*args, "-o", "columnDelimiter=\t", "-o", "encoding=utf-8", "--json")
    again = json.loads(
        run_cli(*args, "-o", "columndelimiter=\\t", "-o", "encoding=UTF-8", "--json").stdout
    )

    assert again["metrics"]["fileSummary"]["skippedFileCount"] == 1, again["metrics"]
    assert len([f for f in lf.flows.list_flows() if f.name.startswith("ingest-tabs")]) == 1
