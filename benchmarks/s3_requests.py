"""Requests a run makes to S3 per file, side by side with a plain pyarrow read of the same files.

    make servers-start && source /tmp/lakefeed-test-servers/run/servers.env
    python benchmarks/s3_requests.py --files 200 --rows 2000

Against the S3 test server (moto on 127.0.0.1): ``--files`` Parquet files of ``--rows`` XDM
profiles are uploaded to a fresh bucket folder, then

- baseline: per file, ``pq.ParquetFile(fs.open(path)).iter_batches(65536)`` through the same
  s3fs filesystem, every batch consumed: what reading the data alone costs;
- lakefeed: ``lf.run_flow(flow)`` over the folder (listing, footer inspection, conversion, the
  Iceberg commit to a local warehouse).

Every S3 call of the process is counted by API operation (s3fs's ``_call_s3``), so a request
added or saved per file shows as a difference of ``--files`` GETs. On real S3 each GET is a
round trip of 10–50 ms; moto on loopback is much faster, so the times here understate it.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    endpoint = os.environ.get("LAKEFEED_TEST_S3_ENDPOINT")
    if not endpoint:
        raise SystemExit("LAKEFEED_TEST_S3_ENDPOINT is not set: start the test servers first.")
    for name in [n for n in os.environ if n.startswith("LAKEFEED_") and "TEST" not in n]:
        del os.environ[name]

    import pyarrow.parquet as pq

    from lakefeed import Lakefeed
    from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
    from lakefeed.testing.profiles import create_profile_schema, profile_table

    counts = count_s3_calls()
    params = {"s3AccessKey": "testing", "s3SecretKey": "testing", "serviceUrl": endpoint}
    folder = f"lakefeed-bench/s3req-{uuid.uuid4().hex[:8]}"
    base = Path(tempfile.mkdtemp(prefix="lakefeed-bench-s3req-"))
    setup = Lakefeed(home=base / "setup")
    writer = setup.session_for("amazon-s3", params)
    ensure_folder(writer.fs, "lakefeed-bench")
    tenant = setup.schemas.tenant_id
    tables = {
        f"{folder}/f{n:05}.parquet": profile_table(args.rows, start=n * args.rows, tenant_id=tenant)
        for n in range(args.files)
    }
    put(writer, {path: parquet_bytes(table) for path, table in tables.items()})
    paths = sorted(writer.fs.find(folder))
    size = sum(writer.fs.size(p) for p in paths)
    print(f"{len(paths)} files, {args.rows} rows each, {size / 1e6:.1f} MB on {endpoint}")

    def baseline() -> tuple[float, collections.Counter[str]]:
        fs = setup.session_for("amazon-s3", params).fs
        counts.clear()
        began = time.perf_counter()
        for path in paths:
            with fs.open(path, "rb") as handle:
                for _ in pq.ParquetFile(handle).iter_batches(batch_size=65536):
                    pass
        return time.perf_counter() - began, collections.Counter(counts)

    def lakefeed(repeat: int) -> tuple[float, collections.Counter[str]]:
        lf = Lakefeed(home=base / f"home-{repeat}")
        tenant_lf = lf.schemas.tenant_id
        assert tenant_lf == tenant
        connection = lf.create_connection("s3", "amazon-s3", None, params)
        dataset = lf.datasets.create("profiles", create_profile_schema(lf.schemas)["$id"])
        source = lf.flows.create_source_connection(
            name="s", base_connection_id=connection.id, path=folder, recursive=True,
            data_format="parquet_xdm",
        )  # fmt: skip
        target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
        flow = lf.flows.create_flow(name="f", source_connection_ids=[source.id],
                                    target_connection_ids=[target.id])  # fmt: skip
        counts.clear()
        began = time.perf_counter()
        run = lf.run_flow(flow)
        elapsed = time.perf_counter() - began
        assert run.status == "success", run.metrics["statusSummary"]
        return elapsed, collections.Counter(counts)

    base_times, lf_times = [], []
    base_calls = lf_calls = collections.Counter[str]()
    for repeat in range(args.repeat):
        elapsed, base_calls = baseline()
        base_times.append(elapsed)
        elapsed, lf_calls = lakefeed(repeat)
        lf_times.append(elapsed)
    n = len(paths)
    b, lfs = statistics.median(base_times), statistics.median(lf_times)
    print(f"\nmedians of {args.repeat}, alternating")
    print(f"{'':10} {'time s':>8} {'GET':>6} {'GET/file':>9} {'other calls':>30}")
    for name, elapsed, calls in (("baseline", b, base_calls), ("lakefeed", lfs, lf_calls)):
        other = {k: v for k, v in calls.items() if k != "get_object"}
        print(f"{name:10} {elapsed:8.2f} {calls['get_object']:6d} "
              f"{calls['get_object'] / n:9.2f} {other!s:>30}")  # fmt: skip
    print(f"\nlakefeed/baseline: time {lfs / b:.2f}x, GETs "
          f"{lf_calls['get_object'] / max(base_calls['get_object'], 1):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
