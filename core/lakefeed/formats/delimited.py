"""Delimited text (CSV, TSV, …), Flow Service's ``data.format`` ``delimited``: every column
read as text, the types inferred from a sample, rows streamed through Arrow's CSV reader.

Rows are read as strings (``schema``); the target schema's conversions turn them into numbers,
booleans, dates and timestamps row by row, so one bad value fails one row, not the file. The
types inference finds in the sample (``DelimitedSample.inferred``) are what ``inspect`` shows
and what ``ingest --infer`` creates a schema from. Rows with too many or too few fields, and
rows with bytes that are not UTF-8, come out as :class:`~lakefeed.formats.base.RejectedRows`
with their line numbers; what makes the rest unreadable (an unclosed quote, a file not in its
encoding) fails the file, naming the line and the fix.

Reading one member's rows (rejected rows placed and numbered, quotes checked) is
:mod:`lakefeed.formats.delimited_rows`. Registered through the ``lakefeed`` entry point
``delimited`` like any format plugin.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, ClassVar

from lakefeed.errors import InvalidFormatOption, MalformedFile, UndecodableText
from lakefeed.files import FileEntry
from lakefeed.formats.base import FileFormat, InspectedFile, RowItem
from lakefeed.formats.compression import (
    binary,
    inner_name,
    with_compressions,
)
from lakefeed.formats.delimited_rows import (
    MemberRows,
    RowOptions,
    Tail,
    unbalanced,
    unclosed_quote,
)
from lakefeed.formats.text import (
    COMPRESSION_PROPERTY,
    ENCODING_PROPERTY,
    SAMPLE_ROWS,
    Head,
    Prefixed,
    TextFormat,
    TextSample,
    boolean,
    compression,
    count,
    cut_text,
    empty_file,
    encoding,
    encoding_label,
    is_utf8,
    one_character,
    read_at_most,
    strings,
    where,
)
from lakefeed.markers import hookimpl

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes Arrow parses at a time: a quoted value may be at most this long. Arrow reads up to 32
#: blocks ahead of the rows it hands out, so this bounds the memory a read takes too.
BLOCK_BYTES = 4 << 20
#: Bytes looked at before the rows are parsed (an empty member, a header without a line break).
_PEEK_BYTES = 64 * 1024
#: The delimiter of a file whose name says it, when ``columnDelimiter`` is not given.
_DELIMITER_BY_EXTENSION = {".tsv": "\t", ".tab": "\t", ".psv": "|"}


@dataclass(frozen=True)
class DelimitedSample(TextSample):
    """A delimited file as inspection sampled it: ``schema`` is every column as ``string``
    (what its rows are read as), ``inferred`` the types its sample suggests."""

    #: the column names as the header spells them (empty names included), to check an
    #: archive's other members against
    header: tuple[str, ...] = ()
    delimiter: str = ","


@dataclass(frozen=True, repr=False)
class DelimitedFormat(TextFormat):
    """Delimited text files. Configure with :meth:`configure` (``data.properties``)."""

    name = "delimited"
    label = "Delimited"
    extensions = with_compressions((".csv", ".tsv", ".tab", ".psv"))
    data_formats = ("delimited", "csv")
    file_type = "delimited"
    properties: ClassVar[Mapping[str, str]] = {
        "columnDelimiter": "the character between values: ',' by default (tab for .tsv and "
        ".tab files, '|' for .psv); any one ASCII character, '\\t' for a tab",
        "quoteChar": "the character quoting values that hold the delimiter or line breaks: "
        "'\"' by default; '' for none",
        "escapeChar": "the character escaping a quote inside a quoted value (such as '\\\\'); "
        "none by default (a quote inside a quoted value is written twice)",
        "encoding": ENCODING_PROPERTY,
        "nullValues": 'values read as null, such as ["NA", "-"]; empty values are null '
        "in every column that is not text",
        "skipRows": "lines to skip before the header (or the first row): 0 by default",
        "header": "whether the first row names the columns: true by default; false names "
        "them _c0, _c1, …",
        "compressionType": COMPRESSION_PROPERTY,
    }

    delimiter: str | None = None  # None: by the file name, else ','
    quote: str | None = '"'
    escape: str | None = None
    encoding: str = "utf-8"  # a Python codec name
    null_values: tuple[str, ...] = ()
    skip_rows: int = 0
    header: bool = True
    compression: str | None = None

    # -- options -------------------------------------------------------------------------------

    def configure(self, properties: Mapping[str, Any]) -> DelimitedFormat:
        given = self.check_properties(properties)
        parse: dict[str, tuple[str, Callable[[Any], Any]]] = {
            "columnDelimiter": ("delimiter", lambda v: one_character("columnDelimiter", v)),
            "quoteChar": ("quote", lambda v: one_character("quoteChar", v, allow_none=True)),
            "escapeChar": ("escape", lambda v: one_character("escapeChar", v, allow_none=True)),
            "encoding": ("encoding", encoding),
            "nullValues": ("null_values", lambda v: strings("nullValues", v)),
            "skipRows": ("skip_rows", lambda v: count("skipRows", v)),
            "header": ("header", lambda v: boolean("header", v)),
            "compressionType": ("compression", compression),
        }
        defaults: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, value in given.items():
            attribute, read = parse[key]
            # null is the default, so settings() given back configure the same format
            changes[attribute] = defaults[attribute] if value is None else read(value)
        configured = dataclasses.replace(self, **changes)
        configured._check_characters()
        return configured

    def _check_characters(self) -> None:
        chars = {"columnDelimiter": self.delimiter, "quoteChar": self.quote}
        chars["escapeChar"] = self.escape
        seen: dict[str, str] = {}
        for key, char in chars.items():
            if char is None:
                continue
            if char in seen:
                raise InvalidFormatOption(
                    f"{key} and {seen[char]} are both {char!r}.",
                    fix="Give them different characters.",
                    property=key,
                )
            seen[char] = key

    def settings(self) -> dict[str, Any]:
        return {
            "columnDelimiter": self.delimiter,
            "quoteChar": self.quote or "",
            "escapeChar": self.escape,
            "encoding": encoding_label(self.encoding),
            "nullValues": list(self.null_values),
            "skipRows": self.skip_rows,
            "header": self.header,
            "compressionType": self.compression,
        }

    def delimiter_for(self, file_name: str) -> str:
        if self.delimiter is not None:
            return self.delimiter
        plain = inner_name(file_name).lower()  # "a.tsv.gz" → "a.tsv"
        for ext, delimiter in _DELIMITER_BY_EXTENSION.items():
            if plain.endswith(ext):
                return delimiter
        return ","

    def __repr__(self) -> str:
        return f"<DelimitedFormat {self.settings()}>"

    # -- inspection ----------------------------------------------------------------------------

    def sample(self, entry: FileEntry, head: Head) -> DelimitedSample:
        import pyarrow as pa

        text = self._sample_text(entry, head)
        lines_wanted = self.skip_rows + int(self.header) + SAMPLE_ROWS
        cut = _nth_line_end(text, lines_wanted)
        complete = head.complete and cut == len(text)
        data = text[:cut].encode("utf-8")
        delimiter = self.delimiter_for(head.member)
        rejected: list[Any] = []
        typed = self._parse(entry, data, delimiter, rejected, infer=True)
        if complete:  # the last row of a cut sample may be cut inside a quoted value
            for row in rejected:
                if unbalanced(row.text or "", self.quote, self.escape):
                    raise unclosed_quote(repr(entry.path), row.number or 0)
            if typed.num_rows and self.left_open(typed.column(-1)[-1].as_py(), data, "utf-8"):
                last = self.skip_rows + int(self.header) + typed.num_rows + len(rejected)
                raise unclosed_quote(repr(entry.path), last)
        raw = list(typed.column_names)
        names = [n if n and self.header else f"_c{i}" for i, n in enumerate(raw)]
        texts = None
        if any(pa.types.is_integer(t) or pa.types.is_floating(t) for t in typed.schema.types):
            texts = self._parse(entry, data, delimiter, [], infer=False)
        inferred = pa.schema(
            [
                pa.field(name, _refine(column, None if texts is None else texts.column(i)))
                for i, (name, column) in enumerate(zip(names, typed.columns, strict=True))
            ]
        )
        schema = pa.schema([pa.field(name, pa.string()) for name in names])
        rows = typed.num_rows + len(rejected)
        return DelimitedSample(
            entry,
            schema,
            num_rows=rows if complete and head.whole_file else None,
            inferred=inferred,
            header=tuple(raw) if self.header else (),
            delimiter=delimiter,
            sampled_rows=typed.num_rows,
        )

    def _sample_text(self, entry: FileEntry, head: Head) -> str:
        utf8 = is_utf8(self.encoding)
        decoder = codecs.getincrementaldecoder(self.encoding)("replace" if utf8 else "strict")
        try:
            text = decoder.decode(head.data, final=head.complete)
        except UnicodeDecodeError as exc:
            raise undecodable(entry.path, head.member, self.encoding, exc) from None
        text = text.removeprefix("\ufeff")
        if not text.strip():
            raise empty_file(entry.path, head.member)
        if not head.complete and "\n" in text:
            text = text[: text.rindex("\n") + 1]  # whole lines only
        elif not text.endswith(("\n", "\r")):
            text += "\n"  # Arrow reads a header without a line break as no header at all
        return text

    def _parse(
        self, entry: FileEntry, data: bytes, delimiter: str, rejected: list[Any], *, infer: bool
    ) -> pa.Table:
        import pyarrow as pa
        import pyarrow.csv as csv

        def reject(row: Any) -> str:
            rejected.append(row)
            return "skip"

        read = csv.ReadOptions(
            use_threads=False,
            block_size=max(len(data) + 1, 1 << 16),
            skip_rows=self.skip_rows,
            autogenerate_column_names=not self.header,
        )
        parse = self._parse_options(delimiter, reject)
        if infer:
            convert = csv.ConvertOptions(
                null_values=["", *self.null_values], strings_can_be_null=True
            )
        else:
            convert = csv.ConvertOptions(column_types=_all(pa.string(), data, read, parse))
        try:
            return csv.read_csv(pa.BufferReader(data), read, parse, convert)
        except pa.ArrowInvalid as exc:
            if "empty csv" in str(exc).lower():
                raise empty_file(entry.path) from None
            raise MalformedFile(
                f"{entry.path!r} cannot be read as delimited text: {cut_text(str(exc))}.",
                fix="Check columnDelimiter, quoteChar, escapeChar and skipRows.",
            ) from None

    def left_open(self, value: Any, tail: bytes, codec: str) -> bool:
        """Whether ``value``, the last value of a member's last row, is a quoted value never
        closed: Arrow reads one to the end of the member, so it holds a line break and the
        member ends with it as written (quotes doubled), where a closed one ends with its
        closing quote. ``tail``: the member's last bytes (more than the value), in ``codec``."""
        if not self.quote or self.escape or not isinstance(value, str | bytes):
            return False  # with an escape character, the written form is not one string
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if "\n" not in text and "\r" not in text:
            return False
        if not (is_utf8(codec) or _ascii_based(codec)):
            return False  # a cut of its bytes does not decode (UTF-16): not told
        written = text.replace(self.quote, self.quote * 2)
        return tail.decode(codec, "replace").endswith(written)

    def _parse_options(self, delimiter: str, reject: Callable[[Any], str]) -> Any:
        import pyarrow.csv as csv

        return csv.ParseOptions(
            delimiter=delimiter,
            quote_char=self.quote or False,
            escape_char=self.escape or False,
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=reject,
        )

    # -- rows ----------------------------------------------------------------------------------

    def member_rows(
        self, stream: IO[bytes], file: InspectedFile, member: str, *, batch_rows: int
    ) -> Iterator[RowItem]:
        import pyarrow as pa
        import pyarrow.csv as csv

        path = file.entry.path
        here = where(path, member)
        names = file.schema.names
        header = file.header if isinstance(file, DelimitedSample) else tuple(names)
        delimiter = (
            file.delimiter if isinstance(file, DelimitedSample) else self.delimiter_for(member)
        )
        peek = read_at_most(stream, _PEEK_BYTES)
        if len(peek) < _PEEK_BYTES:  # all of it
            if not _has_text(peek, self.encoding):
                raise empty_file(path, member)
            if b"\n" not in peek and b"\r" not in peek and "\n".encode(self.encoding) == b"\n":
                peek += b"\n"  # Arrow reads a header without a line break as no header at all
        source = Tail(binary(Prefixed(peek, stream)), 4 * BLOCK_BYTES)
        options = RowOptions(
            self.quote, self.escape, self.header, self.skip_rows, self.encoding, BLOCK_BYTES,
            self.left_open,
        )  # fmt: skip
        rows = MemberRows(options, here, delimiter, source)
        read = csv.ReadOptions(
            use_threads=False,  # rejected rows are numbered only when parsed in order
            block_size=BLOCK_BYTES,
            skip_rows=self.skip_rows,
            column_names=None if self.header else list(names),
            encoding="utf8" if is_utf8(self.encoding) else self.encoding,
        )
        column_names = list(header) if self.header else list(names)
        convert = csv.ConvertOptions(
            column_types=dict.fromkeys(column_names, pa.binary()),
            null_values=list(self.null_values),
            strings_can_be_null=bool(self.null_values),
        )
        parse = self._parse_options(delimiter, rows.reject)
        try:
            reader = csv.open_csv(source, read, parse, convert)
            if self.header and tuple(reader.schema.names) != tuple(header):
                raise MalformedFile(
                    f"{here} has the columns {list(reader.schema.names)}, but "
                    f"{path!r} was inspected with {list(header)}.",
                    fix="Put files with other columns in an archive (or folder) of their own.",
                )
            for batch in reader:
                yield from rows.batch(batch, names, batch_rows)
            yield from rows.finish()
        except pa.ArrowInvalid as exc:
            raise rows.failure(exc) from None
        except UnicodeDecodeError as exc:
            raise undecodable(path, member, self.encoding, exc) from None


