"""Server folders in error texts are replaced by their settings' names, whole paths only
(pure logic)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lakefeed.api.server_paths import hider
from lakefeed.config import Settings


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    monkeypatch.setenv("HOME", "/root")
    return hider(
        Settings(
            home=Path("/srv/lf"),
            database_url="sqlite:////srv/lf/lakefeed.db",
            secret_key_file=Path("/srv/lf/secret.key"),
            iceberg_catalog_url="sqlite:////srv/lf/lakefeed.db",
            warehouse="file:///srv/lf/warehouse",
        )
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("'/srv/lf/secret.key' is unreadable", "'$LAKEFEED_SECRET_KEY_FILE' is unreadable"),
        ("table at file:///srv/lf/warehouse/ns/t", "table at file://$LAKEFEED_WAREHOUSE/ns/t"),
        ("database sqlite:////srv/lf/lakefeed.db", "database sqlite:///$LAKEFEED_HOME/lakefeed.db"),
        ("rootPath=/root/drops", "rootPath=~/drops"),
        ("(/srv/lf)", "($LAKEFEED_HOME)"),
        ("the key in /srv/lf/secret.key.", "the key in $LAKEFEED_SECRET_KEY_FILE."),
        ("'/srv/lf.bak/x'", "'/srv/lf.bak/x'"),
        # A client's own paths that merely contain a server folder stay as they are.
        ("outside the root folder '/tmp/v10/root'", "outside the root folder '/tmp/v10/root'"),
        ("'/data/srv/lf/x' and /mnt/root", "'/data/srv/lf/x' and /mnt/root"),
        ("'/srv/lf2/x' and '/rootless'", "'/srv/lf2/x' and '/rootless'"),
    ],
)
def test_only_whole_server_paths_are_hidden(
    hide: Callable[[str], str], text: str, shown: str
) -> None:
    assert hide(text) == shown
