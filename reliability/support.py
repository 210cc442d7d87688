"""What every scenario shares: outcomes, homes, the CLI and server subprocesses, test data and
the exactly-once checks."""

from __future__ import annotations

import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakefeed.config import ENVIRONMENT

if TYPE_CHECKING:
    import httpx

    from lakefeed import Lakefeed

LAKEFEED = str(Path(sys.executable).with_name("lakefeed"))
ORG = "RELIABILITY@AdobeOrg"


# -- outcomes -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One row of the table: a scenario (or part of one) and what it found."""

    scenario: str
    expected: str
    trials: int = 0
    unit: str = "trials"
    faults: int | None = None
    lost: int | None = 0
    duplicated: int | None = 0
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.lost and not self.duplicated

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "expected": self.expected,
            "trials": self.trials,
            "unit": self.unit,
            "faults": self.faults,
            "ok": self.ok,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "notes": self.notes,
            "failures": self.failures,
            "seconds": round(self.seconds, 1),
        }


@dataclass
class Context:
    """Options of the run, shared by the scenarios."""

    seed: int
    quick: bool
    trials: int
    serve_trials: int
    workdir: Path
    fault_bound: float
    verbose: bool

    def rng(self, name: str) -> random.Random:
        """A generator of its own per scenario: one scenario's draws never shift another's."""
        return random.Random(f"{self.seed}:{name}")

    def folder(self, name: str) -> Path:
        path = self.workdir / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)


#: What the run was asked to convert on (``--executor``): every scenario and subprocess uses it.
EXECUTOR_SETTINGS = ("LAKEFEED_EXECUTOR", "LAKEFEED_EXECUTOR_KEY")


def scrub_environment(executor: str | None = None) -> None:
    """Drop the caller's lakefeed settings from this process (scenarios set their own), but
    for the executor ``--executor`` names (and the caller's executor key, for Dask)."""
    key = os.environ.get("LAKEFEED_EXECUTOR_KEY")
    for name in ENVIRONMENT:
        os.environ.pop(name, None)
    if executor:
        os.environ["LAKEFEED_EXECUTOR"] = executor
        if key:
            os.environ["LAKEFEED_EXECUTOR_KEY"] = key


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a lakefeed subprocess over ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT or k in EXECUTOR_SETTINGS}
    env.update(LAKEFEED_HOME=str(home), COLUMNS="200", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


# -- the CLI ------------------------------------------------------------------------------------


@dataclass
class CliResult:
    code: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.code is None

    def tail(self, chars: int = 300) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).replace("\n", " | ")
        return text[-chars:]


