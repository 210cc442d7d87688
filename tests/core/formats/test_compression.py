"""Compressed files and archives on their own: compressionType values and the extensions that
imply them, members decompressed as they are read, damaged data as CorruptCompressedFile and
the storage's own read failures left as they came."""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import os
import time
import tracemalloc
import zlib
from typing import Any

import pyarrow as pa
import pytest

from lakefeed.errors import CorruptCompressedFile, InvalidFormatOption
from lakefeed.formats.compression import COMPRESSION_TYPES, detect, inner_name, members, normalize
from text_support import damage_zip_member, tar_of, zip_of

DATA = os.urandom(200_000).hex().encode()  # 400 kB that compress to about half


def zstd(data: bytes) -> bytes:
    compressed: bytes = pa.compress(data, codec="zstd", asbytes=True)
    return compressed


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def read_members(data: bytes, kind: str, name: str = "/in/file") -> list[tuple[str, bytes]]:
    return [
        (member, stream.read()) for member, stream in members(io.BytesIO(data), kind, name=name)
    ]


def test_compression_types_any_case_and_aliases() -> None:
    assert [normalize(kind.upper()) for kind in COMPRESSION_TYPES] == list(COMPRESSION_TYPES)
    assert normalize(" zip ") == "zipDeflate"
    assert normalize("tgz") == normalize("tar.gz") == normalize("TARGZIP") == "tarGzip"
    assert normalize("zst") == "zstd"
    with pytest.raises(InvalidFormatOption) as caught:
        normalize("rar")
    assert "'rar'" in caught.value.message and "tarGzip" in caught.value.message
    assert caught.value.details == {"property": "compressionType"}
    with pytest.raises(InvalidFormatOption):
        normalize(3)


def test_a_huge_compression_type_is_cut_in_its_message() -> None:
    """A 1 MB value (a REST body, a CLI option) is not echoed whole in the 400 answer."""
    with pytest.raises(InvalidFormatOption) as caught:
        normalize("gz" + "x" * 1_000_000)
    message = caught.value.message
    assert len(message) < 300 and "'gzxxx" in message and "…" in message
    assert "tarGzip" in message  # what is accepted still shows


def test_the_extension_says_the_compression_and_what_is_inside() -> None:
    found = {
        name: detect(name)
        for name in (
            "a.csv.gz", "a.CSV.GZIP", "a.json.bz2", "a.jsonl.zst", "a.csv.zstd", "a.deflate",
            "a.zz", "bundle.ZIP", "b.tar", "b.tgz", "b.tar.gz", "a.csv", "gz",
        )
    }  # fmt: skip
    assert found == {
        "a.csv.gz": "gzip",
        "a.CSV.GZIP": "gzip",
        "a.json.bz2": "bzip2",
        "a.jsonl.zst": "zstd",
        "a.csv.zstd": "zstd",
        "a.deflate": "deflate",
        "a.zz": "deflate",
        "bundle.ZIP": "zipDeflate",
        "b.tar": "tar",
        "b.tgz": "tarGzip",
        "b.tar.gz": "tarGzip",
        "a.csv": None,
        "gz": None,
    }
    assert inner_name("day/a.csv.gz") == "day/a.csv"
    assert inner_name("a.JSONL.BZ2") == "a.JSONL"
    assert inner_name("b.tar.gz") == "b.tar.gz"  # an archive's members have their own names
    assert inner_name("plain.csv") == "plain.csv"


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("bzip2", bz2.compress),
        ("zstd", zstd),
        ("deflate", zlib.compress),  # zlib-wrapped, as Hadoop writes .deflate
        ("deflate", raw_deflate),
    ],
)
def test_a_stream_compression_holds_one_member_named_without_its_extension(
    kind: str, compress: Any
) -> None:
    data = compress(DATA)
    assert read_members(data, kind, "/in/day.csv" + {"gzip": ".gz"}.get(kind, ".x")) == [
        ("/in/day.csv" if kind == "gzip" else "/in/day.csv.x", DATA)
    ]


@pytest.mark.parametrize(
    ("kind", "compress"),
    [("gzip", gzip.compress), ("bzip2", bz2.compress), ("zstd", zstd), ("deflate", zlib.compress)],
)
def test_a_truncated_stream_is_corrupt_and_says_so(kind: str, compress: Any) -> None:
    cut = compress(DATA)[:-1000]
    with pytest.raises(CorruptCompressedFile) as caught:
        read_members(cut, kind, "/in/cut.csv")
    error = caught.value
    assert "'/in/cut.csv'" in error.message and "truncated" in error.message
    assert error.code == "LF-2417" and error.http_status == 422 and not error.transient
    assert error.fix and "compressionType" in error.fix


def test_data_that_is_not_that_compression_is_corrupt() -> None:
    with pytest.raises(CorruptCompressedFile, match="cannot be decompressed as gzip"):
        read_members(b"id,name\n1,a\n", "gzip")


def test_concatenated_gzip_and_zstd_streams_read_as_one() -> None:
    assert read_members(gzip.compress(b"a\n") + gzip.compress(b"b\n"), "gzip") == [
        ("/in/file", b"a\nb\n")
    ]
    assert read_members(zstd(b"a\n") + zstd(b"b\n"), "zstd") == [("/in/file", b"a\nb\n")]


