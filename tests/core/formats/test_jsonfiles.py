"""The JSON format on real files: JSON Lines, arrays and pretty-printed objects, nested values
as structs and lists, types inferred from a sample, rows streamed in batches, and bad lines as
row errors with their line numbers while the other lines go in."""

from __future__ import annotations

import gzip
import json
import pickle
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import lakefeed.formats.json_blocks as json_blocks
import lakefeed.formats.jsonfiles as jsonfiles
from lakefeed.errors import EmptyFile, InvalidFormatOption, MalformedFile, UndecodableText
from lakefeed.formats.jsonfiles import JsonFormat, JsonSample
from lakefeed.formats.text import SAMPLE_BYTES
from lakefeed.plugins import get_plugins
from text_support import LocalFiles, parts_of, rejected_of, rows_of, tar_of, zip_of

JSON = JsonFormat()


@pytest.fixture
def files(tmp_path: Path) -> LocalFiles:
    return LocalFiles(tmp_path)


def lines(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def numbered(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"name {n}"} for n in range(start, start + count)]


def test_registered_through_its_entry_point() -> None:
    plugins = get_plugins()
    found = plugins.file_format("JSON")
    assert isinstance(found, JsonFormat) and found.compressible
    assert {i.name: i for i in plugins.describe()}["json"].module == "lakefeed.formats.jsonfiles"
    for name in ("a.json", "a.JSONL", "a.ndjson.gz", "a.json.bz2"):
        assert plugins.formats().for_file(name) is found


def test_json_lines_with_nested_objects_and_arrays(files: LocalFiles) -> None:
    rows = [
        {"id": 1, "place": {"city": "Oslo", "tags": ["a", "b"]}, "scores": [1.5, 2]},
        {"id": 2, "place": {"city": "Lima", "tags": []}, "scores": []},
    ]
    files.put("p.jsonl", lines(rows))
    inspected = files.inspect(JSON, "p.jsonl")
    assert isinstance(inspected, JsonSample) and inspected.layout == "lines"
    assert inspected.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("place", pa.struct([("city", pa.string()), ("tags", pa.list_(pa.string()))])),
            ("scores", pa.list_(pa.float64())),
        ]
    )
    assert inspected.num_rows == 2
    assert rows_of(files.items(JSON, "p.jsonl")) == [
        {"id": 1, "place": {"city": "Oslo", "tags": ["a", "b"]}, "scores": [1.5, 2.0]},
        {"id": 2, "place": {"city": "Lima", "tags": []}, "scores": []},
    ]


def test_dates_and_timestamps_are_read_as_text_and_inferred_as_such(files: LocalFiles) -> None:
    files.put(
        "t.jsonl",
        lines([{"day": "2026-01-02", "at": "2026-01-02T03:04:05Z", "gone": None, "n": 1}]),
    )
    inspected = files.inspect(JSON, "t.jsonl")
    typed = {f.name: str(f.type) for f in inspected.typed_schema()}
    assert typed == {"day": "date32[day]", "at": "timestamp[s]", "gone": "string", "n": "int64"}
    assert [f["type"] for f in inspected.to_dict()["schema"]] == list(typed.values())
    read = {f.name: str(f.type) for f in inspected.schema}
    assert read == {"day": "string", "at": "string", "gone": "string", "n": "int64"}
    assert rows_of(files.items(JSON, "t.jsonl")) == [
        {"day": "2026-01-02", "at": "2026-01-02T03:04:05Z", "gone": None, "n": 1}
    ]


def test_missing_fields_are_null(files: LocalFiles) -> None:
    files.put("m.jsonl", b'{"a": 1, "b": "x"}\n{"a": 2}\n\n{"b": "y"}\n')
    assert rows_of(files.items(JSON, "m.jsonl")) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": None},
        {"a": None, "b": "y"},
    ]


