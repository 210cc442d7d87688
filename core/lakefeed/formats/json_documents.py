"""The layouts of a JSON file, and the incremental reader of the two that are not JSON Lines:
an array of records (``[{…}, {…}]``) and objects one after another (pretty-printed).

:class:`Documents` reads records from a stream of UTF-8 bytes a megabyte at a time with
:meth:`json.JSONDecoder.raw_decode`, so memory is bounded by the largest record, not the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from lakefeed.errors import MalformedFile

#: The longest record of an array (or of pretty-printed objects) read whole.
MAX_RECORD_CHARS = 64 << 20
LINES, ARRAY, DOCUMENTS = "lines", "array", "documents"
_SPACE = re.compile(r"[ \t\n\r]*")


def layout_of(text: str) -> str | None:
    """How a member's text holds its rows, from its start: ``array`` (``[``), ``documents``
    (objects spanning lines), else ``lines``; None when it is blank."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return None
    if stripped[0] == "[":
        return ARRAY
    if stripped[0] == "{":
        try:
            _, end = json.JSONDecoder().raw_decode(stripped)
        except ValueError:
            return LINES  # a bad first line: a rejected row
        if "\n" in stripped[:end]:
            return DOCUMENTS
    return LINES


def is_object(line: str) -> bool:
    text = line.strip()
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class Documents:
    """The records of an array (``[{…}, {…}]``) or of objects one after another, read
    incrementally from UTF-8 bytes: ``(number, text, value)`` each. A syntax error here cannot
    be stepped over (where the next record starts is unknown): the file's MalformedFile."""

    def __init__(self, stream: IO[bytes], array: bool, where: str, *, final: bool = True) -> None:
        self._stream = stream
        self._array = array
        self._where = where
        self._final = final  # the stream ends where the data ends (not a cut sample)
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._eof = False
        self._lines_before = 0  # line breaks in the text dropped from the buffer
        self.done = False

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        pos = self._skip(0)
        if self._buffer.startswith("\ufeff", pos):
            pos = self._skip(pos + 1)
        if self._array:
            pos = self._expect(pos, "[") + 1
            pos = self._skip(pos)
            if self._char(pos) == "]":
                self._finish(pos + 1)
                return
        number = 0
        while True:
            pos = self._skip(pos)
            if self._char(pos) == "":
                if self._array:
                    raise self._malformed(pos, number + 1, "the array is never closed with ']'")
                self.done = True
                return
            value, end = self._decode(pos, number + 1)
            number += 1
            # Not an object: a rejected row when read, as in JSON Lines.
            yield number, self._buffer[pos:end], value
            pos = self._skip(end)
            if self._array:
                char = self._char(pos)
                if char == "]":
                    self._finish(pos + 1)
                    return
                if char == "":
                    raise self._malformed(pos, number, "the array is never closed with ']'")
                if char != ",":
                    raise self._malformed(pos, number, "expected ',' or ']' after the record")
                pos += 1
            if pos > (1 << 20):
                self._lines_before += self._buffer.count("\n", 0, pos)
                self._buffer = self._buffer[pos:]
                pos = 0

    def _decode(self, pos: int, number: int) -> tuple[Any, int]:
        while True:
            try:
                value, end = self._json.raw_decode(self._buffer, pos)
            except json.JSONDecodeError as exc:
                if self._more_could_help(exc, pos):
                    continue
                raise self._malformed(exc.pos, number, exc.msg) from None
            if end < len(self._buffer) or not self._fill():
                return value, end  # a number at the very end could go on in the next read

    def _more_could_help(self, exc: json.JSONDecodeError, pos: int) -> bool:
        cut_short = exc.pos >= len(self._buffer.rstrip()) or exc.msg.startswith("Unterminated")
        if not cut_short:
            return False
        if len(self._buffer) - pos > MAX_RECORD_CHARS:
            raise self._malformed(
                pos, 0, f"a record is longer than {MAX_RECORD_CHARS >> 20} MiB or never ends"
            )
        return self._fill()

    def _skip(self, pos: int) -> int:
        while True:
            match = _SPACE.match(self._buffer, pos)
            assert match is not None
            pos = match.end()
            if pos < len(self._buffer) or not self._fill():
                return pos

    def _char(self, pos: int) -> str:
        return self._buffer[pos] if pos < len(self._buffer) else ""

    def _expect(self, pos: int, char: str) -> int:
        if self._char(pos) != char:
            raise self._malformed(pos, 0, f"expected {char!r}")
        return pos

    def _finish(self, pos: int) -> None:
        pos = self._skip(pos)
        if self._char(pos):
            raise self._malformed(pos, 0, "text follows the array's closing ']'")
        self.done = True

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        chunk = self._stream.read(1 << 20)
        if not chunk:
            self._eof = True
            if self._final:
                self._buffer += self._decoder.decode(b"", final=True)
            return False
        self._buffer += self._decoder.decode(chunk)
        return True

    def _malformed(self, pos: int, number: int, reason: str) -> MalformedFile:
        if not self._final and self._eof:
            return MalformedFile("the sample ends inside a record")  # callers discard it
        line = self._lines_before + self._buffer.count("\n", 0, pos) + 1
        record = f" in record {number}" if number else ""
        return MalformedFile(
            f"{self._where} is not valid JSON: {reason}{record} (line {line}); the records "
            "after it cannot be found.",
            fix="Fix the file's JSON (records before it are read), or write it as JSON Lines, "
            "where a bad line fails alone.",
            line=line,
        )
