"""Requests per file against the S3 test server (moto): an ``--infer`` ingest reads each
footer once and each file at most twice, a run reads each small file once (whole, during
inspection, ahead of its conversion), the bytes read ahead are the listed version's, and a
connection's ``maxConcurrentReads`` bounds the reads in flight. Counts, never timings."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed import Lakefeed
from lakefeed.errors import FileChangedWhileReading
from lakefeed.flows.runner import RunProgress
from lakefeed.formats.parquet_footer import ParquetFooter
from lakefeed.storage.read_ahead import FOOTERS
from lakefeed.storage.s3_protocol import S3ProtocolSource
from lakefeed.storage.session import FileFailure
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from tests_support import server_env

pytestmark = pytest.mark.servers

BUCKET = "lakefeed-reads"
FILES = 5


def moto_params(**extra: Any) -> dict[str, Any]:
    return {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        **extra,
    }


def table(start: int, rows: int = 50) -> pa.Table:
    return pa.table({"id": list(range(start, start + rows)), "name": ["x"] * rows})


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every S3 API call of this process, by operation (async and sync entry points)."""
    import s3fs
    from fsspec.asyn import sync_wrapper

    calls: Counter[str] = Counter()
    original = s3fs.S3FileSystem._call_s3

    async def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] += 1
        return await original(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    monkeypatch.setattr(s3fs.S3FileSystem, "call_s3", sync_wrapper(counted))
    FOOTERS.clear()
    yield calls
    FOOTERS.clear()


@pytest.fixture
def folder() -> str:
    lf = Lakefeed()
    ensure_folder(lf.session_for("amazon-s3", moto_params()).fs, BUCKET)
    return f"{BUCKET}/in-{uuid.uuid4().hex[:8]}"


def test_an_inferred_ingest_reads_each_file_at_most_twice_and_a_run_once(
    s3_calls: Counter[str], folder: str
) -> None:
    lf = Lakefeed()
    writer = lf.session_for("amazon-s3", moto_params())
    put(writer, {f"/{folder}/f{i}.parquet": parquet_bytes(table(i * 50)) for i in range(FILES)})
    lf.create_connection("moto", "amazon-s3", None, moto_params())

    s3_calls.clear()
    run = lf.ingest("moto", f"/{folder}", dataset="reads", infer=True)
    assert run.status == "success", run.metrics
    # The footer read to infer the schema serves the run's inspection; the run reads the file
    # once more. Listing: a few calls per listing, not per file.
    assert s3_calls["get_object"] <= 2 * FILES, s3_calls
    assert sum(s3_calls.values()) <= 2 * FILES + 6, s3_calls

    more = {f"/{folder}/g{i}.parquet": parquet_bytes(table(1000 + i * 50)) for i in range(FILES)}
    put(writer, more)
    s3_calls.clear()
    run = lf.ingest("moto", f"/{folder}", dataset="reads")
    assert run.status == "success", run.metrics
    # A plain run: each small file read whole once, during inspection, for its conversion.
    assert s3_calls["get_object"] <= FILES, s3_calls
    assert sum(s3_calls.values()) <= FILES + 4, s3_calls
    rows = lf.datasets.read(lf.datasets.get("reads"))
    assert sorted(rows.column("id").to_pylist()) == sorted(
        [*range(FILES * 50), *(1000 + n for n in range(FILES * 50))]
    )


def test_an_inferred_ingest_with_no_room_to_read_ahead_still_reads_each_file_at_most_twice(
    s3_calls: Counter[str], folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Room for about one file's bytes: the run's inspection, answered from the footers the
    # inference read, must not read a file whole only to drop it for want of room (its
    # conversion would read it a third time).
    from lakefeed.storage import read_ahead

    lf = Lakefeed()
    writer = lf.session_for("amazon-s3", moto_params())
    files = {f"/{folder}/f{i}.parquet": parquet_bytes(table(i * 50)) for i in range(2 * FILES)}
    put(writer, files)
    monkeypatch.setattr(read_ahead, "BODY_BUFFER_BYTES", max(map(len, files.values())) + 1)
    lf.create_connection("moto", "amazon-s3", None, moto_params())

    s3_calls.clear()
    run = lf.ingest("moto", f"/{folder}", dataset="tight", infer=True)
    assert run.status == "success", run.metrics
    assert s3_calls["get_object"] <= 2 * len(files), s3_calls
    rows = lf.datasets.read(lf.datasets.get("tight"))
    assert sorted(rows.column("id").to_pylist()) == list(range(len(files) * 50))


def test_a_file_version_is_inspected_once_and_a_new_version_again(
    s3_calls: Counter[str], folder: str
) -> None:
    lf = Lakefeed()
    writer = lf.session_for("amazon-s3", moto_params())
    put(writer, {f"/{folder}/f{i}.parquet": parquet_bytes(table(i * 50)) for i in range(FILES)})
    s3_calls.clear()
    first = list(lf.session_for("amazon-s3", moto_params()).inspect(f"/{folder}"))
    second = list(lf.session_for("amazon-s3", moto_params()).inspect(f"/{folder}"))
    assert s3_calls["get_object"] == FILES, s3_calls
    assert [f.to_dict() for f in first] == [f.to_dict() for f in second]

    put(writer, {f"/{folder}/f0.parquet": parquet_bytes(pa.table({"other": [1, 2]}))})
    again = {f.entry.name: f for f in writer.inspect(f"/{folder}")}
    assert again["f0.parquet"].schema.names == ["other"] and again["f0.parquet"].num_rows == 2
    assert again["f1.parquet"].num_rows == 50


def test_bytes_read_ahead_are_the_listed_version(s3_calls: Counter[str], folder: str) -> None:
    session = Lakefeed().session_for("amazon-s3", moto_params())
    put(session, {f"/{folder}/a.parquet": parquet_bytes(table(0))})
    put(session, {f"/{folder}/b.parquet": parquet_bytes(table(100))})
    listed = list(session.ls(f"/{folder}"))
    # Rewritten after the listing, before inspection: refused, as any pinned read is.
    put(session, {f"/{folder}/a.parquet": parquet_bytes(table(500))})
    results = session.inspect_files(listed, read_ahead=True)
    a = next(results)
    assert isinstance(a, FileFailure) and isinstance(a.error, FileChangedWhileReading), a
    b = next(results)
    assert isinstance(b, ParquetFooter)
    # Rewritten after b was read ahead: its conversion reads the bytes of the listed version,
    # which the ledger records under that version's identity; the next run takes the new one.
    put(session, {f"/{folder}/b.parquet": parquet_bytes(table(900))})
    gets = s3_calls["get_object"]
    with session.reading(b.entry) as source:
        rows = pq.ParquetFile(source, metadata=b.file_metadata).read()
    assert rows.equals(table(100))
    assert s3_calls["get_object"] == gets  # served from what inspection read
    assert list(results) == []
    # Taken once: reading it again reads the listed version from storage, which is gone.
    with pytest.raises(FileChangedWhileReading), session.reading(b.entry) as source:
        pq.ParquetFile(source, metadata=b.file_metadata).read()


@pytest.mark.parametrize(("given", "most"), [(None, FILES), (2, 2)])
def test_max_concurrent_reads_bounds_the_reads_in_flight(
    monkeypatch: pytest.MonkeyPatch, folder: str, given: int | None, most: int
) -> None:
    FOOTERS.clear()
    params = moto_params() if given is None else moto_params(maxConcurrentReads=given)
    session = Lakefeed().session_for("amazon-s3", params)
    put(session, {f"/{folder}/f{i}.parquet": parquet_bytes(table(i)) for i in range(FILES)})
    in_flight, peak = 0, 0
    original = S3ProtocolSource._read_pinned

    async def counted(self: Any, fs: Any, entry: Any, start: int, end: int) -> bytes:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)  # the reads started together are all in flight here
            return await original(self, fs, entry, start, end)
        finally:
            in_flight -= 1

    monkeypatch.setattr(S3ProtocolSource, "_read_pinned", counted)
    footers = list(session.inspect(f"/{folder}"))
    assert all(isinstance(f, ParquetFooter) for f in footers)
    assert peak == most
    FOOTERS.clear()


def test_a_file_rewritten_after_it_was_read_ahead_lands_as_each_version_once(
    folder: str,
) -> None:
    lf = Lakefeed()
    writer = lf.session_for("amazon-s3", moto_params())
    put(writer, {f"/{folder}/f{i}.parquet": parquet_bytes(table(i * 50)) for i in range(3)})
    lf.create_connection("moto", "amazon-s3", None, moto_params())
    rewritten: list[str] = []

    def rewrite_the_last(progress: RunProgress) -> None:
        # Once the first file converts, the last one was read ahead already.
        if progress.current_file and not rewritten:
            assert not progress.current_file.endswith("f2.parquet")
            put(writer, {f"/{folder}/f2.parquet": parquet_bytes(table(900))})
            rewritten.append(progress.current_file)

    first = lf.ingest("moto", f"/{folder}", dataset="d", infer=True, progress=rewrite_the_last)
    assert rewritten and first.status == "success", first.metrics
    assert first.metrics["statusSummary"]["extensions"]["fileErrors"] == []

    def ids() -> list[int]:
        return sorted(lf.datasets.read(lf.datasets.get("d")).column("id").to_pylist())

    assert ids() == list(range(150))  # the version listed and read
    second = lf.ingest("moto", f"/{folder}", dataset="d")
    assert second.metrics["fileSummary"]["inputFileCount"] == 1
    assert ids() == [*range(150), *range(900, 950)]  # the new version, once
    assert (
        lf.ingest("moto", f"/{folder}", dataset="d").metrics["fileSummary"]["inputFileCount"] == 0
    )
