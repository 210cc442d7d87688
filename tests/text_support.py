"""Helpers for the text format tests (delimited, JSON, compression): real files in a folder,
inspected through a range reader of ranged reads as storage backends serve them, read row by
row, and archives built in memory."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakefeed.files import FileEntry
from lakefeed.formats import (
    FileFormat,
    InspectedFile,
    PartFailed,
    PartStarted,
    RejectedRow,
    RejectedRows,
)


class LocalFiles:
    """Files in ``root``, read for inspection through a RangeReader of ranged reads that
    records every range asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[list[tuple[str, int, int]]] = []

    def put(self, name: str, data: bytes | str) -> FileEntry:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return self.entry(name)

    def entry(self, name: str) -> FileEntry:
        path = self.root / name
        return FileEntry(str(path), path.stat().st_size)

    def read(self, ranges: list[tuple[FileEntry, int, int]]) -> list[bytes | BaseException]:
        self.calls.append([(e.path, start, end) for e, start, end in ranges])
        found: list[bytes | BaseException] = []
        for entry, start, end in ranges:
            with open(entry.path, "rb") as handle:
                handle.seek(start)
                found.append(handle.read(end - start))
        return found

    def bytes_read(self) -> int:
        return sum(end - start for call in self.calls for _, start, end in call)

    def inspect(self, file_format: FileFormat, name: str) -> InspectedFile:
        """``name`` inspected; the exception that stopped it raised."""
        ((_, result),) = file_format.inspect([self.entry(name)], self.read)
        if isinstance(result, BaseException):
            raise result
        return result

    def items(self, file_format: FileFormat, name: str, *, batch_rows: int = 65536) -> list[Any]:
        """Everything ``read_rows`` yields for ``name``, inspected first."""
        inspected = self.inspect(file_format, name)
        return list(file_format.read_rows(str(self.root / name), inspected, batch_rows=batch_rows))


def rows_of(items: list[Any]) -> list[dict[str, Any]]:
    return [row for item in items if isinstance(item, pa.RecordBatch) for row in item.to_pylist()]


def rejected_of(items: list[Any]) -> list[RejectedRow]:
    return [row for item in items if isinstance(item, RejectedRows) for row in item.rows]


def parts_of(items: list[Any]) -> list[tuple[str, str]]:
    """``("started" | "failed", member)`` in order."""
    return [
        ("started", item.name) if isinstance(item, PartStarted) else ("failed", item.name)
        for item in items
        if isinstance(item, PartStarted | PartFailed)
    ]


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return sink.getvalue()


def tar_of(members: dict[str, bytes], *, gz: bool = False) -> bytes:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w:gz" if gz else "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return sink.getvalue()


def damage_zip_member(archive: bytes, member: str) -> bytes:
    """``archive`` with bytes in the middle of ``member``'s compressed data overwritten."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        info = opened.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    damaged = bytearray(archive)
    damaged[middle : middle + 8] = bytes(8 - i for i in range(8))
    return bytes(damaged)