def _all(type_: Any, data: bytes, read: Any, parse: Any) -> dict[str, Any]:
    """Every column of ``data`` as ``type_`` (by the names Arrow gives them)."""
    import pyarrow as pa
    import pyarrow.csv as csv

    names = csv.open_csv(pa.BufferReader(data), read, parse).schema.names
    return dict.fromkeys(names, type_)


def _refine(column: Any, texts: Any) -> Any:
    """The type to infer for a sampled column, beyond Arrow's choice: no values → string;
    integers with leading zeros (codes, zip codes) → string, keeping the zeros; integers
    beyond 64 bits, which Arrow reads as doubles → string; times of day → string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_null(t) or pa.types.is_time(t):
        return pa.string()
    if texts is not None and pa.types.is_integer(t):
        zeros = pc.match_substring_regex(texts, r"^\s*[+-]?0\d")
        if pc.any(zeros).as_py():
            return pa.string()
    if texts is not None and pa.types.is_floating(t):
        too_long = pc.match_substring_regex(texts, r"^\s*[+-]?\d{19,}\s*$")
        if pc.any(too_long).as_py():
            return pa.string()
    return t


def _nth_line_end(text: str, lines: int) -> int:
    """Where the first ``lines`` lines of ``text`` end (the whole text when it has fewer)."""
    position = 0
    for _ in range(lines):
        found = text.find("\n", position)
        if found < 0:
            return len(text)
        position = found + 1
    return position


@functools.cache
def _ascii_based(codec: str) -> bool:
    """Whether ``codec`` writes ASCII as ASCII, one byte each, and no other character with
    those bytes (UTF-8, ISO-8859-1, windows-1252, …): a cut of its bytes decodes past the cut."""
    try:
        ascii_bytes = bytes(range(128))
        return ascii_bytes.decode(codec) == ascii_bytes.decode("ascii") and all(
            len(codecs.getincrementaldecoder(codec)("replace").decode(bytes([b]))) == 1
            for b in range(128, 256)
        )
    except (LookupError, UnicodeError, ValueError):
        return False


def _has_text(data: bytes, codec: str) -> bool:
    try:
        return bool(data.decode(codec, "replace").lstrip("\ufeff").strip())
    except LookupError:
        return bool(data.strip())


def undecodable(path: str, member: str, codec: str, exc: UnicodeDecodeError) -> UndecodableText:
    byte = exc.object[exc.start : exc.start + 1].hex() if exc.object else "?"
    return UndecodableText(
        f"{where(path, member)} is not {encoding_label(codec)} text: byte 0x{byte} ({exc.reason}).",
        fix="Set the encoding property to the files' encoding (such as UTF-8, ISO-8859-1 or "
        "windows-1252).",
        encoding=encoding_label(codec),
    )


@hookimpl
def register_formats(register: Callable[[FileFormat], None]) -> None:
    register(DelimitedFormat())