def test_bad_lines_are_rejected_with_their_numbers_and_the_rest_read(files: LocalFiles) -> None:
    files.put(
        "bad.jsonl",
        b'{"id": 1, "name": "a"}\n'
        b'{"id": 2, "name": \n'  # malformed
        b"[1, 2]\n"  # not an object
        b'{"id": "three"}\n'  # a string where the sample has numbers
        b'{"id": 4, "colour": "red"}\n'  # a field the sample does not have
        b'{"id": 5.5}\n'  # not an integer
        b'{"id": 6, "name": "f"}\n',
    )
    inspected = files.inspect(JSON, "bad.jsonl")
    items = list(JSON.read_rows(str(files.root / "bad.jsonl"), inspected, batch_rows=100))
    assert rows_of(items) == [{"id": 1, "name": "a"}, {"id": 6, "name": "f"}]
    rejected = {r.number: r for r in rejected_of(items)}
    assert sorted(rejected) == [2, 3, 4, 5, 6]
    assert rejected[2].text == '{"id": 2, "name":'
    assert rejected[2].message.startswith("is not valid JSON")
    assert "is a JSON array, not an object" in rejected[3].message
    assert "field 'id' is a string here but a number" in rejected[4].message
    assert "has the field 'colour'" in rejected[5].message
    assert "5.5" in rejected[6].message
    # Rows come in the file's order: the rejected ones between the good rows around them.
    kinds = ["rows" if isinstance(i, pa.RecordBatch) else "rejected" for i in items]
    assert kinds == ["rows", "rejected", "rows"]


def test_a_bad_line_in_a_large_file_costs_only_its_block(
    files: LocalFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_blocks, "BLOCK_BYTES", 64 * 1024)
    rows = numbered(50_000)
    data = bytearray(lines(rows))
    text = data.decode().split("\n")
    text[30_000] = text[30_000][:-3]  # line 30001 loses its end
    files.put("big.jsonl", "\n".join(text).encode())
    items = files.items(JSON, "big.jsonl", batch_rows=4096)
    assert all(i.num_rows <= 4096 for i in items if isinstance(i, pa.RecordBatch))
    ((number, message),) = [(r.number, r.message) for r in rejected_of(items)]
    assert number == 30_001 and "not valid JSON" in message
    ids = [r["id"] for r in rows_of(items)]
    assert ids == [n for n in range(50_000) if n != 30_000]


def test_a_file_larger_than_the_sample_is_read_whole(files: LocalFiles) -> None:
    files.put("big.jsonl.gz", gzip.compress(lines(numbered(120_000))))
    inspected = files.inspect(JSON, "big.jsonl.gz")
    assert inspected.num_rows is None
    assert files.bytes_read() <= SAMPLE_BYTES
    items = files.items(JSON, "big.jsonl.gz", batch_rows=10_000)
    assert sum(i.num_rows for i in items) == 120_000
    assert rows_of(items)[-1] == {"id": 119_999, "name": "name 119999"}


def test_a_json_array_of_objects(files: LocalFiles) -> None:
    records = [{"id": 1, "a": {"b": [1, 2]}}, {"id": 2}, [3], {"id": 4, "a": {"b": []}}]
    files.put("array.json", json.dumps(records, indent=2))
    inspected = files.inspect(JSON, "array.json")
    assert isinstance(inspected, JsonSample) and inspected.layout == "array"
    assert inspected.schema == pa.schema(
        [("id", pa.int64()), ("a", pa.struct([("b", pa.list_(pa.int64()))]))]
    )
    items = files.items(JSON, "array.json")
    assert [r["id"] for r in rows_of(items)] == [1, 2, 4]
    ((rejected),) = rejected_of(items)
    assert rejected.number == 3 and "not an object" in rejected.message  # the record's number


def test_a_large_array_streams_across_reads(files: LocalFiles) -> None:
    records = numbered(60_000)  # about 2 MB: more than one read of the parser
    files.put("big.json", json.dumps(records))
    assert files.inspect(JSON, "big.json").num_rows is None
    items = files.items(JSON, "big.json", batch_rows=5000)
    assert [r["id"] for r in rows_of(items)] == list(range(60_000))


