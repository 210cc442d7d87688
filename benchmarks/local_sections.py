"""The local sections of the runner: big ingest on each executor and against the other
tools (target 1), Dask workers (2), small files (3), and time and memory with rows."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from benchmarks.measure import TreeMemory, spawn
from benchmarks.report import (
    GIB,
    MIB,
    Figure,
    Report,
    alternating,
    checked,
    fallback_note,
    median_of,
)


def section_ingest(report: Report, data: Path) -> None:
    """Target 1: big local ingest on each executor against the single-threaded pyarrow copy,
    and against pyiceberg, dlt and DuckDB."""
    from benchmarks import ingest_throughput

    s = report.sizes
    folder, manifest = ingest_throughput.cached_rows(data, s.big_rows, s.big_files)
    rows, size = manifest["rows"], manifest["bytes"]
    print(f"  {rows:,} rows, {len(manifest['files'])} files, {size / 1e6:,.0f} MB", flush=True)
    warm(folder, manifest)
    params = {"folder": str(folder)}

    def lakefeed(executor: str) -> Callable[[], dict[str, Any]]:
        return lambda: spawn(
            "benchmarks.ingest_throughput:lakefeed_flow", params, {"LAKEFEED_EXECUTOR": executor}
        )

    results = alternating(
        {
            "pyarrow copy": lambda: spawn("benchmarks.ingest_throughput:pyarrow_copy", params),
            "pyarrow copy, decode threads": lambda: spawn(
                "benchmarks.ingest_throughput:pyarrow_copy", {**params, "threads": True}
            ),
            "lakefeed processes": lakefeed("processes"),
            "lakefeed inprocess": lakefeed("inprocess"),
            "pyiceberg append": lambda: spawn(
                "benchmarks.baselines:pyiceberg_append",
                {**params, "files_per_append": s.per_append},
            ),
            "duckdb copy": lambda: spawn("benchmarks.baselines:duckdb_copy", params),
            "dlt iceberg": lambda: spawn("benchmarks.baselines:dlt_iceberg", params),
        },
        s.repeat,
    )
    report.raw["ingest"] = {"rows": rows, "bytes": size, "results": results}
    base = median_of(results["pyarrow copy"], "seconds")
    procs, inproc = results["lakefeed processes"], results["lakefeed inprocess"]
    note = fallback_note(procs, "processes") or checked(procs, rows, "processes")
    t_procs = median_of(procs, "seconds")
    report.add(
        Figure(
            "1 big ingest, processes executor: time",
            "s",
            t_procs,
            base,
            0.8,
            baseline_name="pyarrow copy",
            note=note,
        )
    )
    report.add(
        Figure(
            "1 big ingest, in-process executor: time",
            "s",
            median_of(inproc, "seconds"),
            base,
            baseline_name="pyarrow copy",
            note=checked(inproc, rows, "inprocess"),
        )
    )
    report.add(
        Figure(
            "1 big ingest, processes executor: throughput",
            "rows/s",
            rows / t_procs if t_procs else None,
            rows / base if base else None,
            1.2e6,
            at_most=False,
            on_value=True,
            baseline_name="pyarrow copy",
        )
    )
    report.add(
        Figure(
            "1 big ingest, processes executor: peak RSS (all processes)",
            "MiB",
            max((r["tree_peak_rss"] for r in procs if "seconds" in r), default=None),
            median_of(results["pyarrow copy"], "peak_rss"),
            GIB,
            on_value=True,
            baseline_name="pyarrow copy",
        )
    )
    for name in ("pyarrow copy, decode threads", "pyiceberg append", "duckdb copy", "dlt iceberg"):
        other = results[name]
        rss = median_of(other, "tree_peak_rss")
        report.add(
            Figure(
                f"1 big ingest vs {name}: time",
                "s",
                t_procs,
                median_of(other, "seconds"),
                baseline_name=name,
                note=checked(other, rows, name)
                or (f"{name} peak RSS {rss / MIB:,.0f} MiB" if rss else ""),
            )
        )
    workers = report.scaling["workers"]
    for name, executor in (
        ("lakefeed inprocess", "inprocess"),
        ("lakefeed processes", "processes"),
    ):
        workers.append(scaling_row(executor, rows, results[name]))
    report.scaling["rows"].append(rows_row(rows, size, len(manifest["files"]), results))


def warm(folder: Path, manifest: dict[str, Any]) -> None:
    """Every side reads from the page cache, not the disk."""
    for entry in manifest["files"]:
        (folder / entry["path"]).read_bytes()


def scaling_row(executor: str, rows: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = median_of(results, "seconds")
    return {
        "executor": executor,
        "ran_on": sorted({str(r.get("executor")) for r in results}),
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else None,
        "peak_rss_mib": mib(median_of(measured(results), "tree_peak_rss")),
    }


def measured(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of measurements that ran to the end (a failed one has no time)."""
    return [r for r in results if "seconds" in r]


def mib(value: float | None) -> float | None:
    return None if value is None else value / MIB


