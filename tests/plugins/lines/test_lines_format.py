"""The example format plugin (examples/lakefeed-lines), found through its entry point like any
third-party format: inspected and previewed through the Python API, the CLI and REST, over
local files and over SFTP's own connections, and ingested into a dataset by a flow."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from api_support import ORG, running_server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.errors import MalformedFile
from lakefeed.formats import InspectedFile
from lakefeed.plugins import get_plugins
from lakefeed.schema.infer import merge_inferred
from lakefeed.storage.session import FileFailure
from tests_support import lakefeed, server_env, sftp_params

LINES = ["GET /index.html 200", "GET /missing 404", "POST /orders 201 ünïcode ✓"]
BIG_LINES = 20_000  # about 300 KiB: more than the 64 KiB inspection reads


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    # Windows line breaks and a last line without one are still one row per line.
    (root / "app.log").write_bytes(b"\r\n".join(line.encode() for line in LINES))
    (root / "big.log").write_text("".join(f"request {i}\n" for i in range(BIG_LINES)))
    (root / "empty.log").write_bytes(b"")
    (root / "binary.log").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    (root / "a.parquet").write_bytes(b"PAR1 not really")
    return root


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


def test_the_plugin_is_found_through_its_entry_point() -> None:
    info = {i.name: i for i in get_plugins().describe()}["lines"]
    assert info.distribution == "lakefeed-lines" and info.module == "lakefeed_lines"
    assert info.hooks == ("register_formats",) and info.formats == ("lines",)
    assert get_plugins().file_format("LINES").name == "lines"
    assert "lines" in get_plugins().formats().data_formats()


def test_inspection_tells_text_from_binary_and_counts_what_it_read_whole(
    lf: Lakefeed, landing: Path
) -> None:
    session = lf.session_for("local-files", {"rootPath": str(landing)})
    lines = get_plugins().file_format("lines")
    results = {r.entry.name: r for r in session.inspect("*.log", file_format=lines)}
    app, big, empty = results["app.log"], results["big.log"], results["empty.log"]
    assert isinstance(app, InspectedFile) and app.num_rows == 3
    assert app.schema.names == ["line"] and str(app.schema.field("line").type) == "string"
    assert isinstance(big, InspectedFile) and big.num_rows is None  # too large to count
    assert isinstance(empty, InspectedFile) and empty.num_rows == 0
    failed = results["binary.log"]
    assert isinstance(failed, FileFailure) and isinstance(failed.error, MalformedFile)
    assert "binary.log" in failed.error.message and failed.error.fix


def test_preview_reads_the_first_lines(lf: Lakefeed, landing: Path) -> None:
    session = lf.session_for("local-files", {"rootPath": str(landing)})
    lines = get_plugins().file_format("lines")
    preview = session.preview("app.log", rows=2, file_format=lines)
    assert preview.rows == [{"line": LINES[0]}, {"line": LINES[1]}]
    assert preview.to_dict()["format"] == "lines"
    big = session.preview("big.log", rows=3, file_format=lines)
    assert [row["line"] for row in big.rows] == ["request 0", "request 1", "request 2"]


def test_the_cli_inspects_and_previews_with_format(tmp_path: Path, landing: Path) -> None:
    home = tmp_path / "cli-home"
    created = lakefeed(
        home, "connections", "create", "logs", "--spec", "local-files", "-p", f"rootPath={landing}"
    )
    assert created.returncode == 0, created.stderr
    inspected = lakefeed(home, "inspect", "logs", "*.log", "--format", "lines", "--json")
    assert inspected.returncode == 1  # binary.log failed, and is reported
    report = json.loads(inspected.stdout)
    rows = {Path(f["path"]).name: f["numRows"] for f in report["files"]}
    assert rows == {"app.log": 3, "big.log": None, "empty.log": 0}
    assert [f["error"]["code"] for f in report["failures"]] == ["LF-2416"]
    assert report["totalRows"] is None and report["schemasAgree"] is True
    human = lakefeed(home, "inspect", "logs", "app.log", "--format", "lines")
    assert human.returncode == 0 and "Lines files" in human.stdout, human.stderr
    shown = lakefeed(home, "preview", "logs", "app.log", "--format", "lines", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["data"][2] == {"line": LINES[2]}
    unknown = lakefeed(home, "preview", "logs", "app.log", "--format", "jsonl")
    assert unknown.returncode == 1 and "LF-1414" in unknown.stderr and "lines" in unknown.stderr


def test_rest_explore_previews_with_the_file_type(tmp_path: Path, landing: Path) -> None:
    with (
        running_server(tmp_path / "api-home", local_roots=[landing]) as server,
        server.client() as api,
    ):
        specs = api.get("/data/foundation/flowservice/connectionSpecs/local-files").json()
        explore = specs["items"][0]["exploreSpec"]["requestSpec"]["properties"]
        assert {"parquet", "lines"} <= set(explore["fileType"]["enum"])
        connection = server.lf.scoped(Scope(ORG, "prod")).create_connection(
            "logs", "local-files", None, {"rootPath": str(landing)}
        )
        url = f"/data/foundation/flowservice/connections/{connection.id}/explore"
        query = {"objectType": "file", "object": "app.log", "fileType": "lines"}
        preview = api.get(url, params={**query, "preview": "true"})
        assert preview.status_code == 200, preview.text
        assert preview.json()["format"] == "lines"
        assert preview.json()["data"] == [{"line": line} for line in LINES]
        refused = api.get(url, params={**query, "fileType": "jsonl"})
        assert refused.status_code == 400 and "lines" in refused.text


def test_explore_offers_a_preview_of_the_files_the_format_recognises(
    lf: Lakefeed, landing: Path
) -> None:
    """Needs the engine to hand its sessions the installed formats (Plugins.formats())."""
    session = lf.session_for("local-files", {"rootPath": str(landing)})
    by_name = {item["name"]: item for item in session.explore("root")}
    assert by_name["app.log"]["canPreview"] and by_name["a.parquet"]["canPreview"]
    assert session.preview("app.log").to_dict()["format"] == "lines"  # found by its name


def test_a_flow_ingests_lines_files_into_a_dataset(lf: Lakefeed, landing: Path) -> None:
    """Needs the engine to hand the flow store the installed formats' data.format values, and
    the runner to read files through the flow's format."""
    (landing / "binary.log").unlink()
    (landing / "a.parquet").unlink()
    connection = lf.create_connection("logs", "local-files", None, {"rootPath": str(landing)})
    lines = lf.plugins.file_format("lines")
    (inspected,) = lf.session(connection).inspect("app.log", file_format=lines)
    assert isinstance(inspected, InspectedFile)
    properties, required = merge_inferred([inspected.schema], [inspected.entry.path])
    schema = lf.schemas.create_inferred_schema("access logs", properties, required=required)
    dataset = lf.datasets.create("access-logs", schema["$id"])
    source = lf.flows.create_source_connection(
        name="logs-source", base_connection_id=connection.id, path="*.log", data_format="lines"
    )
    target = lf.flows.create_target_connection(name="logs-target", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name="logs", source_connection_ids=[source.id], target_connection_ids=[target.id]
    )
    run = lf.run_flow(flow)
    assert run.status == "success", run.metrics
    landed = lf.datasets.read(lf.datasets.get("access-logs")).column("line").to_pylist()
    assert sorted(landed) == sorted(LINES + [f"request {i}" for i in range(BIG_LINES)])
    again = lf.run_flow(flow)  # exactly once: nothing new
    assert again.metrics["fileSummary"]["inputFileCount"] == 0, again.metrics


@pytest.mark.servers
def test_sftp_reads_lines_files_over_its_own_connections(tmp_path: Path) -> None:
    folder = f"lines-{uuid.uuid4().hex[:8]}"
    root = Path(server_env("LAKEFEED_TEST_SFTP_ROOT")) / folder
    root.mkdir(parents=True)
    for i in range(5):
        (root / f"{i}.log").write_text("".join(f"{i}-{n}\n" for n in range(i + 1)))
    session = Lakefeed(home=tmp_path / "home").session_for(
        "sftp", sftp_params(folderPath=folder), "Basic Authentication for sftp"
    )
    lines = get_plugins().file_format("lines")
    results = sorted(session.inspect("", file_format=lines), key=lambda r: r.entry.name)
    assert [r.num_rows for r in results] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    preview = session.preview("4.log", rows=2, file_format=lines)
    assert preview.rows == [{"line": "4-0"}, {"line": "4-1"}]