def cli(
    home: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> CliResult:
    """Run ``lakefeed ARGS`` over ``home``; killed (code None) after ``timeout`` seconds."""
    started = time.monotonic()
    process = subprocess.Popen(
        [LAKEFEED, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or child_env(home),
    )
    try:
        out, err = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        code = None
    return CliResult(code, out, err, time.monotonic() - started)


def kill9(process: subprocess.Popen[Any]) -> None:
    """SIGKILL and reap (an unreaped pid still counts as alive to run recovery)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self, chars: int = 400) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text.strip().replace("\n", " | ")[-chars:]


def start_serve(
    home: Path, *args: str, log: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Serve:
    """``lakefeed serve`` on 127.0.0.1 and a free port; returns at once (see wait_ready)."""
    port = port or free_port()
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            [LAKEFEED, "serve", "--port", str(port), "--log-level", "warning", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env or child_env(home),
        )
    return Serve(process, f"http://127.0.0.1:{port}", log)


def wait_ready(serve: Serve, deadline: float) -> bool:
    """Poll the server until it answers, it exits, or ``deadline`` (monotonic) passes."""
    import httpx

    while time.monotonic() < deadline:
        if serve.process.poll() is not None:
            return False
        try:
            httpx.get(f"{serve.url}/openapi.json", timeout=2)
            return True
        except httpx.HTTPError:
            time.sleep(0.05)
    return False


def stop(serve: Serve) -> None:
    if serve.process.poll() is None:
        serve.process.terminate()
        try:
            serve.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill9(serve.process)


@contextmanager
def serving(
    home: Path, *args: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[Serve]:
    """A started server, stopped afterwards; RuntimeError when it does not answer in 60 s."""
    serve = start_serve(home, *args, log=log, env=env)
    try:
        if not wait_ready(serve, time.monotonic() + 60):
            raise RuntimeError(f"lakefeed serve {' '.join(args)} did not start: {serve.log_tail()}")
        yield serve
    finally:
        stop(serve)


def api_client(serve: Serve, home: Path, org: str = ORG) -> httpx.Client:
    """An httpx client of a new API client of ``org`` (sandbox prod), token exchanged."""
    import httpx

    from lakefeed import Lakefeed

    api_key, secret = Lakefeed(home=home).auth.create_client(org)
    answer = httpx.post(
        f"{serve.url}/ims/token/v3",
        data={"client_id": api_key, "client_secret": secret, "grant_type": "client_credentials"},
        timeout=30,
    )
    answer.raise_for_status()
    headers = {
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "x-api-key": api_key,
        "x-gw-ims-org-id": org,
        "x-sandbox-name": "prod",
    }
    return httpx.Client(base_url=serve.url, headers=headers, timeout=30)


# -- data ---------------------------------------------------------------------------------------


def rows_table(prefix: str, count: int, payload: int = 40) -> pa.Table:
    """``count`` rows whose ``rid`` values (``prefix-000000``…) say where each came from."""
    return pa.table(
        {
            "rid": [f"{prefix}-{i:06d}" for i in range(count)],
            "n": pa.array(range(count), pa.int64()),
            "payload": ["x" * payload] * count,
        }
    )


SIMPLE_SCHEMA = rows_table("schema", 1).schema


def parquet_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue()


def write_files(folder: Path, count: int, rows: int, prefix: str) -> list[str]:
    """``count`` Parquet files of ``rows`` rows in ``folder``; returns every rid written."""
    folder.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    for index in range(count):
        table = rows_table(f"{prefix}-{index:04d}", rows)
        pq.write_table(table, folder / f"{prefix}-{index:04d}.parquet")
        ids += table.column("rid").to_pylist()
    return ids


def create_dataset(lf: Lakefeed, name: str, schema: pa.Schema = SIMPLE_SCHEMA) -> Any:
    """A dataset whose schema is inferred from ``schema`` (every field optional)."""
    from lakefeed.schema.infer import merge_inferred

    properties, _ = merge_inferred([schema])
    created = lf.schemas.create_inferred_schema(name, properties)
    return lf.datasets.create(name, created["$id"])


def dataset_values(lf: Lakefeed, name: str, column: str = "rid") -> list[Any]:
    """Every value of ``column`` in the dataset ``name`` (none when it does not exist yet)."""
    from lakefeed.errors import ResourceNotFound

    try:
        dataset = lf.datasets.get(name)
    except ResourceNotFound:
        return []
    table = lf.datasets.table(dataset)
    return list(table.scan(selected_fields=(column,)).to_arrow().column(column).to_pylist())


@dataclass
class Tally:
    lost: int
    duplicated: int
    unexpected: int

    def __bool__(self) -> bool:
        return bool(self.lost or self.duplicated or self.unexpected)

    def __str__(self) -> str:
        return f"{self.lost} lost, {self.duplicated} duplicated, {self.unexpected} unexpected"


def tally(found: Iterable[Any], expected: Iterable[Any], *, partial: bool = False) -> Tally:
    """How ``found`` differs from each ``expected`` value exactly once; with ``partial``,
    missing values are not counted as lost (the work is not finished yet)."""
    counts = Counter(found)
    wanted = set(expected)
    lost = 0 if partial else sum(1 for value in wanted if counts[value] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    unexpected = sum(n for value, n in counts.items() if value not in wanted)
    return Tally(lost, duplicated, unexpected)


def record_problems(lf: Lakefeed, dataset_name: str) -> list[str]:
    """Runs, batches, ledger and table that disagree: a run still in progress, a batch whose
    status contradicts the table's snapshots, ledger rows of batches that did not commit, or
    committed batches whose row counts do not add up to the table's."""
    from lakefeed.datasets.iceberg import BATCH_PROPERTY

    problems = [f"run {r.id} is still {r.state}" for r in lf.runs.list() if r.state != "completed"]
    dataset = lf.datasets.get(dataset_name)
    table = lf.datasets.table(dataset)
    committed = {
        s.summary.get(BATCH_PROPERTY) for s in table.metadata.snapshots if s.summary is not None
    }
    batches = {b.id: b for b in lf.batches.list(dataset.id)}
    expected_rows = 0
    for batch in batches.values():
        out = int((batch.metrics or {}).get("outputRecordCount") or 0)
        if batch.status == "success":
            expected_rows += out
            if out and batch.id not in committed:
                problems.append(f"batch {batch.id} is success but no snapshot commits it")
        elif batch.id in committed:
            problems.append(f"batch {batch.id} is {batch.status} but a snapshot commits it")
    rows = table.scan(selected_fields=("rid",)).to_arrow().num_rows
    if rows != expected_rows:
        problems.append(f"the table has {rows} rows, its successful batches {expected_rows}")
    for flow_id in {r.flow_id for r in lf.runs.list()}:
        for entry in lf.ledger.entries(flow_id):
            ledgered = batches.get(entry.batch_id) if entry.batch_id else None
            if entry.status == "committed" and (ledgered is None or ledgered.status != "success"):
                problems.append(f"ledger marks {entry.path} committed by a batch that did not")
    return problems


def run_phase(lf: Lakefeed, run: Any) -> str:
    """How far a run got, from its records: ``listing`` (no batch yet), ``converting`` (a
    batch, no commit), ``committed`` (its snapshot is in the table, the records not marked
    yet) or ``recorded`` (completed)."""
    from lakefeed.datasets.iceberg import snapshot_for_batch

    if run.state == "completed":
        return "recorded"
    batches = lf.batches.of_run(run.id)
    if not batches:
        return "listing"
    table = lf.datasets.table(lf.datasets.get(batches[0].dataset_id))
    return "converting" if snapshot_for_batch(table, batches[0].id) is None else "committed"


def percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "-"
