"""User paths: relative ones are under the connection's root, "." is the root itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import InvalidRequest, StoragePathInvalid


@pytest.mark.parametrize(
    ("user_path", "under_root"),
    [(".", ""), ("./", ""), ("", ""), ("./a/b", "/a/b"), ("a/b", "/a/b"), ("././a", "/a")],
)
def test_relative_paths_resolve_under_the_root(
    tmp_path: Path, user_path: str, under_root: str
) -> None:
    session = Lakefeed(home=tmp_path / "home").session_for(
        "local-files", {"rootPath": str(tmp_path)}
    )
    assert session.resolve(user_path) == f"{tmp_path}{under_root}"
    assert session.resolve(str(tmp_path / "x")) == f"{tmp_path}/x"


def test_a_nul_byte_in_a_path_is_refused_before_the_filesystem(tmp_path: Path) -> None:
    session = Lakefeed(home=tmp_path / "home").session_for(
        "local-files", {"rootPath": str(tmp_path)}
    )
    for path in ("a\x00b", f"{tmp_path}/x\x00.parquet"):
        with pytest.raises(InvalidRequest, match="NUL byte"):
            list(session.ls(path))
    with pytest.raises(InvalidRequest, match="NUL byte"):
        session.explore("folder", "drop\x00")


def test_an_over_long_path_is_the_callers_error_not_the_storages(tmp_path: Path) -> None:
    session = Lakefeed(home=tmp_path / "home").session_for(
        "local-files", {"rootPath": str(tmp_path)}
    )
    with pytest.raises(StoragePathInvalid) as caught:
        list(session.ls("x" * 5000))
    assert caught.value.http_status == 400 and "File name too long" in caught.value.message


def test_a_source_connection_path_with_a_nul_byte_is_refused_when_stored(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path / "home")
    base = lf.create_connection("raw", "local-files", None, {"rootPath": str(tmp_path)})
    with pytest.raises(InvalidRequest, match="NUL byte"):
        lf.flows.create_source_connection(name="s", base_connection_id=base.id, path="a\x00b")
    source = lf.flows.create_source_connection(name="s", base_connection_id=base.id, path="a")
    with pytest.raises(InvalidRequest, match="NUL byte"):
        lf.flows.update_source_connection(source.id, path="drop/\x00")
    assert [s.params["path"] for s in lf.flows.source_connections()] == ["a"]
