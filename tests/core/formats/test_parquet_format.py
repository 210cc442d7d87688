"""The bundled Parquet format on its own: inspection from ranged reads (one read per file, many
files per call), rows streamed from the footer inspection read, and errors of broken bytes."""

from __future__ import annotations

import io
import pickle

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed.errors import CorruptParquet, NotParquet, StorageError
from lakefeed.files import FileEntry
from lakefeed.formats import RangeReader
from lakefeed.formats.parquet import ParquetFormat
from lakefeed.formats.parquet_footer import TAIL_BYTES, ParquetFooter


def parquet(table: pa.Table, **kwargs: object) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue()


class Files:
    """Bytes by path, read through a RangeReader that records each call's ranges."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.calls: list[list[tuple[str, int, int]]] = []

    def entries(self) -> list[FileEntry]:
        return [FileEntry(path, len(data)) for path, data in self.files.items()]

    @property
    def read(self) -> RangeReader:
        def read(ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
            self.calls.append([(e.path, start, end) for e, start, end in ranges])
            return [self.files[e.path][start:end] for e, start, end in ranges]

        return read


def test_footers_of_many_files_come_from_one_call_of_one_tail_read_each() -> None:
    good = parquet(pa.table({"id": list(range(100))}), row_group_size=10)
    files = Files({f"/in/{i}.parquet": good for i in range(3)})
    results = list(ParquetFormat().inspect(files.entries(), files.read))
    assert [entry.path for entry, _ in results] == list(files.files)
    footers = [result for _, result in results]
    assert all(isinstance(f, ParquetFooter) and f.num_rows == 100 for f in footers)
    assert footers[0].num_row_groups == 10  # type: ignore[union-attr]
    assert files.calls == [[(path, 0, len(good)) for path in files.files]]


def test_a_footer_larger_than_the_tail_costs_exactly_one_more_read() -> None:
    wide = parquet(pa.table({f"column_{i:04d}_with_a_long_name": [i] for i in range(600)}))
    files = Files({"/wide.parquet": wide})
    ((_, footer),) = ParquetFormat().inspect(files.entries(), files.read)
    assert isinstance(footer, ParquetFooter) and footer.footer_size > TAIL_BYTES
    assert len(files.calls) == 2 and files.calls[1][0][1] == len(wide) - footer.footer_size


def test_broken_files_fail_alone_and_an_empty_one_is_not_read() -> None:
    good = parquet(pa.table({"id": [1, 2]}))
    files = Files(
        {
            "/empty.parquet": b"",
            "/text.parquet": b"id,name\n1,not parquet\n" * 10,
            "/cut.parquet": good[: len(good) // 2],
            "/good.parquet": good,
        }
    )
    results = {e.path: r for e, r in ParquetFormat().inspect(files.entries(), files.read)}
    assert isinstance(results["/empty.parquet"], NotParquet)
    assert isinstance(results["/text.parquet"], NotParquet)
    assert isinstance(results["/cut.parquet"], CorruptParquet)
    assert isinstance(results["/good.parquet"], ParquetFooter)
    assert "/empty.parquet" not in [path for call in files.calls for path, _, _ in call]


def test_batches_reuse_the_inspected_footer_instead_of_reading_it_again() -> None:
    data = parquet(pa.table({"id": list(range(5))}))
    files = Files({"/a.parquet": data})
    ((_, footer),) = ParquetFormat().inspect(files.entries(), files.read)
    assert isinstance(footer, ParquetFooter)
    garbled = data[:-8] + b"\0" * 8  # no footer length, no magic: unreadable without the footer
    batches = list(ParquetFormat().batches(io.BytesIO(garbled), footer, batch_rows=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert pa.Table.from_batches(batches).column("id").to_pylist() == [0, 1, 2, 3, 4]
    with pytest.raises((OSError, pa.ArrowInvalid)):
        pq.ParquetFile(io.BytesIO(garbled))


def test_preview_is_the_first_rows() -> None:
    data = parquet(pa.table({"id": list(range(50))}), row_group_size=7)
    files = Files({"/a.parquet": data})
    ((_, footer),) = ParquetFormat().inspect(files.entries(), files.read)
    assert isinstance(footer, ParquetFooter)
    rows = ParquetFormat().preview(io.BytesIO(data), footer, rows=10)
    assert rows == [{"id": i} for i in range(10)]


def test_arrow_complaints_about_the_bytes_become_corrupt_parquet() -> None:
    entry = FileEntry("/a.parquet", 10)
    generic = StorageError("reading failed", fix="retry")
    error = ParquetFormat().read_error(entry, pa.ArrowInvalid("bad page"), generic)
    assert isinstance(error, CorruptParquet) and "cannot be read past its footer" in error.message
    io_error = OSError(5, "I/O error")  # an errno: the storage's, worth a retry
    assert ParquetFormat().read_error(entry, io_error, generic) is generic


def test_format_and_footer_travel_to_another_process() -> None:
    data = parquet(pa.table({"id": [1, 2, 3]}))
    files = Files({"/a.parquet": data})
    ((_, footer),) = ParquetFormat().inspect(files.entries(), files.read)
    assert isinstance(footer, ParquetFooter)
    copy = pickle.loads(pickle.dumps((ParquetFormat(), footer)))
    batches = list(copy[0].batches(io.BytesIO(data), copy[1], batch_rows=10))
    assert batches[0].column(0).to_pylist() == [1, 2, 3]