def rows_row(
    rows: int, size: int, files: int, results: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    ours, base = results["lakefeed processes"], results["pyarrow copy"]
    seconds, base_s = median_of(ours, "seconds"), median_of(base, "seconds")
    return {
        "rows": rows,
        "files": files,
        "input_mb": size / 1e6,
        "lakefeed_s": seconds,
        "lakefeed_rows_per_s": rows / seconds if seconds else None,
        "lakefeed_peak_rss_mib": mib(median_of(measured(ours), "tree_peak_rss")),
        "coordinator_peak_rss_mib": mib(median_of(measured(ours), "peak_rss")),
        "pyarrow_s": base_s,
        "pyarrow_peak_rss_mib": mib(median_of(measured(base), "peak_rss")),
        "ratio": seconds / base_s if seconds and base_s else None,
    }


def section_rows(report: Report, data: Path) -> None:
    """How time and memory grow with rows: smaller copies of the big ingest (same file size),
    lakefeed (processes executor) and the pyarrow copy."""
    from benchmarks import ingest_throughput

    s = report.sizes
    per_file = max(1, s.big_rows // s.big_files)
    for rows in s.scaling_rows:
        files = max(1, rows // per_file)
        folder, manifest = ingest_throughput.cached_rows(data, rows, files)
        warm(folder, manifest)
        print(f"  {rows:,} rows in {files} files", flush=True)
        results = alternating(copy_and_lakefeed({"folder": str(folder)}), s.repeat)
        report.scaling["rows"].append(rows_row(rows, manifest["bytes"], files, results))
    report.scaling["rows"].sort(key=lambda r: r["rows"])


def copy_and_lakefeed(params: dict[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "pyarrow copy": lambda: spawn("benchmarks.ingest_throughput:pyarrow_copy", params),
        "lakefeed processes": lambda: spawn(
            "benchmarks.ingest_throughput:lakefeed_flow", params, {"LAKEFEED_EXECUTOR": "processes"}
        ),
    }


@contextmanager
def dask_cluster(workers: int) -> Iterator[str]:
    """A LocalCluster of ``workers`` worker processes on loopback; its address for
    ``LAKEFEED_EXECUTOR``."""
    from cryptography.fernet import Fernet
    from distributed import LocalCluster

    # Tasks travel sealed with this key: the workers (the runner's children) inherit it, the
    # coordinator gets it through the measurement's environment.
    os.environ["LAKEFEED_EXECUTOR_KEY"] = Fernet.generate_key().decode()
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
    )
    try:
        yield "dask://" + cluster.scheduler_address.removeprefix("tcp://")
    finally:
        cluster.close()
        os.environ.pop("LAKEFEED_EXECUTOR_KEY", None)


def section_dask(report: Report, data: Path) -> None:
    """Target 2: the big ingest on a Dask cluster of 1, then 2 worker processes."""
    from benchmarks import ingest_throughput

    s = report.sizes
    folder, manifest = ingest_throughput.cached_rows(data, s.big_rows, s.big_files)
    warm(folder, manifest)
    rows = manifest["rows"]
    by_workers: dict[int, list[dict[str, Any]]] = {}
    for workers in (1, 2):
        with dask_cluster(workers) as address:
            runs = []
            for _ in range(s.repeat):
                # The workers are the runner's children: their memory is sampled from here.
                with TreeMemory() as tree:
                    before = tree_rss()
                    result = spawn(
                        "benchmarks.ingest_throughput:lakefeed_flow",
                        {"folder": str(folder)},
                        {
                            "LAKEFEED_EXECUTOR": address,
                            "LAKEFEED_EXECUTOR_KEY": os.environ["LAKEFEED_EXECUTOR_KEY"],
                        },
                    )
                if "seconds" in result:
                    result["tree_peak_rss"] = max(tree.peak - before, result["peak_rss"])
                shown = result.get("seconds", result.get("error"))
                print(f"    dask, {workers} worker(s): {shown}", flush=True)
                runs.append(result)
        by_workers[workers] = runs
        row = scaling_row(f"dask ({workers} worker{'s' if workers > 1 else ''})", rows, runs)
        report.scaling["workers"].append(row)
    report.raw["dask"] = by_workers
    one, two = (median_of(by_workers[n], "seconds") for n in (1, 2))
    note = fallback_note(by_workers[2], "dask://…") or checked(by_workers[2], rows, "dask")
    report.add(
        Figure(
            "2 Dask, 2 workers vs 1 worker: time",
            "s",
            two,
            one,
            baseline_name="1 worker",
            note=note,
        )
    )
    report.add(
        Figure(
            "2 Dask, 2 workers: throughput",
            "rows/s",
            rows / two if two else None,
            rows / one if one else None,
            baseline_name="1 worker",
        )
    )


def tree_rss() -> int:
    import psutil  # type: ignore[import-untyped]

    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        with suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def section_small(report: Report, data: Path) -> None:
    """Target 3: 2,000 files of 1,000 rows, lakefeed against pyiceberg's batched append."""
    from benchmarks import ingest_throughput

    s = report.sizes
    rows = s.small_files * s.small_rows
    folder, manifest = ingest_throughput.cached_rows(data, rows, s.small_files)
    warm(folder, manifest)
    params = {"folder": str(folder)}
    results = alternating(
        {
            "pyiceberg append": lambda: spawn(
                "benchmarks.baselines:pyiceberg_append",
                {**params, "files_per_append": s.per_append},
            ),
            "lakefeed processes": lambda: spawn(
                "benchmarks.ingest_throughput:lakefeed_flow",
                params,
                {"LAKEFEED_EXECUTOR": "processes"},
            ),
        },
        s.repeat,
    )
    report.raw["small"] = {"rows": rows, "bytes": manifest["bytes"], "results": results}
    ours, theirs = results["lakefeed processes"], results["pyiceberg append"]
    report.add(
        Figure(
            f"3 {s.small_files:,} small files: time",
            "s",
            median_of(ours, "seconds"),
            median_of(theirs, "seconds"),
            0.7,
            baseline_name=f"pyiceberg {s.per_append} files/append",
            note=fallback_note(ours, "processes") or checked(ours, rows, "lakefeed"),
        )
    )
    out, files = median_of(ours, "out_bytes"), median_of(ours, "out_files")
    report.add(
        Figure(
            f"3 {s.small_files:,} small files: output bytes / input bytes",
            "x",
            out / manifest["bytes"] if out else None,
            target=1.1,
            on_value=True,
            note=f"{files:.0f} data files" if files else "",
        )
    )
