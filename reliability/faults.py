"""``lakefeed ingest`` from S3 (moto) through the fault proxy.

The files are uploaded straight to moto; the stored connection's ``serviceUrl`` is the proxy,
so every request of the run (listing, footers, data) may meet a fault. The CLI runs with
``LAKEFEED_READ_TIMEOUT`` and ``LAKEFEED_CONNECT_TIMEOUT`` set low, so a stalled request fails
in seconds and is retried.

- 10% of requests faulty (resets, 503 SlowDown, truncated bodies and stalls, evenly): every
  run must succeed (exit 0) with each row exactly once.
- 100% of requests faulty, one kind at a time: the run must fail clearly (exit 1, an error
  code, no traceback) within ``--fault-bound`` seconds, commit nothing, and the next run
  without faults must ingest everything exactly once.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from typing import Any

from reliability.fault_proxy import KINDS, FaultProxy
from reliability.support import (
    Context,
    Outcome,
    child_env,
    cli,
    create_dataset,
    dataset_values,
    parquet_bytes,
    rows_table,
    tally,
)

NAME = "fault-proxy"
DATASET = "reliability"
BUCKET = "lakefeed-reliability"
ROWS_PER_FILE = 300
#: Seconds a stalled read (and a connection attempt) may take before the client gives up.
READ_TIMEOUT = "3"
CONNECT_TIMEOUT = "3"
#: The vendor exception a storage error message names (``ClientPayloadError: …``).
CAUSE = re.compile(r"\b([A-Z]\w+(?:Error|Exception|Timeout)):")


def s3_params(endpoint: str) -> dict[str, Any]:
    return {"s3AccessKey": "testing", "s3SecretKey": "testing", "serviceUrl": endpoint}


def run(ctx: Context) -> list[Outcome]:
    endpoint = os.environ.get("LAKEFEED_TEST_S3_ENDPOINT")
    if not endpoint:
        raise RuntimeError("LAKEFEED_TEST_S3_ENDPOINT is not set: start the test servers")
    proxy = FaultProxy(endpoint, seed=ctx.rng(NAME).randrange(2**32))
    proxy.start()
    try:
        return Faults(ctx, endpoint, proxy).run()
    finally:
        proxy.stop()


class Faults:
    def __init__(self, ctx: Context, endpoint: str, proxy: FaultProxy) -> None:
        from lakefeed import Lakefeed

        self.ctx = ctx
        self.proxy = proxy
        self.home = ctx.folder("faults") / "home"
        self.lf = Lakefeed(home=self.home)
        create_dataset(self.lf, DATASET)
        self.direct = self.lf.session_for("amazon-s3", s3_params(endpoint), "Access Key")
        if not self.direct.fs.exists(BUCKET):
            self.direct.fs.mkdir(BUCKET)
        self.lf.create_connection("proxied", "amazon-s3", "Access Key", s3_params(proxy.url))
        self.env = child_env(
            self.home, LAKEFEED_READ_TIMEOUT=READ_TIMEOUT, LAKEFEED_CONNECT_TIMEOUT=CONNECT_TIMEOUT
        )
        self.expected: list[str] = []

    def upload(self, files: int) -> str:
        """``files`` new files under a new prefix; returns its absolute path."""
        prefix = f"{BUCKET}/run-{uuid.uuid4().hex[:10]}"
        payload = {}
        for index in range(files):
            table = rows_table(f"{prefix.rsplit('/', 1)[1]}-{index:03d}", ROWS_PER_FILE)
            payload[f"{prefix}/part-{index:03d}.parquet"] = parquet_bytes(table)
            self.expected += table.column("rid").to_pylist()
        self.direct.fs.pipe(payload)
        return f"/{prefix}"

    def ingest(self, path: str, timeout: float) -> Any:
        return cli(self.home, "ingest", "proxied", path, "--dataset", DATASET, "--json",
                   timeout=timeout, env=self.env)  # fmt: skip

    def run(self) -> list[Outcome]:
        return [self.some_faults(), *(self.every_request(kind) for kind in KINDS)]

    def some_faults(self) -> Outcome:
        outcome = Outcome(
            "fault proxy 10% (" + "/".join(KINDS) + ")",
            "every run succeeds; each row once",
            unit="runs",
        )
        runs, files = (2, 15) if self.ctx.quick else (6, 30)
        before = dict(self.proxy.counts)
        for number in range(runs):
            path = self.upload(files)
            self.proxy.set_faults(0.10)
            result = self.ingest(path, timeout=max(self.ctx.fault_bound * 3, 300))
            self.proxy.set_faults(0.0)
            outcome.trials += 1
            self.ctx.log(f"10% run {number}: exit {result.code} in {result.seconds:.1f}s")
            if result.code != 0:
                outcome.fail(
                    f"run {number} exited {result.code} after {result.seconds:.0f}s: "
                    f"{error_codes(result)} ({file_failures(result)}); "
                    "a run without faults completes it"
                )
                self.ingest(path, timeout=300)
        found = tally(dataset_values(self.lf, DATASET), self.expected)
        outcome.lost, outcome.duplicated = found.lost, found.duplicated
        if found.unexpected:
            outcome.fail(f"{found.unexpected} rows that no source file holds")
        counts = {k: self.proxy.counts[k] - before.get(k, 0) for k in ("requests", *KINDS)}
        outcome.faults = sum(counts[k] for k in KINDS)
        outcome.notes.append(
            f"{counts['requests']} requests; " + ", ".join(f"{k} {counts[k]}" for k in KINDS)
        )
        return outcome

    def every_request(self, kind: str) -> Outcome:
        bound = self.ctx.fault_bound
        outcome = Outcome(
            f"fault proxy 100% {kind}",
            f"fails clearly within {bound:.0f}s; next run ingests all",
            unit="runs",
        )
        path = self.upload(3)
        before = self.proxy.faults
        self.proxy.set_faults(1.0, (kind,))
        result = self.ingest(path, timeout=bound + 30)
        self.proxy.set_faults(0.0)
        outcome.trials = 1
        outcome.faults = self.proxy.faults - before
        codes = error_codes(result)
        outcome.notes.append(
            f"exit {result.code} after {result.seconds:.1f}s ({codes or 'no error code'})"
        )
        if result.timed_out or result.seconds > bound:
            outcome.fail(f"no failure within {bound:.0f}s (killed after {result.seconds:.0f}s)")
        elif result.code != 1:
            outcome.fail(f"exit code {result.code}, expected 1 (failed): {result.tail()}")
        if not result.timed_out and not codes:
            outcome.fail(f"no error code in the output: {result.tail()}")
        if "Traceback" in result.stderr:
            outcome.fail("a traceback instead of an error message: " + result.tail())
        mine = set(self.expected[-3 * ROWS_PER_FILE :])
        half = [rid for rid in dataset_values(self.lf, DATASET) if rid in mine]
        if half:
            outcome.fail(f"the failed run committed {len(half)} rows")
        again = self.ingest(path, timeout=300)
        if again.code != 0:
            outcome.fail(f"the run after the faults exited {again.code}: {again.tail()}")
        found = tally(dataset_values(self.lf, DATASET), self.expected)
        outcome.lost, outcome.duplicated = found.lost, found.duplicated
        return outcome


def file_failures(result: Any) -> str:
    """The failed files of a run's JSON, by error code and the vendor error that caused it."""
    try:
        run = json.loads(result.stdout)
    except ValueError:
        return "no run JSON"
    errors = run["metrics"]["statusSummary"].get("extensions", {}).get("fileErrors", [])
    causes = Counter(
        f"{e.get('code')} {m.group(1) if (m := CAUSE.search(str(e.get('message')))) else ''}"
        for e in errors
    )
    return ", ".join(f"{n} files {cause.strip()}" for cause, n in causes.most_common()) or "-"


def error_codes(result: Any) -> str:
    """The distinct error codes in a CLI run's output (``LF-2503``, ``CONNECTOR-…``)."""
    found = re.findall(r"\b(LF-\d{3,4}|[A-Z]+-\d{4}-\d{3})\b", result.stdout + result.stderr)
    return ", ".join(sorted(set(found)))
