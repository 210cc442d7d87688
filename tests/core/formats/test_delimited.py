"""The delimited (CSV) format on real files: its options, inference from a bounded sample read
through ranged reads, rows streamed as text in batches, compression and archives, and every
kind of bad input as a row error with its line number or as the file's error."""

from __future__ import annotations

import bz2
import gzip
import pickle
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import lakefeed.formats.delimited as delimited
from lakefeed.errors import (
    CorruptCompressedFile,
    EmptyFile,
    InvalidFormatOption,
    MalformedFile,
    UndecodableText,
)
from lakefeed.formats import PartFailed, RangeStream, RejectedRows
from lakefeed.formats.delimited import DelimitedFormat, DelimitedSample
from lakefeed.formats.parquet import ParquetFormat
from lakefeed.formats.text import SAMPLE_BYTES
from lakefeed.plugins import get_plugins
from text_support import (
    LocalFiles,
    damage_zip_member,
    parts_of,
    rejected_of,
    rows_of,
    tar_of,
    zip_of,
)

CSV = DelimitedFormat()
ORDERS = "id,item,price,paid\n1,tea,2.5,true\n2,cake,4,false\n3,jam,,true\n"


@pytest.fixture
def files(tmp_path: Path) -> LocalFiles:
    return LocalFiles(tmp_path)


def csv_lines(count: int, start: int = 0) -> bytes:
    return ("id,name\n" + "".join(f"{n},name {n}\n" for n in range(start, start + count))).encode()


# -- the format ------------------------------------------------------------------------------------


def test_registered_through_its_entry_point_like_parquet() -> None:
    plugins = get_plugins()
    found = plugins.file_format("CSV")
    assert isinstance(found, DelimitedFormat) and plugins.file_format("delimited") is found
    info = {i.name: i for i in plugins.describe()}["delimited"]
    assert info.distribution == "lakefeed" and info.module == "lakefeed.formats.delimited"
    assert plugins.formats().for_file("day/orders.CSV.GZ") is found
    assert plugins.formats().for_file("x.tsv") is found and found.compressible


def test_a_header_and_values_read_as_text_with_inferred_types_beside(files: LocalFiles) -> None:
    files.put("orders.csv", ORDERS)
    inspected = files.inspect(CSV, "orders.csv")
    assert isinstance(inspected, DelimitedSample)
    assert inspected.schema == pa.schema(
        [(name, pa.string()) for name in ("id", "item", "price", "paid")]
    )
    assert inspected.typed_schema() == pa.schema(
        [("id", pa.int64()), ("item", pa.string()), ("price", pa.float64()), ("paid", pa.bool_())]
    )
    assert inspected.num_rows == 3
    shown = inspected.to_dict()
    assert [f["type"] for f in shown["schema"]] == ["int64", "string", "double", "bool"]
    items = list(CSV.read_rows(str(files.root / "orders.csv"), inspected, batch_rows=100))
    assert all(isinstance(item, pa.RecordBatch) for item in items)
    assert items[0].schema == inspected.schema  # type: ignore[union-attr]
    assert rows_of(items)[2] == {"id": "3", "item": "jam", "price": "", "paid": "true"}
    assert (
        list(CSV.batches(str(files.root / "orders.csv"), inspected, batch_rows=2))[1].num_rows == 1
    )


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "|", "\t", "\\t"])
def test_column_delimiter(files: LocalFiles, delimiter: str) -> None:
    sep = "\t" if delimiter == "\\t" else delimiter
    files.put("a.txt", ORDERS.replace(",", sep))
    configured = CSV.configure({"columnDelimiter": delimiter})
    assert rows_of(files.items(configured, "a.txt"))[0] == {
        "id": "1",
        "item": "tea",
        "price": "2.5",
        "paid": "true",
    }
    assert configured.settings()["columnDelimiter"] == sep


def test_tsv_and_psv_files_default_to_their_delimiter(files: LocalFiles) -> None:
    files.put("a.tsv", "a\tb\n1\t2\n")
    files.put("a.psv.gz", gzip.compress(b"a|b\n1|2\n"))
    assert rows_of(files.items(CSV, "a.tsv")) == [{"a": "1", "b": "2"}]
    assert rows_of(files.items(CSV, "a.psv.gz")) == [{"a": "1", "b": "2"}]
    files.put("comma.tsv", "a,b\n1,2\n")  # a given delimiter wins over the name
    assert rows_of(files.items(CSV.configure({"columnDelimiter": ","}), "comma.tsv")) == [
        {"a": "1", "b": "2"}
    ]


