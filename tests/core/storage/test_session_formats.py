"""A storage session reads files through formats: the one named, else the one its registry
recognises by file name, else the default (Parquet); explore's ``canPreview`` asks the
registry; and a source type supplies the bytes of inspection or overrides it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed.errors import MalformedFile, NotParquet
from lakefeed.files import FileEntry
from lakefeed.formats import (
    FileFormat,
    FormatRegistry,
    InspectedFile,
    InspectResult,
    RangeReader,
    open_binary,
)
from lakefeed.formats.parquet import ParquetFormat
from lakefeed.formats.parquet_footer import ParquetFooter
from lakefeed.plugins import get_plugins
from lakefeed.storage.session import FileFailure, StorageSession


class CommaSeparated(FileFormat):
    """Just enough CSV for these tests: a header row, string columns, no quoting."""

    name = "csv"
    label = "CSV"
    extensions = (".csv",)
    data_formats = ("delimited",)
    file_type = "csv"

    def first_range(self, entry: FileEntry) -> tuple[int, int]:
        return 0, min(entry.size, 1024)

    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
        header, newline, _ = data.partition(b"\n")
        if not newline:
            raise MalformedFile(f"{entry.path!r} has no header row.", fix="Add one.")
        names = header.decode().split(",")
        return InspectedFile(entry, pa.schema([(n, pa.string()) for n in names]), None)

    def batches(self, source: Any, file: InspectedFile, *, batch_rows: int) -> Iterator[Any]:
        with open_binary(source) as handle:
            rows = [line.decode().rstrip("\n").split(",") for line in handle][1:]
        for start in range(0, len(rows), batch_rows):
            chunk = rows[start : start + batch_rows]
            columns = [pa.array([r[i] for r in chunk]) for i in range(len(file.schema))]
            yield pa.record_batch(columns, schema=file.schema)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "a.parquet")
    (tmp_path / "orders.csv").write_text("id,item\n1,tea\n2,cake\n3,jam\n")
    (tmp_path / "notes.txt").write_text("not data\n")
    return tmp_path


def local_session(root: Path, formats: FormatRegistry | None) -> StorageSession:
    source_type = get_plugins().source_type("local-files")
    auth = source_type.auth_params({"rootPath": str(root)})
    return StorageSession(source_type, auth, formats=formats)


def test_explore_can_preview_what_an_installed_format_recognises(landing: Path) -> None:
    both = local_session(landing, FormatRegistry([ParquetFormat(), CommaSeparated()]))
    by_name = {item["name"]: item for item in both.explore("root")}
    assert by_name["a.parquet"]["canPreview"] and by_name["orders.csv"]["canPreview"]
    assert by_name["orders.csv"]["canFetchSchema"]
    assert not by_name["notes.txt"]["canPreview"]
    parquet_only = {item["name"]: item for item in local_session(landing, None).explore("root")}
    assert parquet_only["a.parquet"]["canPreview"]
    assert not parquet_only["orders.csv"]["canPreview"]


def test_preview_reads_a_file_as_the_format_its_name_names(landing: Path) -> None:
    session = local_session(landing, FormatRegistry([ParquetFormat(), CommaSeparated()]))
    preview = session.preview("orders.csv", rows=2)
    assert preview.rows == [{"id": "1", "item": "tea"}, {"id": "2", "item": "cake"}]
    shown = preview.to_dict()
    assert shown["format"] == "csv"
    assert shown["schema"]["columns"][1] == {"name": "item", "type": "string", "nullable": True}
    assert session.preview("a.parquet").to_dict()["format"] == "parquet"


def test_a_named_format_wins_over_the_file_name_and_the_default(landing: Path) -> None:
    session = local_session(landing, FormatRegistry([ParquetFormat(), CommaSeparated()]))
    csv = session.formats.get("delimited")
    inspected = session.inspect_file("notes.txt", csv)  # no format recognises .txt
    assert inspected.schema.names == ["not data"] and inspected.num_rows is None
    with pytest.raises(NotParquet):  # unrecognised name, no format named: the default
        session.inspect_file("notes.txt")
    results = {r.entry.name: r for r in session.inspect("", file_format=csv)}
    # Every file as the named format, whatever its name.
    assert isinstance(results["notes.txt"], InspectedFile)
    assert not isinstance(results["a.parquet"], ParquetFooter)
    assert isinstance(results["a.parquet"], (InspectedFile, FileFailure))  # read as CSV
    if isinstance(results["a.parquet"], InspectedFile):
        assert all(f.type == pa.string() for f in results["a.parquet"].schema)


def test_inspection_defaults_to_parquet_for_every_file(landing: Path) -> None:
    session = local_session(landing, FormatRegistry([ParquetFormat(), CommaSeparated()]))
    results = {r.entry.name: r for r in session.inspect("")}
    assert isinstance(results["a.parquet"], ParquetFooter)
    failed = results["orders.csv"]
    assert isinstance(failed, FileFailure) and isinstance(failed.error, NotParquet)


def test_a_source_type_supplies_the_ranged_reads_of_any_format(landing: Path) -> None:
    local = get_plugins().source_type("local-files")
    calls: list[int] = []

    class Counting(type(local)):  # type: ignore[misc]
        @contextmanager
        def ranged_reads(self, fs: Any) -> Iterator[RangeReader]:
            with super().ranged_reads(fs) as read:

                def counted(ranges: list[tuple[FileEntry, int, int]]) -> list[Any]:
                    calls.append(len(ranges))
                    return read(ranges)

                yield counted

    session = StorageSession(
        Counting(),
        local.auth_params({"rootPath": str(landing)}),
        formats=FormatRegistry([ParquetFormat(), CommaSeparated()]),
    )
    (csv,) = session.inspect("*.csv", file_format=session.formats.get("csv"))
    assert isinstance(csv, InspectedFile) and csv.schema.names == ["id", "item"]
    (parquet,) = session.inspect("*.parquet")
    assert isinstance(parquet, ParquetFooter) and parquet.num_rows == 3
    assert calls == [1, 1]  # one batch of one range per inspection


def test_a_source_type_may_inspect_files_itself_and_leave_the_rest_to_the_format(
    landing: Path,
) -> None:
    local = get_plugins().source_type("local-files")

    class Knowing(type(local)):  # type: ignore[misc]
        def inspect_files(
            self, fs: Any, entries: Iterable[FileEntry], file_format: FileFormat
        ) -> Iterator[InspectResult]:
            for entry in entries:  # a backend that knows some files without reading them
                if entry.name.startswith("a."):
                    yield entry, InspectedFile(entry, pa.schema([("known", pa.int8())]), 42)
                else:
                    yield from super().inspect_files(fs, [entry], file_format)

    session = StorageSession(Knowing(), local.auth_params({"rootPath": str(landing)}))
    results = {r.entry.name: r for r in session.inspect("")}
    assert results["a.parquet"].num_rows == 42  # type: ignore[union-attr]
    assert isinstance(results["notes.txt"], FileFailure)
