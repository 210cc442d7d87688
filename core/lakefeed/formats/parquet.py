"""Parquet, the bundled format: footer-first inspection, then row groups streamed as batches.

A footer is read from the file's tail: one ranged read of ``TAIL_BYTES`` covers the footer of
almost every file; a larger footer costs exactly one more read of its known length. Reading the
rows reuses the parsed footer, so it is never read twice.

Registered through the ``lakefeed`` entry point ``parquet`` like any format plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lakefeed.errors import CorruptParquet, LakefeedError, NotParquet, StorageError
from lakefeed.files import FileEntry
from lakefeed.formats.base import FileFormat, InspectedFile, RangeReader
from lakefeed.formats.parquet_footer import (
    MAGIC,
    ParquetFooter,
    check_size,
    footer_length,
    parse_footer,
    tail_range,
)
from lakefeed.markers import hookimpl

if TYPE_CHECKING:
    import pyarrow as pa


class ParquetFormat(FileFormat):
    name = "parquet"
    label = "Parquet"
    extensions = (".parquet",)
    # parquet_xdm: files whose columns already have the target schema's shape (Flow Service)
    data_formats = ("parquet", "parquet_xdm")
    file_type = "parquet"
    # Tails are small (64 KiB): 256 of them at once keep the reads in flight through most of
    # a folder (at 64, the reads drained every 64 files, and footers at 25 ms took a third
    # longer than the same GETs issued all at once), with 16 MiB in hand.
    inspect_batch = 256

    def first_range(self, entry: FileEntry) -> tuple[int, int]:
        check_size(entry)
        return tail_range(entry)

    def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> ParquetFooter:
        tail = data
        try:
            needed = footer_length(entry, tail)
        except NotParquet as exc:
            # Only now pay for the head: a file that starts like Parquet was cut short.
            head = tail[:4] if len(tail) == entry.size else _ok(read([(entry, 0, 4)])[0])
            if head == MAGIC:
                raise CorruptParquet(
                    f"{entry.path!r} is truncated: it starts like a Parquet file but its footer "
                    "is missing (an upload still in progress, or an interrupted copy?).",
                    fix="Upload the complete file again.",
                ) from exc
            raise
        if needed > len(tail):
            tail = _ok(read([(entry, entry.size - needed, entry.size)])[0])
        return parse_footer(entry, tail)

    def batches(
        self, source: Any, file: InspectedFile, *, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        # The footer read during inspection is reused: one request less per file.
        metadata = file.file_metadata if isinstance(file, ParquetFooter) else None
        parquet = pq.ParquetFile(source, metadata=metadata)
        yield from parquet.iter_batches(batch_size=batch_rows)

    def read_error(
        self, entry: FileEntry, exc: BaseException, error: LakefeedError
    ) -> LakefeedError:
        """Arrow's complaints about the bytes past the footer (bad pages, thrift,
        decompression) make the file corrupt; I/O errors stay the storage's."""
        if type(error) is StorageError and _is_arrow_error(exc):
            return CorruptParquet(
                f"{entry.path} cannot be read past its footer: {exc}",
                fix="Re-upload the file; a new version is picked up by the next run.",
            )
        return error


def _ok(result: bytes | BaseException) -> bytes:
    if isinstance(result, BaseException):
        raise result
    return result


def _is_arrow_error(exc: BaseException) -> bool:
    """pyarrow's complaints about the bytes themselves, as opposed to I/O errors, which carry
    an errno and are worth a retry."""
    import pyarrow as pa

    if isinstance(exc, pa.ArrowInvalid):
        return True
    return isinstance(exc, OSError) and exc.errno is None and not isinstance(exc, LakefeedError)


@hookimpl
def register_formats(register: Callable[[FileFormat], None]) -> None:
    register(ParquetFormat())
