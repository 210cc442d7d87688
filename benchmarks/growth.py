"""Listing through the CLI, and what an incremental run costs as the ingested files grow.

    source /tmp/lakefeed-test-servers/run/servers.env     # the S3 test server (moto)
    python benchmarks/growth.py listing --objects 5000
    python benchmarks/growth.py growth --files 2000

``measure_listing(objects)``: ``objects`` tiny objects under a fresh prefix of a fresh bucket;
side by side, median of ``repeat``: ``lakefeed ls CONNECTION PREFIX --recursive --json`` as a
process of its own (start-up included, output to /dev/null) against a Python process doing
``s3fs.S3FileSystem(...).find(prefix, detail=True)``. Peak RSS of each process as well.

``measure_growth(files)``: ``files`` tiny Parquet files on the S3 test server, ingested by one
flow; then, side by side, median of ``repeat``: a no-op incremental run of the flow (nothing
new: list, plan, record) against listing the same folder (``session.ls``) in the same process.
The control-plane store's growth per ingested file: the bytes of the SQLite database file (and
on PostgreSQL, with ``postgres_url``, ``pg_total_relation_size`` of lakefeed's tables) after
the ingest minus before, divided by ``files``.

Both functions return plain dicts (seconds, bytes, ratios), for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

#: The tables lakefeed's store keeps per file (the rest grow per run or per resource).
STORE_TABLES = (
    "file_ledger",
    "batch_files",
    "batches",
    "runs",
    "row_errors",
    "flow_backlog",
)


def _endpoint() -> str:
    endpoint = os.environ.get("LAKEFEED_TEST_S3_ENDPOINT")
    if not endpoint:
        raise SystemExit("LAKEFEED_TEST_S3_ENDPOINT is not set: start the test servers first.")
    return endpoint


def _s3_params() -> dict[str, Any]:
    return {"s3AccessKey": "testing", "s3SecretKey": "testing", "serviceUrl": _endpoint()}


def _clean_env() -> dict[str, str]:
    """This environment without lakefeed's own settings (the tests' servers' are kept), and
    with Python's bytecode cached outside the checkout (``PYTHONPYCACHEPREFIX``): an installed
    lakefeed has its modules compiled at install, as s3fs has; a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would compile every module at every start (about 0.3 s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFEED_") or "_TEST_" in k}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "lakefeed-bench-pyc"))
    return env


def _tiny_parquet(rows: int = 3) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(
        pa.table({"id": list(range(rows)), "name": [f"n{i}" for i in range(rows)]}), sink
    )
    return sink.getvalue()


def _upload(objects: int, payload: bytes, *, batch: int = 2000) -> tuple[Any, str, str]:
    """A fresh bucket with ``objects`` copies of ``payload`` under one prefix: (fs, bucket,
    prefix). s3fs's ``pipe`` puts many at once."""
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=_endpoint())
    bucket = f"lakefeed-growth-{uuid.uuid4().hex[:10]}"
    fs.mkdir(bucket)
    prefix = f"{bucket}/p-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}/d{n // 1000:03d}/f{n:06d}.parquet" for n in range(objects)]
    for start in range(0, objects, batch):
        fs.pipe({name: payload for name in names[start : start + batch]}, batch_size=64)
    fs.invalidate_cache()
    return fs, bucket, prefix


def _drop_bucket(fs: Any, bucket: str) -> None:
    with contextlib.suppress(Exception):  # best effort: the test server is not ours to break
        fs.rm(bucket, recursive=True)


