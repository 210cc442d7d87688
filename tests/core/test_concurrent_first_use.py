"""Many processes starting on one empty LAKEFEED_HOME at the same moment: every one succeeds
(no "table … already exists"), and they all seal secrets with the one key that was created."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.secretbox import SecretBox

PROCESSES = 8
ROUNDS = 2
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"

#: Imports everything first, says it is ready, waits for the go file, then uses the store.
FIRST_USE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lakefeed import Lakefeed
    from lakefeed.catalog import store, secretbox
    from lakefeed.datasets import iceberg
    import cryptography.fernet, pyiceberg.catalog.sql

    n, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ready.touch()
    deadline = time.monotonic() + 120
    while not go.exists():
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.001)
    lf = Lakefeed()
    lf.create_connection(f"s3-{n}", "amazon-s3", "Access Key", {
        "s3AccessKey": f"AKIA{n}", "s3SecretKey": sys.argv[4], "bucketName": "raw"})
    lf.iceberg_catalog().list_namespaces()
    """
)


def start_together(home: Path, signals: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run :data:`FIRST_USE` in :data:`PROCESSES` processes, released at one moment."""
    signals.mkdir()
    go = signals / "go"
    env = {**os.environ, "LAKEFEED_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(n), str(signals / f"ready-{n}"), str(go), SECRET],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(signals.glob("ready-*"))) < PROCESSES:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "the processes did not start"
            time.sleep(0.01)
        go.touch()
        return [
            subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate(timeout=120))
            for p in procs
        ]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_processes_starting_at_once_on_an_empty_home_all_succeed(
    tmp_path: Path, round_: int
) -> None:
    home = tmp_path / "home"
    results = start_together(home, tmp_path / "signals")

    failed = [(r.returncode, r.stderr[-2000:]) for r in results if r.returncode != 0]
    assert failed == []
    lf = Lakefeed(home=home)
    names = sorted(c.name for c in lf.connections.list())
    assert names == sorted(f"s3-{n}" for n in range(PROCESSES))
    # One key: every process's secret opens with the key on disk.
    assert all(lf.connection(name).auth["s3SecretKey"] == SECRET for name in names)
    assert [p.name for p in home.iterdir() if "secret" in p.name] == ["secret.key"]
    assert lf.iceberg_catalog().list_namespaces() is not None


def test_threads_creating_the_key_at_once_all_read_the_one_key(tmp_path: Path) -> None:
    """The same race as between processes, many times over: nobody reads a key file that is
    still empty, and nobody's key replaces another's."""
    for attempt in range(30):
        path = tmp_path / f"home-{attempt}" / "secret.key"
        barrier = threading.Barrier(16)

        def load(_: int, path: Path = path, barrier: threading.Barrier = barrier) -> bytes:
            barrier.wait(timeout=60)
            return SecretBox(path)._load_or_create_key()

        with ThreadPoolExecutor(16) as pool:
            keys = set(pool.map(load, range(16)))
        assert keys == {path.read_bytes()} and len(path.read_bytes()) == 44
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary left