def test_an_empty_array_has_no_rows(files: LocalFiles) -> None:
    files.put("none.json", b" [ ] \n")
    assert files.inspect(JSON, "none.json").num_rows == 0
    assert files.items(JSON, "none.json") == []


def test_a_syntax_error_in_an_array_fails_the_file_after_the_records_before(
    files: LocalFiles,
) -> None:
    files.put("cut.json", b'[{"id": 1},\n {"id": 2}\n {"id": 3}]')
    with pytest.raises(MalformedFile) as caught:
        files.inspect(JSON, "cut.json")
    assert "line 3" in caught.value.message and caught.value.details["line"] == 3
    good = files.put("ok.json", b'[{"id": 1}, {"id": 2}]')
    inspected = files.inspect(JSON, "ok.json")
    files.put("ok.json", b'[{"id": 1}, {"id": 2} {"id": 3}]')  # changed after inspection
    read: list[Any] = []
    with pytest.raises(MalformedFile, match="expected ',' or ']'"):
        for item in JSON.read_rows(good.path, inspected, batch_rows=100):
            read.append(item)
    files.put("open.json", b'[{"id": 1}, {"id": 2}')
    with pytest.raises(MalformedFile, match="never closed"):
        files.inspect(JSON, "open.json")


def test_pretty_printed_objects_one_after_another(files: LocalFiles) -> None:
    files.put(
        "pretty.json", json.dumps({"id": 1}, indent=2) + "\n" + json.dumps({"id": 2}, indent=2)
    )
    inspected = files.inspect(JSON, "pretty.json")
    assert isinstance(inspected, JsonSample) and inspected.layout == "documents"
    assert rows_of(files.items(JSON, "pretty.json")) == [{"id": 1}, {"id": 2}]


def test_fields_beyond_the_sample_are_rejected_naming_the_field(files: LocalFiles) -> None:
    first = numbered(10_000)
    files.put("late.jsonl", lines([*first, {"id": 1, "name": "x", "extra": {"deep": 1}}]))
    rejected = rejected_of(files.items(JSON, "late.jsonl"))
    assert [r.number for r in rejected] == [10_001]
    assert "has the field 'extra'" in rejected[0].message
    assert "10,000 rows" in rejected[0].message


def test_empty_and_blank_files(files: LocalFiles) -> None:
    files.put("empty.json", b"")
    with pytest.raises(EmptyFile):
        files.inspect(JSON, "empty.json")
    files.put("blank.jsonl", b"\n \n\t\n")
    with pytest.raises(EmptyFile) as caught:
        files.inspect(JSON, "blank.jsonl")
    assert "106" in caught.value.message and "header" not in caught.value.message


def test_encoding(files: LocalFiles) -> None:
    files.put("l.jsonl", '{"city": "Zürich"}\n'.encode("iso-8859-1"))
    latin = JSON.configure({"encoding": "iso-8859-1"})
    assert rows_of(files.items(latin, "l.jsonl")) == [{"city": "Zürich"}]
    with pytest.raises(UndecodableText):
        files.inspect(JSON.configure({"encoding": "UTF-16"}), "l.jsonl")
    files.put("u16.json", '[{"city": "Zürich"}]'.encode("utf-16"))
    assert rows_of(files.items(JSON.configure({"encoding": "UTF-16"}), "u16.json")) == [
        {"city": "Zürich"}
    ]