def test_quote_and_escape_characters(files: LocalFiles) -> None:
    files.put("q.csv", "a,b\n'x, y',2\n'it''s',3\n")
    quoted = CSV.configure({"quoteChar": "'"})
    assert rows_of(files.items(quoted, "q.csv")) == [
        {"a": "x, y", "b": "2"},
        {"a": "it's", "b": "3"},
    ]
    files.put("e.csv", 'a,b\n"say \\"hi\\"",2\n')
    escaped = CSV.configure({"escapeChar": "\\"})
    assert rows_of(files.items(escaped, "e.csv")) == [{"a": 'say "hi"', "b": "2"}]
    files.put("n.csv", 'a,b\n"x,1\n')  # no quoting: a quote is a character like any other
    assert rows_of(files.items(CSV.configure({"quoteChar": ""}), "n.csv")) == [
        {"a": '"x', "b": "1"}
    ]


def test_values_spanning_lines_inside_quotes(files: LocalFiles) -> None:
    files.put("m.csv", 'id,note\n1,"two\nlines"\n2,plain\n')
    assert rows_of(files.items(CSV, "m.csv")) == [
        {"id": "1", "note": "two\nlines"},
        {"id": "2", "note": "plain"},
    ]


def test_encoding_iso_8859_1(files: LocalFiles) -> None:
    files.put("l.csv", "city,note\nZürich,café\n".encode("iso-8859-1"))
    latin = CSV.configure({"encoding": "ISO-8859-1"})
    assert latin.settings()["encoding"] == "ISO-8859-1"
    assert files.inspect(latin, "l.csv").schema.names == ["city", "note"]
    assert rows_of(files.items(latin, "l.csv")) == [{"city": "Zürich", "note": "café"}]


def test_a_byte_without_a_character_in_the_encoding_fails_the_file(files: LocalFiles) -> None:
    files.put("w.csv", b"a,b\n1,\x81\n")  # 0x81 is not a windows-1252 character
    with pytest.raises(UndecodableText) as caught:
        files.inspect(CSV.configure({"encoding": "windows-1252"}), "w.csv")
    assert "0x81" in caught.value.message and "encoding" in (caught.value.fix or "")
    assert caught.value.message.startswith(f"'{files.root / 'w.csv'}' is not CP1252 text")


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_name(files: LocalFiles) -> None:
    files.put("bom.csv", b"\xef\xbb\xbfid,x\n1,2\n")
    assert files.inspect(CSV, "bom.csv").schema.names == ["id", "x"]
    assert rows_of(files.items(CSV, "bom.csv")) == [{"id": "1", "x": "2"}]


def test_null_values(files: LocalFiles) -> None:
    files.put("n.csv", "a,b,c\nNA,-,\n1,x,2\n")
    configured = CSV.configure({"nullValues": ["NA", "-"]})
    inspected = files.inspect(configured, "n.csv")
    assert inspected.typed_schema().field("a").type == pa.int64()  # NA did not make it text
    assert rows_of(files.items(configured, "n.csv"))[0] == {"a": None, "b": None, "c": ""}
    from_cli = CSV.configure({"nullValues": '["NA", "-"]'})  # --option 'nullValues=[…]'
    assert from_cli.null_values == ("NA", "-")
    assert CSV.configure({"nullValues": "NA"}).null_values == ("NA",)


def test_skip_rows_and_no_header(files: LocalFiles) -> None:
    files.put("s.csv", "exported 2026-01-02\nby: shop\nid,item\n1,tea\n2,cake\n")
    skipping = CSV.configure({"skipRows": 2})
    assert rows_of(files.items(skipping, "s.csv")) == [
        {"id": "1", "item": "tea"},
        {"id": "2", "item": "cake"},
    ]
    bare = CSV.configure({"header": "false", "skipRows": "3"})
    inspected = files.inspect(bare, "s.csv")
    assert inspected.schema.names == ["_c0", "_c1"]
    assert inspected.typed_schema().field("_c0").type == pa.int64()
    assert rows_of(files.items(bare, "s.csv")) == [
        {"_c0": "1", "_c1": "tea"},
        {"_c0": "2", "_c1": "cake"},
    ]


