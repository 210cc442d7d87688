"""Ingesting ~1 GB of XDM Profile Parquet from the local backend, side by side with a plain
pyarrow read-and-write of the same files measured in the same run.

    python benchmarks/ingest_throughput.py --gigabytes 0.1          # a quick loop
    python benchmarks/ingest_throughput.py --gigabytes 1.0 --repeat 3

The files are generated once and cached under ``--data`` (one folder per size). Every
measurement runs in a fresh subprocess, so its peak RSS is its own:

- baseline: per file, ``pq.ParquetFile(path).iter_batches(65536)`` into a ``pq.ParquetWriter``
  (zstd, the Iceberg default) in a temp folder: no validation, no Iceberg.
- lakefeed: a fresh home; schema, dataset, local connection, source and target connections and
  a flow (partialIngestionPercent 5) are set up, then ``lf.run_flow(flow)`` alone is timed.

Runs alternate baseline/lakefeed ``--repeat`` times; medians are printed. MB is 10^6 bytes.
Memory is the child's peak RSS (VmHWM); "pre-run" is that peak just before the timed part
(imports, and lakefeed's setup); growth/largest = (peak - pre-run) / largest input file, which
stays flat as the data grows when reading and writing stream.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if __package__ in (None, ""):
    # Run as a script: make the project root importable so `benchmarks.*` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.measure import executor_name, peak_rss

TENANT = "local"  # the tenant of the default scope, so the files match the schema
CHUNK_ROWS = 50_000  # rows made by profile_table (row-by-row Python), then reused
ROW_GROUP_ROWS = 2 * CHUNK_ROWS
FILE_BYTES = 32 * 10**6
MAX_FILES = 40
READ_BATCH_ROWS = 64 * 1024  # what the flow runner reads per batch
SUBFOLDERS = ("2026-01", "2026-02")


# -- the data ----------------------------------------------------------------------------------


def renumbered(chunk: pa.Table, start: int) -> pa.Table:
    """``chunk`` with ``_id``/``personID`` numbered from ``start`` (the rest is reused)."""
    numbers = pc.cast(pa.array(range(start, start + chunk.num_rows), pa.int64()), pa.string())
    ids = pc.binary_join_element_wise("profile-", numbers, "")
    person_ids = pc.binary_join_element_wise("P", pc.utf8_lpad(numbers, 8, "0"), "")
    chunk = chunk.set_column(chunk.schema.get_field_index("_id"), "_id", ids)
    return chunk.set_column(chunk.schema.get_field_index("personID"), "personID", person_ids)


def generate(folder: Path, gigabytes: float) -> dict[str, Any]:
    """Write the files and a manifest (last, so a half-written cache is never taken)."""
    from lakefeed.testing.profiles import profile_table

    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    chunk = profile_table(CHUNK_ROWS, tenant_id=TENANT)
    sample = pa.BufferOutputStream()
    pq.write_table(renumbered(pa.concat_tables([chunk, chunk]), 10**7), sample)
    total_groups = max(1, round(gigabytes * 10**9 / sample.getvalue().size))
    count = min(MAX_FILES, max(4, round(gigabytes * 10**9 / FILE_BYTES)), total_groups)
    files: list[dict[str, Any]] = []
    n = 0
    for index in range(count):
        relpath = f"files/{SUBFOLDERS[index % len(SUBFOLDERS)]}/part-{index:05d}.parquet"
        path = folder / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        groups = total_groups // count + (index < total_groups % count)
        with pq.ParquetWriter(path, chunk.schema) as writer:
            for group in range(groups):
                start = n + group * ROW_GROUP_ROWS
                parts = [renumbered(chunk, start + i * CHUNK_ROWS) for i in range(2)]
                writer.write_table(pa.concat_tables(parts), row_group_size=ROW_GROUP_ROWS)
        n += groups * ROW_GROUP_ROWS
        files.append(
            {"path": relpath, "bytes": path.stat().st_size, "rows": groups * ROW_GROUP_ROWS}
        )
    manifest = {
        "gigabytes": gigabytes,
        "files": files,
        "rows": n,
        "bytes": sum(f["bytes"] for f in files),
        "row_groups": total_groups,
        "generated_in_s": round(time.perf_counter() - started, 1),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def generate_rows(folder: Path, rows: int, files: int) -> dict[str, Any]:
    """``rows`` profiles in ``files`` files (row groups of at most ``ROW_GROUP_ROWS``), in the
    layout and with the manifest of :func:`generate`; written last, as there."""
    from lakefeed.testing.profiles import profile_table

    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    chunk = profile_table(CHUNK_ROWS, tenant_id=TENANT)
    entries: list[dict[str, Any]] = []
    n = 0
    for index in range(files):
        count = rows // files + (index < rows % files)
        relpath = f"files/{SUBFOLDERS[index % len(SUBFOLDERS)]}/part-{index:05d}.parquet"
        path = folder / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, chunk.schema) as writer:
            for start in range(0, count, CHUNK_ROWS):
                size = min(CHUNK_ROWS, count - start)
                # Small files take different rows of the chunk, so that coalescing them does
                # not compress repeats of the same rows.
                offset = (n + start) % (CHUNK_ROWS - size + 1)
                part = renumbered(chunk.slice(offset, size), n + start)
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
        n += count
        entries.append({"path": relpath, "bytes": path.stat().st_size, "rows": count})
    manifest = {
        "files": entries,
        "rows": n,
        "bytes": sum(f["bytes"] for f in entries),
        "row_groups": sum(-(-f["rows"] // CHUNK_ROWS) for f in entries),
        "generated_in_s": round(time.perf_counter() - started, 1),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def cached_rows(root: Path, rows: int, files: int) -> tuple[Path, dict[str, Any]]:
    """The folder of :func:`generate_rows`, generated only when not cached yet."""
    folder = (root / f"profiles-{rows}-rows-{files}-files").resolve()
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if all((folder / f["path"]).stat().st_size == f["bytes"] for f in manifest["files"]):
            return folder, manifest
    except (OSError, ValueError, KeyError):
        pass
    print(f"  generating {rows:,} rows of profiles in {files:,} files in {folder} …", flush=True)
    return folder, generate_rows(folder, rows, files)


def cached_or_generated(root: Path, gigabytes: float) -> tuple[Path, dict[str, Any]]:
    folder = (root / f"{gigabytes:g}gb").resolve()
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if all((folder / f["path"]).stat().st_size == f["bytes"] for f in manifest["files"]):
            return folder, manifest
    except (OSError, ValueError, KeyError):
        pass
    print(f"generating {gigabytes:g} GB of profiles in {folder} …")
    return folder, generate(folder, gigabytes)


# -- the measurements (each in its own process) ------------------------------------------------


def measure_baseline(
    folder: Path, manifest: dict[str, Any], threads: bool = False
) -> dict[str, Any]:
    """The copy, file after file: single-threaded as the issue's baseline is (``threads``:
    with pyarrow's decoding threads, as ``iter_batches`` has them by default)."""
    out = Path(tempfile.mkdtemp(prefix="lakefeed-bench-baseline-"))
    try:
        before = peak_rss()
        rows = 0
        started = time.perf_counter()
        for index, entry in enumerate(manifest["files"]):
            source = pq.ParquetFile(folder / entry["path"])
            target = out / f"{index:05d}.parquet"
            with pq.ParquetWriter(target, source.schema_arrow, compression="zstd") as writer:
                for batch in source.iter_batches(READ_BATCH_ROWS, use_threads=threads):
                    writer.write_batch(batch)
                    rows += batch.num_rows
        seconds = time.perf_counter() - started
        written = sum(p.stat().st_size for p in out.iterdir())
        return {"seconds": seconds, "rows": rows, "out_bytes": written, "rss_before": before}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure_lakefeed(folder: Path, profile: bool) -> dict[str, Any]:
    from lakefeed import Lakefeed
    from lakefeed.testing.profiles import create_profile_schema

    home = Path(tempfile.mkdtemp(prefix="lakefeed-bench-home-"))
    try:
        started = time.perf_counter()
        lf = Lakefeed(home=home)
        source_root = str(folder / "files")
        connection = lf.create_connection(
            "bench-landing", "local-files", None, {"rootPath": source_root}
        )
        schema = create_profile_schema(lf.schemas)
        dataset = lf.datasets.create("bench-profiles", schema["$id"])
        src = lf.flows.create_source_connection(
            name="bench-source",
            base_connection_id=connection.id,
            path=source_root,
            recursive=True,
            data_format="parquet_xdm",
            schema_id=schema["$id"],
        )
        dst = lf.flows.create_target_connection(name="bench-target", dataset_id=dataset.id)
        flow = lf.flows.create_flow(
            name="bench-flow",
            source_connection_ids=[src.id],
            target_connection_ids=[dst.id],
            options={"partialIngestionPercent": 5},
        )
        setup = time.perf_counter() - started
        before = peak_rss()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        run = lf.run_flow(flow)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        if profiler is not None:
            # stderr, so the JSON result stays the last line of stdout
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        written = sum(p.stat().st_size for p in (home / "warehouse").rglob("*.parquet"))
        return {
            "executor": executor_name(lf),
            "out_files": sum(1 for _ in (home / "warehouse").rglob("*.parquet")),
            "seconds": seconds,
            "setup_seconds": setup,
            "rows": run.metrics["recordSummary"]["outputRecordCount"],
            "status": run.status,
            "records": run.metrics["recordSummary"],
            "files": run.metrics["fileSummary"],
            "errors": run.metrics["statusSummary"].get("errors", []),
            "file_errors": run.metrics["statusSummary"]
            .get("extensions", {})
            .get("fileErrors", [])[:3],
            "out_bytes": written,
            "rss_before": before,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def pyarrow_copy(folder: str, threads: bool = False) -> dict[str, Any]:
    """The baseline as a runner measurement (``run.py --child``)."""
    path = Path(folder)
    return measure_baseline(path, json.loads((path / "manifest.json").read_text()), threads)


def lakefeed_flow(folder: str) -> dict[str, Any]:
    """lakefeed's run as a runner measurement, on the executor ``LAKEFEED_EXECUTOR`` names."""
    return measure_lakefeed(Path(folder), profile=False)


def child(which: str, folder: Path, profile: bool) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    if which == "baseline":
        result = measure_baseline(folder, manifest)
    else:
        result = measure_lakefeed(folder, profile)
    result["peak_rss"] = peak_rss()
    print(json.dumps(result))


def spawn(which: str, folder: Path, profile: bool = False) -> dict[str, Any]:
    # A clean environment: LAKEFEED_DATABASE_URL and friends would override the temp home.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFEED_")}
    command = [sys.executable, __file__, "--child", which, "--data", str(folder)]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=Path(".bench/ingest-data"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile run_flow (top 25 cumulative, stderr)"
    )
    parser.add_argument("--child", choices=["baseline", "lakefeed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.profile)
        return

    folder, manifest = cached_or_generated(args.data, args.gigabytes)
    sizes = [f["bytes"] for f in manifest["files"]]
    total, rows, largest = manifest["bytes"], manifest["rows"], max(sizes)
    print(
        f"data: {folder}\n"
        f"  {len(sizes)} files in {len(SUBFOLDERS)} folders, {rows:,} rows, {total:,} bytes "
        f"({total / 2**20:,.0f} MiB); files {min(sizes) / 10**6:.1f}–{largest / 10**6:.1f} MB, "
        f"{manifest['row_groups']} row groups of {ROW_GROUP_ROWS:,} rows (snappy), "
        f"generated in {manifest['generated_in_s']} s"
    )
    for entry in manifest["files"]:  # both sides read from the page cache, not the disk
        (folder / entry["path"]).read_bytes()

    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "lakefeed": []}
    for attempt in range(args.repeat):
        for which in ("baseline", "lakefeed"):
            result = spawn(which, folder)
            results[which].append(result)
            print(
                f"  run {attempt + 1}/{args.repeat} {which:8} {result['seconds']:7.2f} s  "
                f"peak {result['peak_rss'] / 2**20:,.0f} MiB"
            )
            if which == "lakefeed" and (result["status"] != "success" or result["rows"] != rows):
                print(
                    f"lakefeed run {result['status']}: {result['records']} (expected {rows:,} "
                    f"rows), files {result['files']}, errors {result['errors']}"
                )
                sys.exit(1)
    ours = results["lakefeed"][0]
    print(
        f"lakefeed run: status={ours['status']} outputRecordCount={ours['rows']:,} "
        f"(expected {rows:,}) failed={ours['records']['failedRecordCount']} "
        f"files={ours['files']['inputFileCount']}; setup (not timed) "
        f"{statistics.median(r['setup_seconds'] for r in results['lakefeed']):.2f} s"
    )

    def median(which: str, key: str) -> float:
        return statistics.median(r[key] for r in results[which])

    print(
        f"\nmedian of {args.repeat}  {'seconds':>8} {'rows/s':>11} {'MB/s':>7} {'peak MiB':>9} "
        f"{'pre-run':>8} {'peak/largest':>13} {'growth/largest':>15} {'out MB':>7}"
    )
    for which in ("baseline", "lakefeed"):
        seconds, peak = median(which, "seconds"), median(which, "peak_rss")
        before = median(which, "rss_before")
        print(
            f"{which:12} {seconds:8.2f} {rows / seconds:11,.0f} {total / 10**6 / seconds:7.1f} "
            f"{peak / 2**20:9,.0f} {before / 2**20:8,.0f} {peak / largest:12.1f}x "
            f"{(peak - before) / largest:14.1f}x {median(which, 'out_bytes') / 10**6:7.0f}"
        )
    time_ratio = median("lakefeed", "seconds") / median("baseline", "seconds")
    memory_ratio = median("lakefeed", "peak_rss") / median("baseline", "peak_rss")
    print(
        f"lakefeed/baseline: time {time_ratio:.2f}x, throughput {1 / time_ratio:.2f}x, "
        f"peak memory {memory_ratio:.2f}x"
    )
    if args.profile:
        print("\nprofiling one lakefeed run (top 25 by cumulative time, on stderr) …")
        spawn("lakefeed", folder, profile=True)


if __name__ == "__main__":
    main()
