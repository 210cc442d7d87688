"""Listing and footer inspection of N small Parquet files on a test server, side by side with
a naive baseline measured in the same run.

    make bench                                  # starts the servers, runs the S3 (moto) case
    python benchmarks/listing_and_footers.py --backend rgw --files 2000   # servers already up

Baselines: listing = ``fs.find(prefix, detail=True)`` (s3fs/adlfs/gcsfs/sftp materialise the
whole listing); footers = one ``pq.ParquetFile(fs.open(path)).metadata`` per file, sequentially
(what a straightforward loop does: HEAD + ranged GETs per file). Prints medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakefeed import Lakefeed
from lakefeed.formats.parquet_footer import ParquetFooter
from lakefeed.testing.contract import ensure_folder, put


def backends() -> dict[str, tuple[str, str | None, dict[str, Any], str]]:
    env = os.environ.get
    return {
        "s3": (
            "amazon-s3",
            "Access Key",
            {
                "s3AccessKey": "testing",
                "s3SecretKey": "testing",
                "serviceUrl": env("LAKEFEED_TEST_S3_ENDPOINT", ""),
            },
            "/bench",
        ),
        "rgw": (
            "amazon-s3",
            "Access Key",
            {
                "s3AccessKey": env("LAKEFEED_TEST_RGW_ACCESS_KEY", ""),
                "s3SecretKey": env("LAKEFEED_TEST_RGW_SECRET_KEY", ""),
                "serviceUrl": env("LAKEFEED_TEST_RGW_ENDPOINT", ""),
            },
            "/bench",
        ),
        "azure": (
            "azure-blob",
            "ConnectionString",
            {"connectionString": env("LAKEFEED_TEST_AZURE_CONNECTION_STRING", "")},
            "/bench",
        ),
        "gcs": (
            "google-cloud",
            "Anonymous Access for google-cloud",
            {"serviceUrl": env("LAKEFEED_TEST_GCS_ENDPOINT", "")},
            "/bench",
        ),
        "sftp": (
            "sftp",
            "Basic Authentication for sftp",
            {
                "host": env("LAKEFEED_TEST_SFTP_HOST", ""),
                "port": env("LAKEFEED_TEST_SFTP_PORT", "22"),
                "userName": env("LAKEFEED_TEST_SFTP_USER", ""),
                "password": env("LAKEFEED_TEST_SFTP_PASSWORD", ""),
                "hostKeyChecking": False,
            },
            f"{env('LAKEFEED_TEST_SFTP_ROOT', '')}/bench",
        ),
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any, int]:
    """Median seconds over ``repeat`` runs, the last result, and the peak traced memory of one
    more run (tracemalloc slows Python down, so it is kept out of the timed runs)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), result, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=sorted(backends()), default="s3")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", default="list,footers", help="comma list: list, footers")
    args = parser.parse_args()
    spec, auth, params, root = backends()[args.backend]
    root = f"{root}-{uuid.uuid4().hex[:8]}"  # a bucket (or folder) of this run's own
    session = Lakefeed(home=f"/tmp/lakefeed-bench-{os.getpid()}").session_for(spec, params, auth)
    base = f"{root}/run-{uuid.uuid4().hex[:8]}"
    ensure_folder(session.fs, session.resolve(root))
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": list(range(100)), "name": [f"n{i}" for i in range(100)]}), sink)
    payload = sink.getvalue().to_pybytes()
    start = time.perf_counter()
    put(session, {f"{base}/f{i:05d}.parquet": payload for i in range(args.files)})
    print(
        f"backend={args.backend} files={args.files} size={len(payload)} B "
        f"(written in {time.perf_counter() - start:.1f}s), median of {args.repeat}"
    )

    fs, prefix = session.fs, session.resolve(base)

    def lakefeed_list() -> int:
        return sum(1 for _ in session.ls(base))

    def baseline_list() -> int:
        fs.invalidate_cache()
        return len(fs.find(prefix, detail=True))

    def lakefeed_footers() -> int:
        return sum(isinstance(r, ParquetFooter) for r in session.inspect(base))

    def baseline_footers() -> int:
        fs.invalidate_cache()
        rows = 0
        for path in fs.find(prefix):
            with fs.open(path, "rb") as handle:
                rows += pq.ParquetFile(handle).metadata.num_rows
        return rows // 100

    rows = []
    steps = {
        "list": (lakefeed_list, baseline_list),
        "footers": (lakefeed_footers, baseline_footers),
    }
    for label in args.steps.split(","):
        ours, theirs = steps[label.strip()]
        t_ours, n_ours, m_ours = timed(ours, args.repeat)
        t_base, n_base, m_base = timed(theirs, args.repeat)
        assert n_ours == n_base == args.files, (label, n_ours, n_base)
        rows.append((label, t_ours, t_base, m_ours, m_base))
    print(
        f"{'step':8} {'lakefeed s':>11} {'baseline s':>11} {'speed-up':>9} "
        f"{'peak MiB':>9} {'base MiB':>9}"
    )
    for label, t_ours, t_base, m_ours, m_base in rows:
        print(
            f"{label:8} {t_ours:11.3f} {t_base:11.3f} {t_base / t_ours:8.2f}x "
            f"{m_ours / 2**20:9.2f} {m_base / 2**20:9.2f}"
        )


if __name__ == "__main__":
    main()
