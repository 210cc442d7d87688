"""Range headers as RFC 9110 reads them, and downloads streamed in bounded chunks (never a
whole data file in memory). Over HTTP: tests/compat/test_data_access.py."""

from __future__ import annotations

import asyncio
import io

import pytest
from fastapi import Response
from fastapi.responses import StreamingResponse

from lakefeed.api import byte_ranges
from lakefeed.api.byte_ranges import ByteRange, download, parse_range
from lakefeed.errors import RangeNotSatisfiable


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", ByteRange(0, 0, 10)),
        ("bytes=2-", ByteRange(2, 9, 10)),
        ("bytes=3-100", ByteRange(3, 9, 10)),
        ("bytes=-3", ByteRange(7, 9, 10)),
        ("bytes=-30", ByteRange(0, 9, 10)),
        ("bytes=5-2", None),  # not a range-spec: ignored
        ("bytes=0-1,3-4", None),  # several ranges: the whole file
        ("lines=0-1", None),
        ("bytes=", None),
        ("bytes=-", None),
        ("bytes=" + "1" * 5000 + "0-", "416"),  # past int()'s 4,300 digits: still no 500
        ("bytes=10-", "416"),
        ("bytes=-0", "416"),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | str | None) -> None:
    if expected == "416":
        with pytest.raises(RangeNotSatisfiable) as raised:
            parse_range(header, 10)
        assert raised.value.details == {"size": 10}
    else:
        assert parse_range(header, 10) == expected


def test_an_empty_file_has_no_range() -> None:
    assert parse_range(None, 0) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


class CountingStream(io.BytesIO):
    """A stream that records the size of every read, and whether it was closed."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def body_of(response: Response) -> bytes:
    assert isinstance(response, StreamingResponse)

    async def collect() -> bytes:
        chunks = [chunk async for chunk in response.body_iterator]
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        return b"".join(chunks)  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_a_download_is_read_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(byte_ranges, "CHUNK", 4)
    data = bytes(range(30))
    stream = CountingStream(data)
    response = download(
        lambda: stream, size=30, name="a.parquet", range_header="bytes=3-20", head=False
    )
    assert response.status_code == 206
    assert body_of(response) == data[3:21]
    assert max(stream.reads) == 4 and len(stream.reads) == 5  # 18 bytes: 4+4+4+4+2
    assert stream.closed


def test_head_opens_nothing() -> None:
    def never() -> io.BytesIO:
        raise AssertionError("HEAD opened the file")

    response = download(never, size=30, name="a b.parquet", range_header=None, head=True)
    assert response.status_code == 200 and response.body == b""
    assert response.headers["content-length"] == "30"
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''a%20b.parquet"