def test_invalid_utf8_rejects_the_line(files: LocalFiles) -> None:
    files.put("u.jsonl", b'{"c": "ok"}\n{"c": "caf\xe9"}\n{"c": "fine"}\n')
    items = files.items(JSON, "u.jsonl")
    assert rows_of(items) == [{"c": "ok"}, {"c": "fine"}]
    ((bad),) = rejected_of(items)
    assert bad.number == 2 and "not UTF-8" in bad.message and "encoding" in bad.message
    files.put("u.json", b'[{"c": "ok"}, {"c": "caf\xe9"}]')  # no line to reject alone
    with pytest.raises(UndecodableText, match="0xe9"):
        files.items(JSON, "u.json")


def test_archives_and_compression(files: LocalFiles) -> None:
    files.put(
        "b.zip",
        zip_of({"a.jsonl": lines(numbered(2)), "b.json": json.dumps(numbered(1, 5)).encode()}),
    )
    items = files.items(JSON, "b.zip")
    assert parts_of(items) == [("started", "a.jsonl"), ("started", "b.json")]
    assert [r["id"] for r in rows_of(items)] == [0, 1, 5]
    files.put("t.tar.gz", tar_of({"x.jsonl": lines(numbered(3))}, gz=True))
    assert len(rows_of(files.items(JSON, "t.tar.gz"))) == 3


def test_options() -> None:
    configured = JSON.configure({"Encoding": "latin-1", "compressionType": "tgz"})
    assert configured.settings() == {"encoding": "ISO-8859-1", "compressionType": "tarGzip"}
    assert JSON.settings() == {"encoding": "UTF-8", "compressionType": None}
    assert JSON.configure(configured.settings()) == configured
    assert JSON.configure({"encoding": None, "compressionType": None}) == JSON
    assert pickle.loads(pickle.dumps(configured)) == configured
    with pytest.raises(InvalidFormatOption) as caught:
        JSON.configure({"columnDelimiter": ","})
    assert "Unknown property 'columnDelimiter' for JSON files" in caught.value.message
    assert "encoding, compressionType" in caught.value.message


def test_samples_pickle(files: LocalFiles) -> None:
    files.put("p.jsonl", lines([{"a": {"b": [1]}}]))
    inspected = files.inspect(JSON, "p.jsonl")
    assert pickle.loads(pickle.dumps(inspected)) == inspected


# -- long lines, long records, deep nesting -------------------------------------------------------

#: 2 MiB: longer than Arrow's 1 MiB JSON block and than the sample inspection reads.
BIG = "x" * (2 << 20)


def test_records_longer_than_arrows_block_are_read(files: LocalFiles) -> None:
    """Before, such a line was rejected: "straddling object straddles two block boundaries"."""
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": BIG}, {"id": 3, "name": "c"}]
    files.put("mid.jsonl", lines(rows))
    items = files.items(JSON, "mid.jsonl")
    assert rejected_of(items) == []
    assert rows_of(items) == rows
    files.put("mid.json", json.dumps(rows))
    items = files.items(JSON, "mid.json")
    assert rejected_of(items) == [] and rows_of(items) == rows


@pytest.mark.parametrize(
    "name", ["first.jsonl", "first.jsonl.gz", "first.zip", "first.json", "pretty.json"]
)
def test_a_first_record_longer_than_the_sample_still_gives_the_schema(
    files: LocalFiles, name: str
) -> None:
    """Inspection reads on to the end of the first records; before, it inferred no fields and
    every row of the file was rejected."""
    rows = [{"id": 1, "name": BIG}, {"id": 2, "name": "b", "tags": ["t"]}]
    data = {
        "first.jsonl": lines(rows),
        "first.jsonl.gz": gzip.compress(lines(rows)),
        "first.zip": zip_of({"a.jsonl": lines(rows), "b.jsonl": lines(numbered(1, 3))}),
        "first.json": json.dumps(rows).encode(),
        "pretty.json": "\n".join(json.dumps(row, indent=2) for row in rows).encode(),
    }[name]
    files.put(name, data)
    inspected = files.inspect(JSON, name)
    assert inspected.schema == pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("tags", pa.list_(pa.string()))]
    )
    assert inspected.num_rows == (None if name.endswith(".zip") else 2)
    items = files.items(JSON, name)
    assert rejected_of(items) == []
    assert [row["id"] for row in rows_of(items)] == ([1, 2, 3] if name.endswith(".zip") else [1, 2])


