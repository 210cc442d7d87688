"""The one reader of text the CLI takes from a file or standard input: JSON documents
(schemas, mapping sets), ``NAME=@FILE`` params, ``--params-file`` and ``--secret-file``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from lakefeed.errors import InvalidRequest

#: The most characters read from one source. A schema, mapping set or secret is far smaller;
#: a larger source (``/dev/zero``, a log given by mistake) is refused instead of read whole.
MAX_TEXT_CHARS = 16 * 1024 * 1024


def read_text_source(source: str, what: str, *, fix: str) -> str:
    """The text of the file ``source`` (``~`` expanded; ``-``: standard input), at most
    :data:`MAX_TEXT_CHARS`. A file that is missing, unreadable, not UTF-8 text or larger is
    :class:`InvalidRequest` naming the file and ``what`` was read from it, never its contents.
    Pipes are read as files are (``<(command)`` gives one)."""
    if source == "-":
        return _read_capped(sys.stdin, what, "standard input", fix)
    path = Path(source).expanduser()
    try:
        with path.open(encoding="utf-8") as handle:
            return _read_capped(handle, what, repr(str(path)), fix)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidRequest(f"Cannot read {what} from {str(path)!r}: {reason}.", fix=fix) from None


def _read_capped(handle: TextIO, what: str, label: str, fix: str) -> str:
    try:
        text = handle.read(MAX_TEXT_CHARS + 1)
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"Cannot read {what} from {label}: it is not UTF-8 text.", fix=fix
        ) from None
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRequest(
            f"Cannot read {what} from {label}: it is longer than {MAX_TEXT_CHARS:,} characters.",
            fix=fix,
        )
    return text
