"""Reading from S3 (the moto test server, ``LAKEFEED_TEST_S3_ENDPOINT``): requests per file,
ingest with and without added latency, and footer inspection against its baselines. The runner
uploads the files once into a bucket of its own and calls each function below in a fresh
process, with ``endpoint`` either the server or a ``latency_proxy.LatencyProxy`` in front of it.

Every S3 call of a measuring process is counted by API operation (s3fs's ``_call_s3``), so a
request added or saved per file shows as a difference of one per file.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import executor_name, timer, unique

TENANT = "local"


def s3_params(endpoint: str) -> dict[str, Any]:
    return {"s3AccessKey": "testing", "s3SecretKey": "testing", "serviceUrl": endpoint}


def count_s3_calls() -> collections.Counter[str]:
    """Count every S3 API call made through s3fs in this process, by operation."""
    import s3fs

    counts: collections.Counter[str] = collections.Counter()
    original = s3fs.S3FileSystem._call_s3

    async def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        counts[method] += 1
        return await original(self, method, *args, **kwargs)

    s3fs.S3FileSystem._call_s3 = counted
    return counts


def upload_profiles(endpoint: str, bucket: str, files: int, rows: int) -> str:
    """``files`` Parquet files of ``rows`` XDM profiles each under ``bucket/profiles``; the
    folder's path for a connection without a root."""
    from lakefeed import Lakefeed
    from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
    from lakefeed.testing.profiles import profile_table

    home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-upload-"))
    try:
        session = Lakefeed(home=home).session_for("amazon-s3", s3_params(endpoint))
        ensure_folder(session.fs, bucket)
        folder = f"{bucket}/profiles"
        chunk = profile_table(rows, tenant_id=TENANT)
        payload = parquet_bytes(chunk)
        # The same rows in every file: footers and sizes are what is measured, not the values.
        put(session, {f"{folder}/f{n:05}.parquet": payload for n in range(files)})
        return folder
    finally:
        shutil.rmtree(home, ignore_errors=True)


def remove_bucket(endpoint: str, bucket: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
    with contextlib.suppress(OSError):
        fs.rm(bucket, recursive=True)


def _filesystem(endpoint: str) -> Any:
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
    return fs


def warm(fs: Any, folder: str) -> None:
    """A first request before the clock starts: the S3 client is made on the first call
    (about a second of start-up that is no footer's cost), on every side alike."""
    fs.info(folder.split("/")[0])
    fs.invalidate_cache()


def ingest_s3(endpoint: str, folder: str, files: int) -> dict[str, Any]:
    """``lf.ingest(connection, folder, infer=True)`` in a fresh home with a local warehouse:
    listing, inference, inspection, conversion and the commit."""
    from lakefeed import Lakefeed

    counts = count_s3_calls()
    home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-s3-"))
    try:
        lf = Lakefeed(home=home)
        lf.create_connection("s3", "amazon-s3", None, s3_params(endpoint))
        counts.clear()
        with timer() as took:
            run = lf.ingest("s3", folder, dataset=unique("profiles"), infer=True)
        calls = dict(counts)
        return {
            "seconds": took["seconds"],
            "status": run.status,
            "rows": run.metrics["recordSummary"]["outputRecordCount"],
            "calls": calls,
            "requests_per_file": sum(calls.values()) / files,
            "gets_per_file": calls.get("get_object", 0) / files,
            "executor": executor_name(lf),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def footers_lakefeed(endpoint: str, folder: str, files: int) -> dict[str, Any]:
    """``session.inspect(folder)``: the listing and every file's footer."""
    from lakefeed import Lakefeed
    from lakefeed.formats.parquet_footer import ParquetFooter

    counts = count_s3_calls()
    home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-footers-"))
    try:
        session = Lakefeed(home=home).session_for("amazon-s3", s3_params(endpoint))
        warm(session.fs, folder)
        counts.clear()
        with timer() as took:
            footers = sum(isinstance(r, ParquetFooter) for r in session.inspect(folder))
        return {
            "seconds": took["seconds"],
            "footers": footers,
            "requests_per_file": sum(counts.values()) / files,
            "calls": dict(counts),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def footers_sequential(endpoint: str, folder: str, limit: int) -> dict[str, Any]:
    """``pq.read_metadata(fs.open(path))`` file after file, on the first ``limit`` files (the
    time is linear in the count; the runner scales it to the whole folder per file)."""
    import pyarrow.parquet as pq

    counts = count_s3_calls()
    fs = _filesystem(endpoint)
    warm(fs, folder)
    counts.clear()
    with timer() as took:
        paths = sorted(fs.find(folder))[:limit]
        for path in paths:
            with fs.open(path, "rb") as handle:
                pq.read_metadata(handle)
    return {
        "seconds": took["seconds"],
        "files": len(paths),
        "seconds_per_file": took["seconds"] / len(paths),
        "requests_per_file": sum(counts.values()) / len(paths),
    }


def tails_bare(endpoint: str, folder: str, concurrency: int) -> dict[str, Any]:
    """The listing, then one ranged GET of each file's last 64 KiB (lakefeed's footer read),
    ``concurrency`` at a time on s3fs's event loop: the floor for footer inspection."""
    from lakefeed.formats.parquet_footer import TAIL_BYTES

    counts = count_s3_calls()
    fs = _filesystem(endpoint)
    warm(fs, folder)
    counts.clear()
    with timer() as took:
        entries = fs.find(folder, detail=True)
        paths = sorted(entries)
        sizes = [int(entries[p]["size"]) for p in paths]
        starts = [max(0, size - TAIL_BYTES) for size in sizes]
        tails = fs.cat_ranges(paths, starts, sizes, batch_size=concurrency)
    return {
        "seconds": took["seconds"],
        "files": len(tails),
        "requests_per_file": sum(counts.values()) / len(paths),
    }
