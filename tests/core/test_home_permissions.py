"""What lakefeed creates in its home is its owner's alone, whatever the umask: the home and the
warehouse 0700, the database with its ``-wal`` and ``-shm`` files and the secret key 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakefeed import Lakefeed


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_home_database_wal_and_key_are_private(tmp_path: Path, permissive_umask: None) -> None:
    home = tmp_path / "new" / "home"
    lf = Lakefeed(home=home)
    lf.create_connection("raw", "local-files", None, {"rootPath": str(tmp_path)})
    with lf.db.connect():  # the -wal and -shm files exist while a connection is open
        found = {
            path.name: oct(mode(path))
            for path in (
                home.parent,
                home,
                home / "lakefeed.db",
                home / "lakefeed.db-wal",
                home / "lakefeed.db-shm",
                home / "secret.key",
            )
        }
    assert found == {
        "new": "0o700",
        "home": "0o700",
        "lakefeed.db": "0o600",
        "lakefeed.db-wal": "0o600",
        "lakefeed.db-shm": "0o600",
        "secret.key": "0o600",
    }


def test_the_iceberg_catalog_alone_creates_them_private_too(
    tmp_path: Path, permissive_umask: None
) -> None:
    """The Iceberg SQL catalog shares the database file; opened first, it must not create it
    (or the home) with SQLite's default mode."""
    home = tmp_path / "home"
    Lakefeed(home=home).iceberg_catalog()
    assert oct(mode(home)) == "0o700"
    assert oct(mode(home / "warehouse")) == "0o700"
    assert oct(mode(home / "lakefeed.db")) == "0o600"