@pytest.mark.parametrize(
    ("kind", "compress"),
    [("gzip", gzip.compress), ("bzip2", bz2.compress), ("deflate", raw_deflate)],
)
def test_highly_compressed_data_is_inflated_a_block_at_a_time(kind: str, compress: Any) -> None:
    """200 MB of zeros compress to a few hundred kB; reading the start of them must not
    inflate them all."""
    data = compress(bytes(200_000_000))
    ((_, stream),) = members(io.BytesIO(data), kind, name="x")
    tracemalloc.start()
    try:
        assert stream.read(1000) == bytes(1000)
        assert stream.read(1000) == bytes(1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_zip_members_in_order_without_folders_and_macos_entries() -> None:
    archive = zip_of(
        {
            "a.csv": b"1\n",
            "sub/": b"",
            "sub/b.csv": b"2\n",
            "__MACOSX/sub/._b.csv": b"junk",
            "sub/._c.csv": b"junk",
        }
    )
    assert read_members(archive, "zipDeflate") == [("a.csv", b"1\n"), ("sub/b.csv", b"2\n")]


def test_a_damaged_zip_member_fails_alone() -> None:
    archive = damage_zip_member(zip_of({"a.csv": DATA, "b.csv": DATA, "c.csv": DATA}), "b.csv")
    outcomes: list[tuple[str, object]] = []
    for name, stream in members(io.BytesIO(archive), "zipDeflate", name="/in/z.zip"):
        try:
            outcomes.append((name, stream.read() == DATA))
        except CorruptCompressedFile as exc:
            outcomes.append((name, exc.details.get("member")))
    assert outcomes == [("a.csv", True), ("b.csv", "b.csv"), ("c.csv", True)]


def test_a_truncated_zip_has_no_directory_to_find_members_by() -> None:
    archive = zip_of({"a.csv": DATA})
    with pytest.raises(CorruptCompressedFile) as caught:
        read_members(archive[: len(archive) // 2], "zipDeflate", "/in/z.zip")
    assert "'/in/z.zip'" in caught.value.message and "truncated" in caught.value.message


@pytest.mark.parametrize("gz", [False, True])
def test_tar_members_stream_in_order(gz: bool) -> None:
    archive = tar_of({"a.csv": b"1\n", "dir/b.csv": DATA, "._c.csv": b"junk"}, gz=gz)
    kind = "tarGzip" if gz else "tar"
    assert read_members(archive, kind) == [("a.csv", b"1\n"), ("dir/b.csv", DATA)]
    # A member read only in part: the next one is still found.
    names = [name for name, stream in members(io.BytesIO(archive), kind) if stream.read(1)]
    assert names == ["a.csv", "dir/b.csv"]


@pytest.mark.parametrize("gz", [False, True])
def test_a_truncated_tar_is_corrupt_at_the_member_it_cuts(gz: bool) -> None:
    archive = tar_of({"a.csv": b"1\n", "b.csv": DATA}, gz=gz)
    kind = "tarGzip" if gz else "tar"
    seen = []
    with pytest.raises(CorruptCompressedFile) as caught:
        for name, stream in members(io.BytesIO(archive[: len(archive) // 2]), kind, name="/t"):
            seen.append(name)
            stream.read()
    assert seen == ["a.csv", "b.csv"]
    assert "truncated" in caught.value.message


class FailingDisk(io.RawIOBase):
    """A file whose reads fail after ``good`` bytes, as a dropped connection does."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__()
        self.data, self.good, self.pos = data, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.pos >= self.good:
            raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer")
        n = min(len(buffer), self.good - self.pos)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("gzip", gzip.compress(DATA)),
        ("bzip2", bz2.compress(DATA)),
        ("zstd", zstd(DATA)),
        ("deflate", zlib.compress(DATA)),
        ("tarGzip", tar_of({"a": DATA}, gz=True)),
    ],
)
def test_a_failing_read_of_the_file_is_not_corrupt_data(kind: str, data: bytes) -> None:
    """The storage's own failure (a network error is worth a retry) must not be recorded as
    a corrupt file (which fails the version for good)."""
    stream = io.BufferedReader(FailingDisk(data, len(data) // 3))
    with pytest.raises(ConnectionResetError):
        for _, member in members(stream, kind, name="x"):
            member.read()


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "zstd", "deflate"])
def test_prefetched_members_read_the_same_bytes_and_raise_the_same_errors(kind: str) -> None:
    """Reading every row decompresses a few chunks ahead in a thread: the bytes are the same,
    a cut stream still fails where the reader reaches it, and a dropped stream stops its
    thread."""
    import gc
    import threading

    compress = {"gzip": gzip.compress, "bzip2": bz2.compress, "zstd": zstd,
                "deflate": raw_deflate}[kind]  # fmt: skip
    data = os.urandom(3_000_000) * 3  # more than one prefetched chunk
    packed = compress(data)
    ((_, stream),) = members(io.BytesIO(packed), kind, name="x", prefetch=True)
    assert stream.read() == data

    ((_, cut),) = members(io.BytesIO(packed[: len(packed) // 2]), kind, name="x", prefetch=True)
    with pytest.raises(CorruptCompressedFile):
        cut.read()

    def decompressing() -> int:
        return sum(t.name == "lakefeed-decompress" for t in threading.enumerate())

    ((_, dropped),) = members(io.BytesIO(packed), kind, name="x", prefetch=True)
    assert dropped.read(10) == data[:10]
    assert decompressing() == 1
    del dropped
    gc.collect()
    deadline = time.monotonic() + 10
    while decompressing() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert decompressing() == 0, "the thread of a dropped stream still runs"
