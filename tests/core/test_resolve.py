"""User paths: relative ones are under the connection's root, "." is the root itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed import Lakefeed


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
