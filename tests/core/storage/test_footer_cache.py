"""What the per-process cache of inspection results keeps: a Parquet footer's own bytes,
counted as such and parsed again when asked (parsed, a nested footer weighs about 20 times
its bytes, which the cache's bound would not see), and any other result as itself."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from lakefeed.files import FileEntry
from lakefeed.formats.parquet_footer import ParquetFooter, parse_footer
from lakefeed.storage.read_ahead import (
    PACKED_OVERHEAD_BYTES,
    PARSED_RESULT_BYTES,
    cached_form,
    from_cache,
)
from lakefeed.testing.contract import parquet_bytes


def nested_file() -> bytes:
    people = pa.array(
        [{"name": {"first": f"a{i}", "last": "b"}, "tags": ["x", str(i)]} for i in range(200)]
    )
    return parquet_bytes(pa.table({"id": list(range(200)), "person": people}))


def test_a_parquet_footer_is_kept_as_its_bytes_and_parsed_again_naming_the_new_listing() -> None:
    data = nested_file()
    entry = FileEntry(path="/in/a.parquet", size=len(data), etag='"v1"')
    footer = parse_footer(entry, data)
    kept, size = cached_form(footer)
    assert not isinstance(kept, ParquetFooter)
    assert size == footer.footer_size + PACKED_OVERHEAD_BYTES
    assert footer.footer_size < len(data)

    relisted = FileEntry(path="/in/a.parquet", size=len(data), etag='"v1"', version="7")
    again = from_cache(kept, relisted)
    assert isinstance(again, ParquetFooter) and again.entry == relisted
    assert again.to_dict() == footer.to_dict()
    assert again.schema.equals(footer.schema)
    assert again.file_metadata.num_rows == 200


def test_a_result_that_cannot_be_packed_is_kept_whole_and_counted_as_parsed() -> None:
    @dataclass(frozen=True)
    class Sampled:
        entry: FileEntry
        rows: int

    entry = FileEntry(path="/in/a.csv", size=10)
    kept, size = cached_form(Sampled(entry, 3))
    assert kept == Sampled(entry, 3) and size == PARSED_RESULT_BYTES
    renamed = FileEntry(path="/in/a.csv", size=10, version="2")
    assert from_cache(kept, renamed) == Sampled(renamed, 3)
