"""Server folders are no API client's business: an error that names one (the secret key file of
``LAKEFEED_HOME``, a table under the warehouse) reaches the client with the setting's name in
its place. The CLI and the Python API act for the machine's user and show the real paths."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from lakefeed.config import Settings


def _folder(path: str | Path) -> str | None:
    text = str(path).rstrip("/")
    return text or None  # "/" is every path's start: nothing to hide


def hider(settings: Settings) -> Callable[[str], str]:
    """A function that replaces the server's folders in a text by their settings' names:
    ``$LAKEFEED_HOME``, ``$LAKEFEED_WAREHOUSE``, ``$LAKEFEED_SECRET_KEY_FILE``, and ``~`` for
    the home folder of the user the server runs as."""
    folders = {
        _folder(settings.home): "$LAKEFEED_HOME",
        _folder(settings.secret_key_file): "$LAKEFEED_SECRET_KEY_FILE",
        _folder(Path.home()): "~",
    }
    if settings.warehouse.startswith("file://"):
        folders[_folder(unquote(urlparse(settings.warehouse).path))] = "$LAKEFEED_WAREHOUSE"
    named = {path: name for path, name in folders.items() if path is not None}
    # Longest first, and only whole paths: /srv/lf is not hidden in /srv/lf2, nor /root in
    # /data/root. A path starts the text, follows a space, a quote, a bracket, "=", ":" or ","
    # or a URL's "://" (file:///srv/lf, sqlite:////srv/lf), and ends a component (a "." that
    # ends a sentence too: /srv/lf/secret.key. is the key file).
    pattern = re.compile(
        r"(?:(?<=://)|(?<=:///)|(?<![^\s'\"(\[=:,]))(?:"
        + "|".join(re.escape(path) for path in sorted(named, key=len, reverse=True))
        + r")(?=[/\s'\"),:;]|\.(?!\w)|$)"
    )

    def hide(text: str) -> str:
        return pattern.sub(lambda match: named[match.group(0)], text)

    return hide