def test_an_empty_header_name_gets_a_position_name(files: LocalFiles) -> None:
    files.put("e.csv", "id,,x\n1,2,3\n")
    inspected = files.inspect(CSV, "e.csv")
    assert inspected.schema.names == ["id", "_c1", "x"]
    assert rows_of(files.items(CSV, "e.csv")) == [{"id": "1", "_c1": "2", "x": "3"}]


def test_configure_returns_a_new_format_and_settings_say_what_is_in_effect() -> None:
    configured = CSV.configure(
        {"COLUMNDELIMITER": ";", "header": False, "compressionType": "GZIP", "encoding": "utf8"}
    )
    assert CSV.settings()["columnDelimiter"] is None  # by the file name, else ','
    assert CSV.configure({}) == CSV
    assert configured.settings() == {
        "columnDelimiter": ";",
        "quoteChar": '"',
        "escapeChar": None,
        "encoding": "UTF-8",
        "nullValues": [],
        "skipRows": 0,
        "header": False,
        "compressionType": "gzip",
    }


def test_settings_configure_the_same_format_and_null_is_the_default() -> None:
    for configured in (
        CSV,
        CSV.configure({"quoteChar": "", "escapeChar": "\\", "nullValues": ["NA"]}),
        CSV.configure({"columnDelimiter": "\t", "encoding": "latin-1", "compressionType": "zip"}),
    ):
        assert CSV.configure(configured.settings()) == configured
    assert CSV.configure({"columnDelimiter": ";"}).configure({"columnDelimiter": None}) == CSV
    assert CSV.configure({key: None for key in CSV.properties}) == CSV


@pytest.mark.parametrize(
    ("properties", "named", "says"),
    [
        ({"delimiter": ";"}, "delimiter", "Did you mean 'columnDelimiter'?"),
        ({"shade": "blue"}, "shade", "accepted: columnDelimiter, quoteChar"),
        ({"columnDelimiter": ";;"}, "columnDelimiter", "one ASCII character"),
        ({"columnDelimiter": ""}, "columnDelimiter", "not empty"),
        ({"columnDelimiter": "§"}, "columnDelimiter", "one ASCII character"),
        ({"columnDelimiter": "\n"}, "columnDelimiter", "line break"),
        ({"columnDelimiter": 5}, "columnDelimiter", "one ASCII character"),
        ({"quoteChar": "ab"}, "quoteChar", "one ASCII character"),
        ({"encoding": "EBCDIC-42"}, "encoding", "'EBCDIC-42'"),
        ({"encoding": "base64"}, "encoding", "not a text encoding"),
        ({"skipRows": -1}, "skipRows", "must be a whole number"),
        ({"skipRows": "two"}, "skipRows", "must be a whole number"),
        ({"skipRows": True}, "skipRows", "must be a whole number"),
        ({"header": "maybe"}, "header", "true or false"),
        ({"nullValues": 5}, "nullValues", "list of strings"),
        ({"nullValues": ["NA", 5]}, "nullValues", "list of strings"),
        ({"compressionType": "rar"}, "compressionType", "tarGzip"),
        ({"columnDelimiter": ";", "quoteChar": ";"}, "quoteChar", "both ';'"),
        ({"header": True, "HEADER": False}, "header", "twice"),
    ],
)
def test_bad_properties_are_refused_naming_the_property(
    properties: dict[str, object], named: str, says: str
) -> None:
    with pytest.raises(InvalidFormatOption) as caught:
        CSV.configure(properties)
    error = caught.value
    assert error.code == "LF-1416" and error.http_status == 400
    assert error.details["property"] == named
    assert says in str(error), str(error)


def test_parquet_takes_no_properties_and_no_compression_type() -> None:
    parquet = ParquetFormat()
    assert parquet.configure({}) is parquet and parquet.settings() == {}
    assert not parquet.compressible
    with pytest.raises(InvalidFormatOption) as caught:
        parquet.configure({"compressionType": "gzip"})
    assert "Parquet files do not take compressionType" in caught.value.message
    with pytest.raises(InvalidFormatOption, match="Unknown property 'columnDelimiter'"):
        parquet.configure({"columnDelimiter": ";"})


