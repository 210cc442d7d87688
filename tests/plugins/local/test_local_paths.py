"""Relative paths of a local-files connection stay under its root: '..' cannot climb out."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed import Lakefeed
from lakefeed.errors import InvalidRequest
from lakefeed.storage.session import StorageSession


@pytest.fixture
def session(tmp_path: Path) -> StorageSession:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), root / "a" / "in.parquet")
    pq.write_table(pa.table({"x": [2]}), tmp_path / "out.parquet")
    return Lakefeed(home=tmp_path / "home").session_for("local-files", {"rootPath": str(root)})


@pytest.mark.parametrize("path", ["..", "../out.parquet", "a/../../out.parquet", "./../*.parquet"])
def test_dotdot_out_of_the_root_is_refused(session: StorageSession, path: str) -> None:
    with pytest.raises(InvalidRequest, match="leaves the connection's root folder") as refused:
        list(session.ls(path))
    assert refused.value.fix and "inside the root" in refused.value.fix
    with pytest.raises(InvalidRequest):
        session.explore("folder", path)


def test_dotdot_that_stays_inside_and_absolute_paths_still_work(
    session: StorageSession, tmp_path: Path
) -> None:
    inside = [e.name for e in session.ls("a/../a/in.parquet")]
    assert inside == ["in.parquet"]
    # Absolute paths work anywhere for the CLI and Python API (REST confines them separately).
    assert [e.name for e in session.ls(str(tmp_path / "out.parquet"))] == ["out.parquet"]
