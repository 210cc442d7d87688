"""What a Parquet footer says: schema, rows, row groups and column statistics, no row data.

A footer is read from the file's tail: one ranged read of :data:`TAIL_BYTES` covers the footer of
almost every file; a larger footer costs exactly one more read of its known length.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from lakefeed.errors import CorruptParquet, NotParquet
from lakefeed.files import FileEntry
from lakefeed.formats.base import InspectedFile

MAGIC = b"PAR1"
TAIL_BYTES = 64 * 1024
_MIN_SIZE = len(MAGIC) * 2 + 4  # header magic, footer length, footer magic


@dataclass(frozen=True)
class ColumnChunk:
    """Statistics of one column in one row group."""

    path: str
    physical_type: str
    compression: str
    null_count: int | None
    min: Any
    max: Any
    compressed_size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "physicalType": self.physical_type,
            "compression": self.compression,
            "nullCount": self.null_count,
            "min": self.min,
            "max": self.max,
            "compressedSize": self.compressed_size,
        }


@dataclass(frozen=True)
class RowGroup:
    index: int
    num_rows: int
    total_byte_size: int
    columns: tuple[ColumnChunk, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "numRows": self.num_rows,
            "totalByteSize": self.total_byte_size,
            "columns": [c.to_dict() for c in self.columns],
        }


@dataclass(frozen=True)
class ParquetFooter(InspectedFile):
    """What a Parquet footer says about a file (``entry``, ``schema`` and ``num_rows`` are
    :class:`InspectedFile`'s)."""

    num_rows: int
    created_by: str | None
    format_version: str
    metadata: dict[str, str]
    footer_size: int
    #: pyarrow's ``FileMetaData``: handed to ``pq.ParquetFile`` so the footer is not read twice.
    file_metadata: Any = field(default=None, compare=False, repr=False)
    #: The footer as stored (metadata, its length, the magic): what a cache keeps of this
    #: result, 20 times smaller than the parsed objects, and parses again when it is asked.
    footer_bytes: bytes = field(default=b"", compare=False, repr=False)

    def packed(self) -> bytes | None:
        """The bytes :meth:`unpack` makes this result again from (None: not kept)."""
        return self.footer_bytes or None

    @classmethod
    def unpack(cls, entry: FileEntry, data: bytes) -> ParquetFooter:
        """The result :meth:`packed` answered ``data`` for, naming ``entry`` (the same version,
        as a later listing has it)."""
        return parse_footer(entry, data)

    @property
    def num_row_groups(self) -> int:
        meta = self.file_metadata
        return int(meta.num_row_groups) if meta is not None else 0

    @functools.cached_property
    def row_groups(self) -> tuple[RowGroup, ...]:
        """The row groups with their column chunks' statistics, read from the footer when
        asked (only a listing of them does: made for every file, they were a third of
        inspecting one)."""
        meta = self.file_metadata
        if meta is None:
            return ()
        return tuple(_row_group(meta, i) for i in range(meta.num_row_groups))

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """``details``: the row groups with their column statistics."""
        result: dict[str, Any] = {
            "path": self.entry.path,
            "size": self.entry.size,
            "numRows": self.num_rows,
            "numRowGroups": self.num_row_groups,
            "createdBy": self.created_by,
            "formatVersion": self.format_version,
            "schema": self.schema_fields(),
            "metadata": self.metadata,
            "footerSize": self.footer_size,
        }
        if details:
            result["rowGroups"] = [rg.to_dict() for rg in self.row_groups]
        return result


def tail_range(entry: FileEntry) -> tuple[int, int]:
    """The ``(start, end)`` byte range to read first for ``entry``'s footer."""
    return max(0, entry.size - TAIL_BYTES), entry.size


def check_size(entry: FileEntry) -> None:
    if entry.size == 0:
        raise NotParquet(
            f"{entry.path!r} is empty (0 bytes), so it is not a Parquet file.",
            fix="Remove it from the source folder, or upload the file again.",
        )
    if entry.size < _MIN_SIZE:
        raise NotParquet(
            f"{entry.path!r} has only {entry.size} bytes, too few for a Parquet file.",
            fix="Check that the file was uploaded completely.",
        )


def footer_length(entry: FileEntry, tail: bytes) -> int:
    """Bytes at the end of the file that hold the footer (metadata + length + magic).

    Raises :class:`NotParquet` when the tail does not end with ``PAR1`` and
    :class:`CorruptParquet` when the recorded length cannot fit in the file.
    """
    if tail[-4:] != MAGIC:
        raise NotParquet(
            f"{entry.path!r} does not end with the Parquet magic bytes 'PAR1': it is not a "
            "Parquet file, or it is truncated (an upload still in progress?).",
            fix="Check the file's format and that its upload finished.",
        )
    length = int.from_bytes(tail[-8:-4], "little")
    if length + _MIN_SIZE > entry.size:
        raise CorruptParquet(
            f"{entry.path!r} has a corrupt footer: it claims {length} bytes of metadata in a "
            f"file of {entry.size} bytes.",
            fix="Rewrite the file; its writer did not finish it.",
        )
    return length + 8


def parse_footer(entry: FileEntry, tail: bytes) -> ParquetFooter:
    """Parse a footer from the file's last ``len(tail)`` bytes (must hold the whole footer)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    needed = footer_length(entry, tail)
    if needed > len(tail):
        raise ValueError(f"tail of {len(tail)} bytes is shorter than the footer ({needed})")
    try:
        meta = pq.read_metadata(pa.BufferReader(MAGIC + tail[-needed:]))
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptParquet(
            f"{entry.path!r} has a corrupt Parquet footer: {exc}",
            fix="Rewrite the file with a Parquet writer.",
        ) from exc
    metadata = {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in (meta.metadata or {}).items()
        if k != b"ARROW:schema"  # Arrow's own serialized schema: binary and redundant
    }
    return ParquetFooter(
        entry=entry,
        schema=schema,
        num_rows=meta.num_rows,
        created_by=meta.created_by,
        format_version=str(meta.format_version),
        metadata=metadata,
        footer_size=needed,
        file_metadata=meta,
        footer_bytes=bytes(tail[-needed:]),
    )


def _row_group(meta: Any, index: int) -> RowGroup:
    rg = meta.row_group(index)
    columns = []
    for c in range(rg.num_columns):
        col = rg.column(c)
        stats = col.statistics
        has_minmax = stats is not None and stats.has_min_max
        columns.append(
            ColumnChunk(
                path=col.path_in_schema,
                physical_type=col.physical_type,
                compression=col.compression,
                null_count=stats.null_count if stats is not None and stats.has_null_count else None,
                min=_statistic(stats, "min") if has_minmax else None,
                max=_statistic(stats, "max") if has_minmax else None,
                compressed_size=col.total_compressed_size,
            )
        )
    return RowGroup(index, rg.num_rows, rg.total_byte_size, tuple(columns))


def _statistic(stats: Any, name: str) -> Any:
    """``stats.min`` or ``stats.max``, JSON-safe. A value Python's datetime cannot hold (a
    nanosecond timestamp that is not a whole microsecond) is written out by Arrow instead."""
    import json

    import pyarrow as pa

    try:
        return _json_safe(getattr(stats, name))
    except (ValueError, OverflowError, pa.ArrowException):
        raw = getattr(stats, f"{name}_raw")
    logical = json.loads(stats.logical_type.to_json() or "{}")
    unit = _TIME_UNITS.get(logical.get("timeUnit")) if logical.get("Type") == "Timestamp" else None
    if unit is None or not isinstance(raw, int):
        return _json_safe(raw)
    return pa.scalar(raw, pa.timestamp(unit)).cast(pa.string()).as_py()


_TIME_UNITS = {"nanoseconds": "ns", "microseconds": "us", "milliseconds": "ms"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return value[:32].hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value[:200]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)
