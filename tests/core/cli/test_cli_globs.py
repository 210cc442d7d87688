"""Globs in ``lakefeed ls`` and ``lakefeed inspect``: what ``--recursive`` matches, and a
glob that matches nothing is an error, not an empty listing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from tests_support import server_env

RunCli = Callable[..., Result]


@pytest.fixture
def days(landing: Path) -> Path:
    """The getting-started layout: a folder per day, plus a dated file in another folder."""
    table = pa.table({"order_id": ["a", "b"], "amount": [1.5, 2.5]})
    for day, name in (("2026-11-27", "orders-0"), ("2026-11-27", "orders-1"),
                      ("2026-11-28", "orders-0"), ("2026-12-01", "orders-0")):  # fmt: skip
        (landing / day).mkdir(exist_ok=True)
        pq.write_table(table, landing / day / f"{name}.parquet")
    (landing / "old").mkdir()
    pq.write_table(table, landing / "old" / "2026-11-30.parquet")
    (landing / "2026-11-27" / "notes.txt").write_text("not data")
    return landing


def names(result: Result, root: Path) -> list[str]:
    return sorted(
        str(Path(e["path"]).relative_to(root)) for e in json.loads(result.stdout)["items"]
    )


def test_recursive_glob_matches_paths_below_its_folder(days: Path, run_cli: RunCli) -> None:
    # The getting-started example: the November files, in their day folders.
    listed = run_cli("ls", "raw", "2026-11-*.parquet", "--recursive", "--json")
    assert names(listed, days) == [
        "2026-11-27/orders-0.parquet",
        "2026-11-27/orders-1.parquet",
        "2026-11-28/orders-0.parquet",
        "old/2026-11-30.parquet",  # a file name matching at any depth still counts
    ]
    inspected = json.loads(
        run_cli("inspect", "raw", "2026-11-*.parquet", "--recursive", "--json").stdout
    )
    assert len(inspected["files"]) == 4 and inspected["totalRows"] == 8
    assert inspected["failures"] == []
    # A name pattern keeps matching names at every depth.
    every = run_cli("ls", "raw", "orders-0.*", "-r", "--json")
    assert names(every, days) == [
        "2026-11-27/orders-0.parquet",
        "2026-11-28/orders-0.parquet",
        "2026-12-01/orders-0.parquet",
    ]


def test_glob_without_recursive_matches_names_in_its_folder(days: Path, run_cli: RunCli) -> None:
    listed = run_cli("ls", "raw", "old/2026-11-*.parquet", "--json")
    assert names(listed, days) == ["old/2026-11-30.parquet"]


def test_glob_matching_nothing_is_an_error(days: Path, run_cli: RunCli) -> None:
    flat = run_cli("inspect", "raw", "2026-11-*.parquet", code=1)
    assert "LF-2405" in flat.stderr and "'2026-11-*.parquet'" in flat.stderr
    assert "--recursive" in flat.stderr  # the fix says how to match the day folders
    assert flat.stdout == ""
    deep = run_cli("ls", "raw", "2027-*.parquet", "--recursive", "--json", code=1)
    assert deep.stdout == ""  # no half-written JSON before the error
    error = json.loads(deep.stderr)["error"]
    assert error["code"] == "LF-2405" and "'2027-*.parquet'" in error["message"]
    assert "sub-folders" in error["message"] and error["fix"]


def test_empty_folder_without_glob_is_still_an_empty_listing(
    landing: Path, run_cli: RunCli
) -> None:
    (landing / "empty").mkdir()
    assert json.loads(run_cli("ls", "raw", "empty", "--json").stdout) == {
        "items": [],
        "count": 0,
    }


@pytest.mark.servers
def test_recursive_glob_on_an_object_store(lf: Lakefeed, run_cli: RunCli) -> None:
    """Object stores list by prefix, not folder by folder: the same glob, the same files."""
    params = {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    bucket = f"globs-{uuid.uuid4().hex[:8]}"
    session = lf.session_for("amazon-s3", params, "Access Key")
    ensure_folder(session.fs, bucket)
    data = parquet_bytes(pa.table({"a": [1, 2]}))
    put(session, {f"/{bucket}/{key}": data for key in (
        "2026-11-27/orders-0.parquet", "2026-11-28/orders-0.parquet",
        "2026-12-01/orders-0.parquet", "old/2026-11-30.parquet",
    )})  # fmt: skip
    lf.create_connection("lake", "amazon-s3", "Access Key", {**params, "bucketName": bucket})

    listed = json.loads(run_cli("ls", "lake", "2026-11-*.parquet", "-r", "--json").stdout)
    assert sorted(e["path"].split(f"{bucket}/")[1] for e in listed["items"]) == [
        "2026-11-27/orders-0.parquet",
        "2026-11-28/orders-0.parquet",
        "old/2026-11-30.parquet",
    ]
    flat = run_cli("ls", "lake", "2026-11-*.parquet", code=1)
    assert "LF-2405" in flat.stderr


def test_the_python_api_refuses_a_glob_matching_nothing_when_asked(
    days: Path, lf: Lakefeed
) -> None:
    from lakefeed.errors import NoFilesMatch

    session = lf.session("raw")
    with pytest.raises(NoFilesMatch) as caught:
        list(session.ls("2025-*.parquet", recursive=True, require_match=True))
    assert "'2025-*.parquet'" in caught.value.message and "sub-folders" in caught.value.message
    with pytest.raises(NoFilesMatch):
        list(session.inspect("2025-*.parquet", require_match=True))
    # Off by default, as a flow's listing wants: nothing new, not an error.
    assert list(session.ls("2025-*.parquet", recursive=True)) == []
    found = list(session.ls("2026-11-*.parquet", recursive=True, require_match=True))
    assert len(found) == 4
    (days / "empty").mkdir()
    assert list(session.ls("empty", require_match=True)) == []  # no glob: an empty folder


def test_schemas_infer_from_a_glob_matching_nothing_is_the_same_error(
    days: Path, run_cli: RunCli
) -> None:
    """Not "no readable Parquet file" (LF-1202), which sends the user looking at files."""
    refused = run_cli("schemas", "infer", "raw", "2027-*.parquet", "--recursive", code=1)
    assert "LF-2405" in refused.stderr and "'2027-*.parquet'" in refused.stderr
