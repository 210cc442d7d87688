"""The S3 sections of the runner (the moto test server): requests per file and latency
(target 4), footers (5), listing (6), growth with the number of ingested files (7)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.measure import spawn, unique
from benchmarks.report import MIB, Figure, Report, alternating, checked, median_of


def s3_endpoint() -> str | None:
    return os.environ.get("LAKEFEED_TEST_S3_ENDPOINT")


@contextmanager
def s3_small_files(report: Report) -> Iterator[tuple[str, str]]:
    """The small files on the S3 test server, in a bucket of this run's own."""
    from benchmarks import remote

    endpoint = s3_endpoint()
    assert endpoint
    bucket = unique("lakefeed-bench")
    s = report.sizes
    print(f"  uploading {s.small_files:,} files to s3://{bucket}", flush=True)
    try:
        yield endpoint, remote.upload_profiles(endpoint, bucket, s.small_files, s.small_rows)
    finally:
        remote.remove_bucket(endpoint, bucket)


@contextmanager
def latency(endpoint: str, delay_ms: int) -> Iterator[Any]:
    """A ``latency_proxy.LatencyProxy`` in front of ``endpoint``: ``.url``, ``.requests``."""
    from benchmarks.latency_proxy import LatencyProxy

    with LatencyProxy(endpoint, delay_ms) as proxy:
        yield proxy