def _timed_process(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one process running ``argv``. The peak is taken by
    GNU time where there is one: a child's own ``ru_maxrss`` also counts the pages it shared
    with this (large) process between fork and exec."""
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        command = argv
        if gnu_time.exists():
            command = [str(gnu_time), "-q", "-f", "%M", "-o", rss.name, *argv]
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        error = process.stderr.read().decode() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if process.returncode:
            raise RuntimeError(f"{argv[:3]} failed ({process.returncode}): {error[-2000:]}")
        peak = rss.read().strip()
    return elapsed, int(peak) * 1024 if peak.isdigit() else usage.ru_maxrss * 1024


_FIND = """
import sys, s3fs
fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=sys.argv[1])
found = fs.find(sys.argv[2], detail=True)
assert len(found) == int(sys.argv[3]), len(found)
"""


def measure_listing(objects: int, *, repeat: int = 3) -> dict[str, Any]:
    """``lakefeed ls --recursive --json`` of ``objects`` objects against ``s3fs.find`` in a
    process of its own, start-up included (median seconds of ``repeat`` runs, alternated)."""
    from lakefeed import Lakefeed

    fs, bucket, prefix = _upload(objects, b"x")
    try:
        home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-listing-"))
        env = {**_clean_env(), "LAKEFEED_HOME": str(home)}
        lf = Lakefeed(home=home)
        lf.create_connection("bench-s3", "amazon-s3", "Access Key", _s3_params())
        del lf
        lakefeed = [
            str(Path(sys.executable).with_name("lakefeed")),
            "ls",
            "bench-s3",
            f"/{prefix}",
            "--recursive",
            "--json",
        ]
        baseline = [sys.executable, "-c", _FIND, _endpoint(), prefix, str(objects)]
        ours: list[tuple[float, int]] = []
        theirs: list[tuple[float, int]] = []
        for warm in (lakefeed, baseline):  # the page cache and bytecode cache, for both
            _timed_process(warm, env)
        for _ in range(repeat):
            ours.append(_timed_process(lakefeed, env))
            theirs.append(_timed_process(baseline, env))
        # The count is checked once, outside the timed runs.
        out = subprocess.run(lakefeed, env=env, capture_output=True, check=True).stdout
        assert json.loads(out)["count"] == objects
        t_ours = statistics.median(t for t, _ in ours)
        t_base = statistics.median(t for t, _ in theirs)
        return {
            "objects": objects,
            "lakefeed_s": t_ours,
            "baseline_s": t_base,
            "ratio": t_ours / t_base,
            "lakefeed_rss_mib": max(m for _, m in ours) / 2**20,
            "baseline_rss_mib": max(m for _, m in theirs) / 2**20,
        }
    finally:
        _drop_bucket(fs, bucket)


def _sqlite_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))  # -wal, -shm too


def _postgres_bytes(engine: sa.Engine) -> int:
    query = sa.text(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname = ANY(:names)"
    )
    with engine.connect() as db:
        return int(db.execute(query, {"names": list(STORE_TABLES)}).scalar_one())


def _median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_growth(
    files: int, *, repeat: int = 3, postgres_url: str | None = None
) -> dict[str, Any]:
    """Ingest ``files`` tiny Parquet files from the S3 test server with one flow, then time a
    no-op incremental run against a listing of the same folder, and size the store's growth.
    With ``postgres_url`` (an empty database of its own), the store is that database."""
    from lakefeed import Lakefeed

    fs, bucket, prefix = _upload(files, _tiny_parquet())
    saved = dict(os.environ)
    try:
        home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-growth-"))
        for name in [n for n in os.environ if n.startswith("LAKEFEED_") and "_TEST_" not in n]:
            del os.environ[name]
        if postgres_url:
            os.environ["LAKEFEED_DATABASE_URL"] = postgres_url
        lf = Lakefeed(home=home)
        connection = lf.create_connection("bench-s3", "amazon-s3", "Access Key", _s3_params())
        # A first tiny ingest makes the dataset, flow and tables: what is measured after is
        # what the files add.
        lf.ingest("bench-s3", f"/{prefix}/d000/f000000.parquet", dataset="growth", infer=True)
        sqlite = home / "lakefeed.db"

        def size() -> int:
            if postgres_url:
                return _postgres_bytes(lf.db)
            with lf.db.connect() as db:  # the write-ahead log into the file first
                db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return _sqlite_bytes(sqlite)

        before = size()
        start = time.perf_counter()
        run = lf.ingest("bench-s3", f"/{prefix}", dataset="growth", infer=True, recursive=True)
        ingest_s = time.perf_counter() - start
        assert run.status == "success", run.metrics
        grown = size() - before

        def noop() -> None:
            again = lf.run_flow(run.flow_id)
            taken = again.metrics.get("fileSummary", {}).get("inputFileCount")
            assert again.status == "success" and not taken, again.metrics

        def listing() -> None:
            # From a new session, as a run's: connecting is part of listing.
            fresh = lf.session(connection)
            assert sum(1 for _ in fresh.ls(f"/{prefix}", recursive=True)) == files

        noop()  # warm, as a scheduler's process is
        noops, lists = [], []
        for _ in range(repeat):
            lists.append(_median(listing, 1))
            noops.append(_median(noop, 1))
        t_noop, t_list = statistics.median(noops), statistics.median(lists)
        return {
            "files": files,
            "store": "postgresql" if postgres_url else "sqlite",
            "ingest_s": ingest_s,
            "noop_run_s": t_noop,
            "listing_s": t_list,
            "ratio": t_noop / t_list,
            "store_bytes": grown,
            "store_bytes_per_file": grown / files,
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _drop_bucket(fs, bucket)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["listing", "growth"])
    parser.add_argument("--objects", "--files", type=int, default=2000, dest="count")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", help="growth: an empty PostgreSQL database")
    args = parser.parse_args()
    if args.what == "listing":
        result = measure_listing(args.count, repeat=args.repeat)
    else:
        result = measure_growth(args.count, repeat=args.repeat, postgres_url=args.postgres_url)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