def test_configured_formats_and_samples_pickle(files: LocalFiles) -> None:
    configured = CSV.configure({"columnDelimiter": ";", "nullValues": ["NA"]})
    assert pickle.loads(pickle.dumps(configured)) == configured
    files.put("a.csv", "a;b\n1;NA\n")
    inspected = files.inspect(configured, "a.csv")
    again = pickle.loads(pickle.dumps(inspected))
    assert again == inspected and again.typed_schema() == inspected.typed_schema()


# -- inference -------------------------------------------------------------------------------------


def test_inference_rules(files: LocalFiles) -> None:
    files.put(
        "t.csv",
        "int,neg,float,bool,date,stamp,zoned,text,mixed,empty,zip,huge,clock\n"
        "1,-2,1.5,true,2026-01-02,2026-01-02 03:04:05,2026-01-02T03:04:05Z,a,1,,01234,"
        "12345678901234567890,12:30:00\n"
        "2,3,2,False,2026-02-03,2026-02-03 00:00:00,2026-02-03T00:00:00Z,b,x,,02000,1.5,13:00:00\n"
        ",,,,,,,,,,,,\n",
    )
    types = {f.name: str(f.type) for f in files.inspect(CSV, "t.csv").typed_schema()}
    assert types == {
        "int": "int64",
        "neg": "int64",
        "float": "double",
        "bool": "bool",
        "date": "date32[day]",
        "stamp": "timestamp[s]",
        "zoned": "timestamp[s, tz=UTC]",
        "text": "string",
        "mixed": "string",  # a number and a word
        "empty": "string",  # no value to tell by
        "zip": "string",  # leading zeros kept
        "huge": "string",  # beyond 64 bits: not rounded to a double
        "clock": "string",  # times of day have no XDM type
    }


def test_inference_looks_at_the_first_ten_thousand_rows_only(files: LocalFiles) -> None:
    data = csv_lines(10_000) + b"not a number,x\n"
    files.put("late.csv", data)
    inspected = files.inspect(CSV, "late.csv")
    assert inspected.typed_schema().field("id").type == pa.int64()
    assert inspected.num_rows is None  # not all of the file was looked at
    assert rows_of(files.items(CSV, "late.csv"))[-1] == {"id": "not a number", "name": "x"}


def test_inspection_reads_a_bounded_sample_through_ranged_reads(files: LocalFiles) -> None:
    files.put("big.csv", csv_lines(500_000))  # about 8 MB
    inspected = files.inspect(CSV, "big.csv")
    assert inspected.num_rows is None
    assert files.bytes_read() <= SAMPLE_BYTES
    assert len(files.calls) == 1  # many files' first ranges go in one call
    files.calls.clear()
    compressed = gzip.compress(csv_lines(500_000))
    files.put("big.csv.gz", compressed)
    files.inspect(CSV, "big.csv.gz")
    assert files.calls[0] == [(str(files.root / "big.csv.gz"), 0, 256 * 1024)]
    assert files.bytes_read() < min(len(compressed), SAMPLE_BYTES)


def test_a_zip_is_inspected_from_its_directory_and_first_member(files: LocalFiles) -> None:
    big = csv_lines(3000) * 100  # stored as it is: 3 MB
    archive = zip_of({"a.csv": csv_lines(10), "b.csv": big}, method=zipfile.ZIP_STORED)
    files.put("z.zip", archive)
    inspected = files.inspect(CSV, "z.zip")
    assert inspected.schema.names == ["id", "name"]
    assert inspected.num_rows is None  # the other members are not looked at
    # The head, then the directory at the end: not the whole archive.
    assert files.bytes_read() < 1 << 20 < len(archive)


def test_range_stream_reads_like_a_file(files: LocalFiles) -> None:
    data = bytes(range(256)) * 5000
    entry = files.put("r.bin", data)
    stream = RangeStream(entry, files.read, head=data[:100], chunk=1000)
    assert stream.read(50) == data[:50]
    assert stream.read(100) == data[50:150]  # past the head: one ranged read
    stream.seek(-10, 2)
    assert stream.read() == data[-10:] and stream.read(5) == b""
    stream.seek(1_000_000)
    assert stream.tell() == 1_000_000 and stream.read(3) == data[1_000_000:1_000_003]
    assert stream.seekable() and stream.name == entry.path
    assert [start for call in files.calls for _, start, _ in call] == [
        100,
        len(data) - 10,
        1_000_000,
    ]


# -- streaming -------------------------------------------------------------------------------------


