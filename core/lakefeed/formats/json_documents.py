"""The layouts of a JSON file, and the incremental reader of the two that are not JSON Lines:
an array of records (``[{…}, {…}]``) and objects one after another (pretty-printed).

:class:`Documents` reads records from a stream of UTF-8 bytes a megabyte at a time with
:meth:`json.JSONDecoder.raw_decode`, so memory is bounded by the largest record, not the file.

Two limits hold for every layout: a record is at most :data:`MAX_RECORD_SIZE` long, and nests
objects and arrays at most :data:`MAX_NESTING` deep (Python's JSON parser stops at about a
thousand levels, and Arrow's type inference would overflow its stack at a few thousand).
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

from lakefeed.errors import MalformedFile

#: The longest record read: a line of JSON Lines (bytes), a record of an array or of
#: pretty-printed objects (characters). A longer line is a rejected row; a longer record of an
#: array fails the file (where the next one starts is unknown).
MAX_RECORD_SIZE = 64 << 20
#: The deepest a record nests objects and arrays (the record itself is level 1). A deeper
#: record is left out of inference and rejected when read.
MAX_NESTING = 64
LINES, ARRAY, DOCUMENTS = "lines", "array", "documents"
_READ_CHARS = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\n\r]*")


def layout_of(text: str, *, final: bool = True) -> str | None:
    """How a member's text holds its rows, from its start: ``array`` (``[``), ``documents``
    (objects spanning lines), else ``lines``; None when it is blank. ``final``: ``text`` is
    the whole member, not its first bytes (where the first object may not end)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return None
    if stripped[0] == "[":
        return ARRAY
    if stripped[0] == "{":
        try:
            _, end = json.JSONDecoder().raw_decode(stripped)
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(stripped.rstrip()) or exc.msg.startswith("Unterminated")
            if not final and cut_short and "\n" in stripped:
                return DOCUMENTS  # the first object goes on past a line break and the text
            return LINES  # a bad first line: a rejected row
        except RecursionError:  # nested too deep to parse: its end found by its brackets
            found = _value_end(stripped)
            if found is None:
                return DOCUMENTS if not final and "\n" in stripped else LINES
            end = found
        if "\n" in stripped[:end]:
            return DOCUMENTS
    return LINES


def is_object(line: str) -> bool:
    """Whether ``line`` is a JSON object nested at most :data:`MAX_NESTING` deep."""
    text = line.strip()
    if not text.startswith("{"):
        return False
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and nesting(value) <= MAX_NESTING


def nesting(value: Any, *, limit: int = MAX_NESTING) -> int:
    """How deep ``value`` (parsed JSON) nests objects and arrays: 0 for a scalar, 1 for an
    object of scalars; counted without recursion, and only to ``limit`` + 1 (deeper is not
    looked into)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def too_deep() -> str:
    """Why a record nested too deep is not read."""
    return (
        f"nests objects or arrays more than {MAX_NESTING} levels deep, deeper than lakefeed "
        "reads: flatten the record (such as a deep value written as a JSON string)"
    )


_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _value_end(text: str) -> int | None:
    """Where the object or array ``text`` starts with ends, found by its brackets (strings
    stepped over) without parsing it; None when it does not end in ``text``."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}"):
            depth -= 1
            if depth == 0:
                return match.end()
    return None


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
            if pos > _READ_CHARS:
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
            except RecursionError:
                raise self._malformed(
                    pos,
                    number,
                    "the record nests objects or arrays too deeply to be parsed (about "
                    f"{sys.getrecursionlimit():,} levels or more)",
                    fix="Flatten the record (such as a deep value written as a JSON string); "
                    "records before it are read.",
                    cut=False,
                ) from None
            if end < len(self._buffer) or not self._fill():
                return value, end  # a number at the very end could go on in the next read

    def _more_could_help(self, exc: json.JSONDecodeError, pos: int) -> bool:
        cut_short = exc.pos >= len(self._buffer.rstrip()) or exc.msg.startswith("Unterminated")
        if not cut_short:
            return False
        held = len(self._buffer) - pos
        if held > MAX_RECORD_SIZE:
            raise self._malformed(
                pos,
                0,
                f"a record is longer than {MAX_RECORD_SIZE >> 20} MiB (the longest lakefeed "
                "reads) or never ends",
            )
        # Twice the record so far: each parse of it starts over, so the reads double.
        return self._fill(min(max(held, _READ_CHARS), MAX_RECORD_SIZE + 1 - held))

    def _skip(self, pos: int) -> int:
        """The position of the next character that is not whitespace (the buffer's end at the
        stream's end). Whitespace read past is dropped, however much of it there is."""
        while True:
            match = _SPACE.match(self._buffer, pos)
            assert match is not None
            pos = match.end()
            if pos < len(self._buffer):
                return pos
            self._lines_before += self._buffer.count("\n", 0, pos)
            self._buffer, pos = "", 0
            if not self._fill():
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

    def _fill(self, size: int = _READ_CHARS) -> bool:
        """Read ``size`` bytes more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        chunk = self._stream.read(max(size, 1))
        if not chunk:
            self._eof = True
            if self._final:
                self._buffer += self._decoder.decode(b"", final=True)
            return False
        self._buffer += self._decoder.decode(chunk)
        return True

    def _malformed(
        self, pos: int, number: int, reason: str, *, fix: str | None = None, cut: bool = True
    ) -> MalformedFile:
        """``cut``: the error may be the sample's end rather than the file's (callers of a cut
        sample discard it)."""
        if cut and not self._final and self._eof:
            return MalformedFile("the sample ends inside a record")
        line = self._lines_before + self._buffer.count("\n", 0, pos) + 1
        record = f" in record {number}" if number else ""
        return MalformedFile(
            f"{self._where} is not valid JSON: {reason}{record} (line {line}); the records "
            "after it cannot be found.",
            fix=fix
            or "Fix the file's JSON (records before it are read), or write it as JSON Lines, "
            "where a bad line fails alone.",
            line=line,
        )
