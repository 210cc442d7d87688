"""The one reader of text the CLI takes from a file or standard input: JSON documents
(schemas, mapping sets), ``NAME=@FILE`` params, ``--params-file`` and ``--secret-file``."""

from __future__ import annotations

import sys
from pathlib import Path

from lakefeed.config import ConfigFileTooLong, read_bounded, read_config_file, unreadable
from lakefeed.errors import InvalidRequest

#: The most characters read from one source. A schema, mapping set or secret is far smaller;
#: a larger source (``/dev/zero``, a log given by mistake) is refused instead of read whole.
MAX_TEXT_CHARS = 16 * 1024 * 1024


def read_text_source(source: str, what: str, *, fix: str) -> str:
    """The text of the file ``source`` (``~`` expanded; ``-``: standard input), at most
    :data:`MAX_TEXT_CHARS`, read as configuration files are
    (:func:`~lakefeed.config.read_config_file`). A file that is missing, unreadable, not
    UTF-8 text or larger is :class:`InvalidRequest` naming the file and ``what`` was read from
    it, never its contents. Pipes are read as files are (``<(command)`` gives one)."""
    try:
        if source == "-":
            return read_bounded(sys.stdin, MAX_TEXT_CHARS)
        return read_config_file(source, MAX_TEXT_CHARS)
    except (OSError, UnicodeDecodeError, ConfigFileTooLong) as exc:
        label = "standard input" if source == "-" else repr(str(Path(source).expanduser()))
        raise InvalidRequest(
            f"Cannot read {what} from {label}: {unreadable(exc)}.", fix=fix
        ) from None