def test_a_file_larger_than_the_sample_is_read_whole_in_batches(files: LocalFiles) -> None:
    files.put("big.csv.bz2", bz2.compress(csv_lines(300_000)))
    items = files.items(CSV, "big.csv.bz2", batch_rows=10_000)
    assert all(isinstance(i, pa.RecordBatch) and i.num_rows <= 10_000 for i in items)
    assert sum(i.num_rows for i in items) == 300_000
    assert rows_of(items)[-1] == {"id": "299999", "name": "name 299999"}


def test_reading_a_200_mb_gzip_csv_keeps_memory_bounded(tmp_path: Path) -> None:
    """Decompressed 200 MB, read to the end: the process grows by far less than the file."""
    probe = textwrap.dedent(
        f"""
        import gzip, os, resource
        from lakefeed.files import FileEntry
        from lakefeed.formats.delimited import DelimitedFormat
        path = {str(tmp_path / "big.csv.gz")!r}
        line = b"12345,some name here,3.25,true,2026-01-02T03:04:05Z,a text value\\n"
        with gzip.open(path, "wb", compresslevel=1) as out:
            out.write(b"id,name,score,active,seen,note\\n")
            for _ in range(300):
                out.write(line * 10_000)
        def read(ranges):
            found = []
            for entry, start, end in ranges:
                with open(entry.path, "rb") as handle:
                    handle.seek(start)
                    found.append(handle.read(end - start))
            return found
        fmt = DelimitedFormat()
        ((_, sample),) = fmt.inspect([FileEntry(path, os.path.getsize(path))], read)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows = sum(b.num_rows for b in fmt.read_rows(path, sample, batch_rows=65536))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(rows, (after - before) // 1024)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows, grown_mib = map(int, done.stdout.split())
    assert rows == 3_000_000  # about 200 MB of text
    assert grown_mib < 150, f"reading grew the process by {grown_mib} MiB"


# -- compression and archives ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("o.csv.gz", gzip.compress),
        ("o.csv.bz2", bz2.compress),
        ("o.csv.zst", lambda d: pa.compress(d, codec="zstd", asbytes=True)),
        ("o.csv.deflate", zlib.compress),
        ("o.csv", lambda d: d),
    ],
)
def test_every_stream_compression_by_its_extension(
    files: LocalFiles, name: str, compress: object
) -> None:
    files.put(name, compress(ORDERS.encode()))  # type: ignore[operator]
    inspected = files.inspect(CSV, name)
    assert inspected.num_rows == 3
    items = files.items(CSV, name)
    assert len(rows_of(items)) == 3 and parts_of(items) == []


def test_compression_type_given_wins_over_the_extension(files: LocalFiles) -> None:
    files.put("export.dat", gzip.compress(ORDERS.encode()))
    assert len(rows_of(files.items(CSV.configure({"compressionType": "gzip"}), "export.dat"))) == 3
    files.put("plain.csv.gz", ORDERS)  # misnamed: not compressed at all
    assert (
        len(rows_of(files.items(CSV.configure({"compressionType": "none"}), "plain.csv.gz"))) == 3
    )
    with pytest.raises(CorruptCompressedFile, match="cannot be decompressed as gzip"):
        files.inspect(CSV, "plain.csv.gz")


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("b.zip", zip_of),
        ("b.tar", tar_of),
        ("b.tar.gz", lambda m: tar_of(m, gz=True)),
        ("b.tgz", lambda m: tar_of(m, gz=True)),
    ],
)
def test_archive_members_are_parts_of_their_own(files: LocalFiles, name: str, pack: object) -> None:
    members = {"a.csv": csv_lines(3), "sub/b.csv": csv_lines(2, start=10), "c.csv": csv_lines(1)}
    files.put(name, pack(members))  # type: ignore[operator]
    items = files.items(CSV, name)
    assert parts_of(items) == [("started", "a.csv"), ("started", "sub/b.csv"), ("started", "c.csv")]
    assert [r["id"] for r in rows_of(items)] == ["0", "1", "2", "10", "11", "0"]
    # Each member's rows come right after its PartStarted.
    kinds = ["P" if not isinstance(i, pa.RecordBatch) else "B" for i in items]
    assert kinds == ["P", "B", "P", "B", "P", "B"]


def test_a_damaged_zip_member_fails_alone_and_the_others_are_read(files: LocalFiles) -> None:
    archive = zip_of(
        {"a.csv": csv_lines(50_000), "b.csv": csv_lines(50_000), "c.csv": csv_lines(2)}
    )
    files.put("z.zip", damage_zip_member(archive, "b.csv"))
    items = files.items(CSV, "z.zip")
    assert parts_of(items) == [
        ("started", "a.csv"),
        ("started", "b.csv"),
        ("failed", "b.csv"),
        ("started", "c.csv"),
    ]
    (failed,) = [i for i in items if isinstance(i, PartFailed)]
    assert isinstance(failed.error, CorruptCompressedFile)
    after = items[items.index(failed) + 1 :]
    assert [r["id"] for r in rows_of(after)] == ["0", "1"]


def test_a_member_with_other_columns_or_none_fails_alone(files: LocalFiles) -> None:
    files.put(
        "z.zip",
        zip_of(
            {
                "a.csv": csv_lines(2),
                "other.csv": b"x,y\n1,2\n",
                "empty.csv": b"",
                "d.csv": csv_lines(1),
            }
        ),
    )
    items = files.items(CSV, "z.zip")
    failed = {i.name: i.error for i in items if isinstance(i, PartFailed)}
    assert isinstance(failed["other.csv"], MalformedFile)
    assert "['x', 'y']" in failed["other.csv"].message
    assert f"'{files.root / 'z.zip'}' (member 'other.csv')" in failed["other.csv"].message
    assert isinstance(failed["empty.csv"], EmptyFile)
    assert len(rows_of(items)) == 3


def test_a_truncated_tar_gz_fails_its_member_and_stops(files: LocalFiles) -> None:
    archive = tar_of({"a.csv": csv_lines(5), "b.csv": csv_lines(100_000)}, gz=True)
    files.put("t.tgz", archive)
    inspected = files.inspect(CSV, "t.tgz")
    files.put("t.tgz", archive[: len(archive) // 2])
    items: list[object] = []
    with pytest.raises(CorruptCompressedFile, match="truncated"):
        for item in CSV.read_rows(str(files.root / "t.tgz"), inspected, batch_rows=1000):
            items.append(item)
    assert parts_of(items)[0] == ("started", "a.csv")
    assert parts_of(items)[-1] == ("failed", "b.csv")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cut.csv.gz", gzip.compress(csv_lines(2000))[:-500]),
        ("cut.zip", zip_of({"a.csv": csv_lines(2000)})[:-30]),
        ("cut.csv.bz2", bz2.compress(csv_lines(50_000))[:-500]),
    ],
)
def test_a_truncated_compressed_file_fails_at_inspection(
    files: LocalFiles, name: str, data: bytes
) -> None:
    files.put(name, data)
    with pytest.raises(CorruptCompressedFile) as caught:
        files.inspect(CSV, name)
    assert "truncated" in caught.value.message and name in caught.value.message


def test_a_truncation_past_the_sample_fails_the_read(files: LocalFiles) -> None:
    whole = gzip.compress(csv_lines(400_000))
    files.put("cut.csv.gz", whole)
    inspected = files.inspect(CSV, "cut.csv.gz")
    files.put("cut.csv.gz", whole[:-1000])
    with pytest.raises(CorruptCompressedFile, match="truncated"):
        list(CSV.read_rows(str(files.root / "cut.csv.gz"), inspected, batch_rows=65536))


# -- bad rows and bad files ------------------------------------------------------------------------


def test_rows_with_too_many_or_too_few_fields_are_rejected_with_their_lines(
    files: LocalFiles,
) -> None:
    files.put("r.csv", "id,name,score,active\n5,a,1,true\n6,b,2,true,x\n7,c,3,true\n8,d\n")
    items = files.items(CSV, "r.csv")
    assert [r["id"] for r in rows_of(items)] == ["5", "7"]
    too_many, too_few = rejected_of(items)
    assert (too_many.number, too_many.text) == (3, "6,b,2,true,x")
    assert too_many.message.startswith("has 5 fields but the header has 4")
    assert (too_few.number, too_few.text) == (5, "8,d")
    assert "has 2 fields but the header has 4" in too_few.message


def test_rejected_rows_keep_their_line_numbers_across_blocks(
    files: LocalFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "BLOCK_BYTES", 4096)  # many blocks, one read ahead
    lines = ["id,name"]
    for n in range(1, 5000):
        lines.append(f"{n},x" if n % 97 else f"{n}")
    files.put("many.csv", "\n".join(lines) + "\n")
    items = files.items(CSV, "many.csv", batch_rows=1000)
    rejected = rejected_of(items)
    assert [r.number for r in rejected] == [n + 1 for n in range(97, 5000, 97)]
    assert [r.text for r in rejected] == [str(n) for n in range(97, 5000, 97)]
    assert len(rows_of(items)) == 4999 - len(rejected)
    # Rejected rows come out in the order of the file, between the batches around them.
    order = [r.number for item in items if isinstance(item, RejectedRows) for r in item.rows]
    assert order == sorted(order)


def test_invalid_utf8_rejects_its_rows_and_names_the_encoding(files: LocalFiles) -> None:
    files.put("u.csv", b"id,name\n1,ok\n2,caf\xe9\n3,fine\n\n4,\xff\xfe\n")
    items = files.items(CSV, "u.csv")
    assert rows_of(items) == [{"id": "1", "name": "ok"}, {"id": "3", "name": "fine"}]
    bad = rejected_of(items)
    assert [r.number for r in bad] == [3, 5]  # a blank line is not a row
    assert bad[0].text == "2,caf\ufffd"
    assert "not UTF-8" in bad[0].message and "'name'" in bad[0].message
    assert "encoding" in bad[0].message


def test_an_unbalanced_quote_fails_the_file_naming_its_line(files: LocalFiles) -> None:
    files.put("q.csv", 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n10,11,12\n')
    with pytest.raises(MalformedFile) as caught:
        files.inspect(CSV, "q.csv")
    assert "line 3" in caught.value.message and caught.value.details["line"] == 3
    assert "quoteChar" in (caught.value.fix or "")


def test_an_unbalanced_quote_past_the_sample_fails_the_read(
    files: LocalFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "BLOCK_BYTES", 4096)
    good = csv_lines(100_000)
    files.put("late.csv", good + b'1,"never closed\n' + csv_lines(2000)[8:])
    inspected = files.inspect(CSV, "late.csv")
    with pytest.raises(MalformedFile) as caught:
        list(CSV.read_rows(str(files.root / "late.csv"), inspected, batch_rows=65536))
    assert "never closed" in caught.value.message
    assert caught.value.details["line"] <= 100_002


#: Row 4 opens a quote that never closes: Arrow reads the rest of the member as its value.
LEFT_OPEN = b'4,"d\n5,e\n6,f\n'


def test_a_quote_left_open_in_the_last_row_fails_the_file_naming_its_line(
    files: LocalFiles,
) -> None:
    """No row is rejected, so only the last value tells: it runs to the member's end."""
    files.put("small.csv", b"id,name\n3,c\n" + LEFT_OPEN)
    with pytest.raises(MalformedFile) as caught:
        files.inspect(CSV, "small.csv")  # the sample is the whole file
    assert "quote opened on line 3 that is never closed" in caught.value.message
    assert caught.value.details["line"] == 3 and "quoteChar" in (caught.value.fix or "")

    # Past the sample: the rows before it are read, then the file fails.
    files.put("big.csv", csv_lines(200_000) + LEFT_OPEN)
    inspected = files.inspect(CSV, "big.csv")
    read: list[Any] = []
    with pytest.raises(MalformedFile) as caught:
        for item in CSV.read_rows(str(files.root / "big.csv"), inspected, batch_rows=65536):
            read.append(item)
    assert caught.value.details["line"] == 200_002
    assert "never closed" in caught.value.message and "'big.csv'" not in caught.value.message
    assert len(rows_of(read)) <= 200_001  # rows 5 and 6 never come out as part of row 4

    # In a later member of an archive (never sampled): that member fails alone.
    files.put(
        "m.zip", zip_of({"first.csv": b"id,name\n1,a\n", "second.csv": b"id,name\n" + LEFT_OPEN})
    )
    items = files.items(CSV, "m.zip")
    assert parts_of(items)[-1] == ("failed", "second.csv")
    (failed,) = [i for i in items if isinstance(i, PartFailed)]
    assert "on line 2 that is never closed" in failed.error.message

    # In another encoding (read through Arrow's transcoding), the same.
    files.put("latin.csv", csv_lines(100_000) + 'é,"caf\xe9\nx,y\n'.encode("iso-8859-1"))
    latin = CSV.configure({"encoding": "ISO-8859-1"})
    with pytest.raises(MalformedFile, match="never closed"):
        list(
            latin.read_rows(
                str(files.root / "latin.csv"), files.inspect(latin, "latin.csv"), batch_rows=65536
            )
        )


@pytest.mark.parametrize(
    "last",
    [
        b'7,"two\nlines"\n',  # a quoted value with a line break, closed
        b'7,"two\nlines"',  # the same without a last line break
        b'7,"ends ""quoted""\n"\n',  # closed after a line break and doubled quotes
        b'7,5"\n',  # a quote inside a value that is not quoted: a plain character
    ],
)
def test_a_closed_or_plain_quote_in_the_last_row_is_read(files: LocalFiles, last: bytes) -> None:
    for name, data in (("s.csv", b"id,name\n1,a\n" + last), ("b.csv", csv_lines(100_000) + last)):
        files.put(name, data)
        rows = rows_of(files.items(CSV, name))
        assert rows[-1]["id"] == "7"


def test_an_empty_file_fails_without_a_read(files: LocalFiles) -> None:
    files.put("empty.csv", b"")
    with pytest.raises(EmptyFile) as caught:
        files.inspect(CSV, "empty.csv")
    assert caught.value.code == "LF-2418" and "106" in caught.value.message
    assert files.calls == []
    files.put("blank.csv", b"\n  \n\n")
    with pytest.raises(EmptyFile):
        files.inspect(CSV, "blank.csv")
    files.put("empty.csv.gz", gzip.compress(b""))
    with pytest.raises(EmptyFile):
        files.inspect(CSV, "empty.csv.gz")


@pytest.mark.parametrize("data", [b"id,name\n", b"id,name", b"id,name\r\n"])
def test_a_header_only_file_has_its_columns_and_no_rows(files: LocalFiles, data: bytes) -> None:
    files.put("h.csv", data)
    inspected = files.inspect(CSV, "h.csv")
    assert inspected.schema.names == ["id", "name"] and inspected.num_rows == 0
    assert inspected.typed_schema().types == [pa.string(), pa.string()]
    assert rows_of(files.items(CSV, "h.csv")) == [] and rejected_of(files.items(CSV, "h.csv")) == []


def test_a_single_row_without_a_header_or_line_break(files: LocalFiles) -> None:
    files.put("one.csv", b"1,2")
    assert rows_of(files.items(CSV.configure({"header": False}), "one.csv")) == [
        {"_c0": "1", "_c1": "2"}
    ]


def test_through_a_local_storage_session(tmp_path: Path) -> None:
    from lakefeed.storage.session import StorageSession

    (tmp_path / "w.csv.gz").write_bytes(gzip.compress(b"id;city\n1;Oslo\n2;Lima\n"))
    plugins = get_plugins()
    local = plugins.source_type("local-files")
    session = StorageSession(
        local, local.auth_params({"rootPath": str(tmp_path)}), formats=plugins.formats()
    )
    semicolons = plugins.file_format("delimited").configure({"columnDelimiter": ";"})
    inspected = session.inspect_file("w.csv.gz", semicolons)
    assert inspected.typed_schema().field("id").type == pa.int64()
    preview = session.preview("w.csv.gz", rows=5, file_format=semicolons)
    assert preview.rows == [{"id": "1", "city": "Oslo"}, {"id": "2", "city": "Lima"}]


def test_rejected_rows_come_out_where_they_stand_among_the_good_ones(files: LocalFiles) -> None:
    """Good and rejected rows keep their order, so every row's index in the file is its place
    (lineage and row errors count the rows read)."""
    lines = ["a,b", "1,x", "2", "3,y", "4,z,extra", "5,w", "6,v"]
    files.put("r.csv", "\n".join(lines) + "\n")

    items = files.items(CSV, "r.csv", batch_rows=2)

    order: list[Any] = []
    for item in items:
        if isinstance(item, RejectedRows):
            order += [("rejected", row.number) for row in item.rows]
        elif isinstance(item, pa.RecordBatch):
            order += [("row", r["a"]) for r in item.to_pylist()]
    assert order == [
        ("row", "1"),
        ("rejected", 3),
        ("row", "3"),
        ("rejected", 5),
        ("row", "5"),
        ("row", "6"),
    ]