@pytest.mark.parametrize("over", [1, 40_000, 3_000_000])
def test_a_line_longer_than_the_cap_is_a_rejected_row_and_stepped_over(
    files: LocalFiles, monkeypatch: pytest.MonkeyPatch, over: int
) -> None:
    monkeypatch.setattr(json_blocks, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(json_blocks, "MAX_RECORD_SIZE", 1 << 20)
    monkeypatch.setattr(jsonfiles, "MAX_RECORD_SIZE", 1 << 20)
    under = {"id": 2, "name": "y" * 700_000}  # across blocks, under the cap: read
    prefix = b'{"id": 3, "name": "'
    too_long = prefix + b"z" * ((1 << 20) + over - len(prefix) - 2) + b'"}'
    assert len(too_long) == (1 << 20) + over
    data = lines([{"id": 1, "name": "a"}, under]) + too_long + b"\n"
    data += b'{"id": "five"}\n' + lines(numbered(2, 6))
    files.put("long.jsonl", data)
    items = files.items(JSON, "long.jsonl")
    assert [row["id"] for row in rows_of(items)] == [1, 2, 6, 7]
    rejected = rejected_of(items)
    assert [row.number for row in rejected] == [3, 4]  # the lines after keep their numbers
    assert rejected[0].message.startswith("is longer than 1 MiB, the longest line")
    assert "line break" in rejected[0].message
    assert rejected[0].text is not None and rejected[0].text.startswith('{"id": 3, "name": "zzz')
    # The last line, without a line break after it, the same.
    files.put("last.jsonl", lines([{"id": 1, "name": "a"}]) + too_long)
    items = files.items(JSON, "last.jsonl")
    assert rows_of(items) == [{"id": 1, "name": "a"}]
    assert [row.number for row in rejected_of(items)] == [2]


def test_a_line_without_an_end_keeps_memory_bounded(tmp_path: Path) -> None:
    """A 0.5 MB gzip whose second line is 512 MiB of one string: it is rejected once it passes
    the 64 MiB cap and stepped over unkept. Before, reading it took 1.6 GB (every block was
    appended to a copy of the line so far)."""
    probe = textwrap.dedent(
        f"""
        import gzip, json, os, resource
        from lakefeed.files import FileEntry
        from lakefeed.formats import RejectedRows
        from lakefeed.formats.jsonfiles import JsonFormat
        path = {str(tmp_path / "bomb.jsonl.gz")!r}
        block = gzip.compress(b"x" * (16 << 20), compresslevel=9)
        with open(path, "wb") as out:  # gzip members one after another read as one stream
            out.write(gzip.compress(b'{{"id": 1}}\\n{{"id": 2, "s": "'))
            for _ in range(32):
                out.write(block)
            out.write(gzip.compress(b'"}}\\n{{"id": 3}}\\n'))
        def read(ranges):
            found = []
            for entry, start, end in ranges:
                with open(entry.path, "rb") as handle:
                    handle.seek(start)
                    found.append(handle.read(end - start))
            return found
        fmt = JsonFormat()
        ((_, sample),) = fmt.inspect([FileEntry(path, os.path.getsize(path))], read)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows, rejected = 0, []
        for item in fmt.read_rows(path, sample, batch_rows=65536):
            if isinstance(item, RejectedRows):
                rejected.extend(row.number for row in item.rows)
            else:
                rows += item.num_rows
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps([rows, rejected, (after - before) // 1024]))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows, rejected, grown_mib = json.loads(done.stdout)
    assert rows == 2 and rejected == [2]  # the lines after it are read
    assert grown_mib < 400, f"reading grew the process by {grown_mib} MiB"


#: Arrays 50,000 deep: past what Python's JSON parser reads (and Arrow's inference survives).
DEEP = "[" * 50_000 + "]" * 50_000


def test_a_line_nested_too_deep_is_a_rejected_row(files: LocalFiles) -> None:
    """Before, RecursionError escaped from inspection and reading alike."""
    files.put("deep.jsonl", '{"id": 1, "name": "a"}\n{"id": 2, "name": ' + DEEP + '}\n{"id": 3}\n')
    assert files.inspect(JSON, "deep.jsonl").schema.names == ["id", "name"]
    items = files.items(JSON, "deep.jsonl")
    assert [row["id"] for row in rows_of(items)] == [1, 3]
    (rejected,) = rejected_of(items)
    assert rejected.number == 2 and "more than 64 levels deep" in rejected.message
    # First: the schema comes from the other lines.
    files.put("first.jsonl", '{"a": ' + DEEP + '}\n{"id": 1}\n')
    items = files.items(JSON, "first.jsonl")
    assert rows_of(items) == [{"id": 1}] and [r.number for r in rejected_of(items)] == [1]
    # Deep enough for Python's parser, past MAX_NESTING: left out of inference, rejected.
    nested: dict[str, Any] = {"id": 4}
    for _ in range(100):
        nested = {"in": nested}
    files.put("hundred.jsonl", lines([{"id": 1}, nested, {"id": 2}]))
    assert files.inspect(JSON, "hundred.jsonl").schema.names == ["id"]
    items = files.items(JSON, "hundred.jsonl")
    assert rows_of(items) == [{"id": 1}, {"id": 2}]
    (rejected,) = rejected_of(items)
    assert rejected.number == 2 and "more than 64 levels deep" in rejected.message


@pytest.mark.parametrize(
    ("data", "record"),
    [
        (DEEP, 1),  # an array whose first record is an array nested too deep
        ('[{"id": 1}, {"a": ' + DEEP + "}]", 2),
        ('{\n  "a": ' + DEEP + "\n}\n", 1),  # pretty-printed objects
        ('{\n  "id": 1\n}\n{\n  "a": ' + DEEP + "\n}\n", 2),
    ],
)
def test_an_array_or_documents_nested_too_deep_fails_the_file_naming_it(
    files: LocalFiles, data: str, record: int
) -> None:
    files.put("deep.json", data)
    with pytest.raises(MalformedFile) as caught:
        files.inspect(JSON, "deep.json")
    assert "nests objects or arrays too deeply" in caught.value.message
    assert f"in record {record}" in caught.value.message
    assert "Flatten the record" in (caught.value.fix or "")


def test_pretty_printed_objects_whose_first_is_longer_than_the_peek_are_read(
    files: LocalFiles,
) -> None:
    """Reading looks at a member's first 64 KiB for its layout: a first object that goes on
    past them over a line break is pretty-printed, not a line (before: every line rejected)."""
    rows = [{"id": 1, "name": "x" * 200_000}, {"id": 2, "name": "b"}]
    files.put("pretty.json", "\n".join(json.dumps(row, indent=2) for row in rows))
    items = files.items(JSON, "pretty.json")
    assert rejected_of(items) == [] and rows_of(items) == rows


def test_whitespace_between_records_is_not_held(files: LocalFiles) -> None:
    """An array with 64 MB of blanks between two records: reading holds a read's worth of them,
    not all (before, every blank stayed in the parser's buffer until the next record)."""
    blank = b" " * (64 << 20)
    files.put("airy.json", b'[{"id": 1},' + blank + b'{"id": 2}' + blank + b"]")
    inspected = files.inspect(JSON, "airy.json")
    tracemalloc.start()
    try:
        items = list(JSON.read_rows(str(files.root / "airy.json"), inspected, batch_rows=100))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows_of(items) == [{"id": 1}, {"id": 2}]
    assert peak < 16 << 20, f"reading held {peak >> 20} MiB"