def through(proxy: Any, target: str, params: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A measurement whose S3 requests pass ``proxy``; every HTTP request it made is counted
    (``proxy_requests``), the listing's and a client's start-up's too."""

    def measure() -> dict[str, Any]:
        proxy.reset()
        result = spawn(target, {**params, "endpoint": proxy.url})
        result["proxy_requests"] = proxy.requests
        return result

    return measure


def section_s3(report: Report, data: Path) -> None:
    """Target 4: requests per file of an S3 ingest with --infer, and the same ingest with
    25 ms added to every request against none."""
    s = report.sizes
    with (
        s3_small_files(report) as (endpoint, folder),
        latency(endpoint, 0) as direct,
        latency(endpoint, s.latency_ms) as slow,
    ):
        params = {"folder": folder, "files": s.small_files}
        results = alternating(
            {
                "lakefeed, no latency": through(direct, "benchmarks.remote:ingest_s3", params),
                f"lakefeed, {s.latency_ms} ms": through(
                    slow, "benchmarks.remote:ingest_s3", params
                ),
            },
            s.repeat,
        )
    report.raw["s3"] = results
    fast, slowed = results["lakefeed, no latency"], results[f"lakefeed, {s.latency_ms} ms"]
    rows = s.small_files * s.small_rows
    calls = fast[0].get("calls", {})
    requests = median_of(fast, "proxy_requests")
    report.add(
        Figure(
            "4 S3 ingest with --infer: requests per file (s3fs calls)",
            "x",
            median_of(fast, "requests_per_file"),
            target=2,
            on_value=True,
            note=checked(fast, rows, "ingest")
            or ", ".join(f"{k} {v}" for k, v in calls.items())
            + (f"; {requests:.0f} HTTP requests in all, listing included" if requests else ""),
        )
    )
    report.add(
        Figure(
            f"4 S3 ingest of {s.small_files:,} small files: {s.latency_ms} ms vs no latency",
            "s",
            median_of(slowed, "seconds"),
            median_of(fast, "seconds"),
            1.5,
            baseline_name="no latency",
            note=checked(slowed, rows, "ingest"),
        )
    )


def read_concurrency() -> int:
    from lakefeed.storage.object_store import ObjectStoreSource

    return int(ObjectStoreSource.read_concurrency)


def section_footers(report: Report, data: Path) -> None:
    """Target 5: footer inspection with 25 ms latency against sequential read_metadata, and
    without against bare ranged GETs of the same tails at lakefeed's concurrency."""
    s = report.sizes
    files = s.small_files
    with s3_small_files(report) as (endpoint, folder):
        common = {"folder": folder}
        with latency(endpoint, s.latency_ms) as slow:
            slowed = alternating(
                {
                    f"sequential read_metadata, {s.latency_ms} ms": through(
                        slow,
                        "benchmarks.remote:footers_sequential",
                        {**common, "limit": s.sequential_footers},
                    ),
                    f"lakefeed inspect, {s.latency_ms} ms": through(
                        slow, "benchmarks.remote:footers_lakefeed", {**common, "files": files}
                    ),
                    # The floor: the same tails fetched by bare GETs, at the same concurrency
                    f"bare ranged GETs, {s.latency_ms} ms": through(
                        slow,
                        "benchmarks.remote:tails_bare",
                        {**common, "concurrency": read_concurrency()},
                    ),
                },
                s.repeat,
            )
        concurrency = read_concurrency()
        direct = alternating(
            {
                "bare ranged GETs": lambda: spawn(
                    "benchmarks.remote:tails_bare",
                    {**common, "endpoint": endpoint, "concurrency": concurrency},
                ),
                "lakefeed inspect": lambda: spawn(
                    "benchmarks.remote:footers_lakefeed",
                    {**common, "endpoint": endpoint, "files": files},
                ),
            },
            s.footers_repeat,
        )
    report.raw["footers"] = {"latency": slowed, "direct": direct}
    ours = slowed[f"lakefeed inspect, {s.latency_ms} ms"]
    sequential = slowed[f"sequential read_metadata, {s.latency_ms} ms"]
    per_file = median_of(sequential, "seconds_per_file")
    counted = [r.get("footers") for r in ours + direct["lakefeed inspect"]]
    note = "" if set(counted) == {files} else f"footers read: {counted} of {files}"
    report.add(
        Figure(
            f"5 footers of {files:,} files at {s.latency_ms} ms: time",
            "s",
            median_of(ours, "seconds"),
            per_file * files if per_file else None,
            0.05,
            baseline_name=f"sequential, {s.sequential_footers} timed",
            note=note or "target: ≥ 20× faster",
        )
    )
    report.add(
        Figure(
            f"5 footers at {s.latency_ms} ms, the floor: bare ranged GETs",
            "s",
            median_of(slowed[f"bare ranged GETs, {s.latency_ms} ms"], "seconds"),
            per_file * files if per_file else None,
            baseline_name=f"sequential, {s.sequential_footers} timed",
            note="the same tails, no parsing: what this client and server allow",
        )
    )
    requests = median_of(ours, "proxy_requests")
    sequential_requests = median_of(sequential, "proxy_requests")
    timed = median_of(sequential, "files")
    report.add(
        Figure(
            "5 footers: requests per file",
            "x",
            requests / files if requests else None,
            sequential_requests / timed if sequential_requests and timed else None,
            1.05,
            on_value=True,
            baseline_name="sequential",
        )
    )
    report.add(
        Figure(
            f"5 footers, no latency, vs bare ranged GETs ({concurrency} at a time)",
            "s",
            median_of(direct["lakefeed inspect"], "seconds"),
            median_of(direct["bare ranged GETs"], "seconds"),
            1.25,
            baseline_name="listing + GETs",
        )
    )


def section_listing(report: Report, data: Path) -> None:
    """Target 6: ``lakefeed ls --recursive`` against ``s3fs.find``, start-up included."""
    s = report.sizes
    result = spawn(
        "benchmarks.growth:measure_listing",
        {"objects": s.listing_objects, "repeat": s.listing_repeat},
    )
    report.raw["listing"] = result
    report.add(
        Figure(
            f"6 listing {s.listing_objects:,} objects (CLI, start-up included)",
            "s",
            result.get("lakefeed_s"),
            result.get("baseline_s"),
            1.1,
            baseline_name="s3fs.find",
            note=result.get("error")
            or f"peak RSS {result.get('lakefeed_rss_mib', 0):.0f} vs "
            f"{result.get('baseline_rss_mib', 0):.0f} MiB",
        )
    )


def section_growth(report: Report, data: Path) -> None:
    """Target 7 and the file-count table: ingest N tiny files from S3, then a no-op run
    against a listing of the same folder, and the store's bytes per file."""
    s = report.sizes
    last: dict[str, Any] = {}
    for files in s.growth_files:
        print(f"  {files:,} files", flush=True)
        last = spawn(
            "benchmarks.growth:measure_growth", {"files": files, "repeat": s.growth_repeat}
        )
        last["peak_rss_mib"] = last["peak_rss"] / MIB if "peak_rss" in last else None
        print(f"    {json.dumps(last)}", flush=True)
        report.scaling["files"].append(last)
    files = s.growth_files[-1]
    report.add(
        Figure(
            f"7 no-op run over {files:,} ingested files vs listing them",
            "s",
            last.get("noop_run_s"),
            last.get("listing_s"),
            1.5,
            baseline_name="session.ls",
            note=last.get("error", ""),
        )
    )
    report.add(
        Figure(
            "7 store growth per ingested file",
            "B",
            last.get("store_bytes_per_file"),
            target=1024,
            on_value=True,
        )
    )
