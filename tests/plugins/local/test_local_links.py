"""Symbolic links in a local-files connection: followed to files and folders inside its root
(listed, inspected, explored and ingested like any other), loops walked once, and links that
lead outside the root (or nowhere) listed but refused with a per-file error naming the link."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakefeed import Lakefeed
from lakefeed.errors import LinkOutsideRoot
from lakefeed.storage.session import FileFailure, StorageSession
from lakefeed.testing.profiles import create_profile_schema, profile_table


@dataclass(frozen=True)
class Tree:
    root: Path  # the connection's root
    feed: Path  # the folder listed: root/feed
    outside: Path  # next to the root


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """::

    root/feed/2026/a.parquet                rows 0-4
    root/feed/2026/again -> root/feed/2026      a loop inside the listed folder
    root/feed/latest.parquet -> root/store/b.parquet   rows 100-104
    root/feed/more -> root/store/more       a folder inside the root, outside feed
    root/store/more/c.parquet               rows 200-204
    root/store/more/back -> root/store/more     a loop inside the linked folder
    root/store/more/up -> root/feed             a loop back to the listed folder
    root/feed/escape.parquet -> outside/secret.parquet
    root/feed/escape-dir -> outside
    root/feed/gone.parquet -> root/nothing.parquet      dangling
    """
    root, outside = tmp_path / "root", tmp_path / "outside"
    feed, store = root / "feed", root / "store"
    for folder in (feed / "2026", store / "more", outside):
        folder.mkdir(parents=True)
    pq.write_table(profile_table(5), feed / "2026" / "a.parquet")
    pq.write_table(profile_table(5, start=100), store / "b.parquet")
    pq.write_table(profile_table(5, start=200), store / "more" / "c.parquet")
    pq.write_table(profile_table(5, start=900), outside / "secret.parquet")
    (feed / "2026" / "again").symlink_to(feed / "2026", target_is_directory=True)
    (feed / "latest.parquet").symlink_to(store / "b.parquet")
    (feed / "more").symlink_to(store / "more", target_is_directory=True)
    (store / "more" / "back").symlink_to(store / "more", target_is_directory=True)
    (store / "more" / "up").symlink_to(feed, target_is_directory=True)
    (feed / "escape.parquet").symlink_to(outside / "secret.parquet")
    (feed / "escape-dir").symlink_to(outside, target_is_directory=True)
    (feed / "gone.parquet").symlink_to(root / "nothing.parquet")
    return Tree(root, feed, outside)


@pytest.fixture
def lf(tmp_path: Path, tree: Tree) -> Lakefeed:
    lf = Lakefeed(home=tmp_path / "home")
    lf.create_connection("drops", "local-files", None, {"rootPath": str(tree.root)})
    return lf


@pytest.fixture
def session(lf: Lakefeed) -> StorageSession:
    return lf.session("drops")


def relative(tree: Tree, path: str) -> str:
    return str(Path(path).relative_to(tree.root))


REFUSED = ["feed/escape-dir", "feed/escape.parquet", "feed/gone.parquet"]
#: LinkOutsideRoot for the links out of the root, StorageNotFound for the dangling one.
REFUSAL_CODES = dict(zip(REFUSED, ["LF-2406", "LF-2406", "LF-2404"], strict=True))
FOLLOWED = ["feed/latest.parquet", "feed/2026/a.parquet", "feed/more/c.parquet"]


def test_ls_follows_links_inside_the_root_once_and_lists_the_others(
    session: StorageSession, tree: Tree
) -> None:
    # Loops end: a walk that followed one forever fails here instead of hanging the suite.
    pool = ThreadPoolExecutor(max_workers=1)
    listed = pool.submit(lambda: list(session.ls("feed", recursive=True))).result(timeout=120)
    pool.shutdown(wait=False)
    by_path = {relative(tree, e.path): e for e in listed}
    # Listed by the link's own path, once each: the loops add nothing.
    assert list(by_path) == [*REFUSED, *FOLLOWED]
    assert len(listed) == len(by_path)
    assert by_path["feed/latest.parquet"].size == (tree.root / "store" / "b.parquet").stat().st_size
    assert all(by_path[p].size == 0 for p in REFUSED)  # nothing of the target is read

    one_level = [relative(tree, e.path) for e in session.ls("feed")]
    assert one_level == [*REFUSED, "feed/latest.parquet"]
    # A linked folder named directly is listed like a folder; a glob looks through links too.
    assert [e.name for e in session.ls("feed/more")] == ["c.parquet"]
    assert [relative(tree, e.path) for e in session.ls("feed/*.parquet")] == [
        "feed/escape.parquet", "feed/gone.parquet", "feed/latest.parquet"
    ]  # fmt: skip


def test_inspect_reads_linked_files_and_refuses_links_out_of_the_root(
    session: StorageSession, tree: Tree
) -> None:
    results = list(session.inspect("feed", recursive=True))
    footers = [r for r in results if not isinstance(r, FileFailure)]
    failures = {
        relative(tree, r.entry.path): r.error for r in results if isinstance(r, FileFailure)
    }
    assert sorted(relative(tree, f.entry.path) for f in footers) == sorted(FOLLOWED)
    assert all(f.num_rows == 5 for f in footers)
    assert {p: e.code for p, e in failures.items()} == REFUSAL_CODES
    escape = str(failures["feed/escape.parquet"])
    assert str(tree.feed / "escape.parquet") in escape and "outside the connection's root" in escape
    assert str(tree.outside) not in escape  # where the link leads is not told
    assert "symbolic link" in str(failures["feed/gone.parquet"])

    assert session.preview("feed/latest.parquet", rows=2).rows[0]["_id"] == "profile-100"
    with pytest.raises(LinkOutsideRoot, match=r"escape\.parquet"):
        session.preview("feed/escape.parquet")


def test_explore_shows_linked_files_and_folders_as_what_they_point_to(
    session: StorageSession, tree: Tree
) -> None:
    items = {i["name"]: i["type"] for i in session.explore("folder", "feed")}
    assert items == {
        "2026": "folder",
        "escape-dir": "file",  # refused: never shown as a folder to open
        "escape.parquet": "file",
        "gone.parquet": "file",
        "latest.parquet": "file",
        "more": "folder",
    }
    inside = {i["name"]: i["type"] for i in session.explore("folder", "feed/more")}
    assert inside == {"back": "folder", "c.parquet": "file", "up": "folder"}
    with pytest.raises(LinkOutsideRoot, match="escape-dir"):
        session.explore("folder", "feed/escape-dir")
    # A path through the link is refused as well, when it is read.
    (through,) = session.inspect("feed/escape-dir/secret.parquet")
    assert isinstance(through, FileFailure) and isinstance(through.error, LinkOutsideRoot)


def test_a_run_ingests_linked_files_once_and_fails_only_the_refused_links(
    lf: Lakefeed, tree: Tree
) -> None:
    schema = create_profile_schema(lf.schemas)
    run = lf.ingest("drops", "feed", dataset="profiles", schema=schema["$id"], recursive=True)

    rows = lf.datasets.read(lf.datasets.get("profiles"))
    ids = sorted(rows.column("_id").to_pylist())
    assert ids == sorted(f"profile-{n}" for s in (0, 100, 200) for n in range(s, s + 5))
    files = run.metrics["fileSummary"]
    assert files["inputFileCount"] == 6 and files["failedFileCount"] == 3
    errors = run.metrics["statusSummary"]["extensions"]["fileErrors"]
    assert {relative(tree, e["path"]): e["code"] for e in errors} == REFUSAL_CODES
    assert str(tree.outside) not in str(run.metrics)

    # The refused links are not ledgered: once pointed inside the root, the next run takes one.
    (tree.feed / "escape.parquet").unlink()
    (tree.feed / "escape.parquet").symlink_to(tree.root / "store" / "b.parquet")
    again = lf.ingest("drops", "feed", dataset="profiles", schema=schema["$id"], recursive=True)
    assert again.metrics["fileSummary"]["inputFileCount"] == 3
    assert again.metrics["fileSummary"]["failedFileCount"] == 2
    assert lf.datasets.read(lf.datasets.get("profiles")).num_rows == 20


def test_absolute_paths_outside_the_root_still_read_plain_files(
    session: StorageSession, tree: Tree
) -> None:
    """As before links were followed: the CLI and Python API read any absolute path; only a
    link that leads outside the root is refused."""
    (entry,) = session.ls(str(tree.outside / "secret.parquet"))
    (footer,) = session.inspect_files([entry])
    assert not isinstance(footer, FileFailure) and footer.num_rows == 5
