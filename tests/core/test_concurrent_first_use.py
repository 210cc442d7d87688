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

# Their databases start with no table: they test the schema being made and migrated.
pytestmark = pytest.mark.empty_database

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
    # The catalog every process opened is usable: its tables exist, no namespace is made yet.
    assert lf.iceberg_catalog().list_namespaces() == []


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
        # One key, on a line of its own (a key appended later gets a line of its own too).
        assert {key + b"\n" for key in keys} == {path.read_bytes()} and len(keys.pop()) == 44
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary left


def test_a_name_taken_between_the_check_and_the_write_is_name_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers create or rename connections to one name at once: both checks pass before
    either writes. The second write is refused as a taken name, not a database error (over
    REST: 409, not 500)."""
    from lakefeed.catalog.connections import ConnectionStore
    from lakefeed.errors import ConnectionNameTaken

    lf = Lakefeed(home=tmp_path / "home")
    params = {"s3AccessKey": "AKIA", "s3SecretKey": SECRET}
    lf.create_connection("raw", "amazon-s3", None, params)
    other = lf.create_connection("other", "amazon-s3", None, params)
    monkeypatch.setattr(ConnectionStore, "_check_name_free", lambda self, db, name: None)

    with pytest.raises(ConnectionNameTaken, match="'raw' already exists"):
        lf.create_connection("raw", "amazon-s3", None, params)
    with pytest.raises(ConnectionNameTaken, match="'raw' already exists"):
        lf.connections.update(other.id, name="raw")
    assert sorted(c.name for c in lf.connections.list()) == ["other", "raw"]


def test_ingests_of_one_folder_started_together_share_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ``lakefeed ingest FOLDER`` at once: both look for the folder's connection, find
    none, and create it; the one that creates it second uses the other's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakefeed.errors import ConnectionNotFound

    folder = tmp_path / "landing"
    folder.mkdir()
    pq.write_table(pa.table({"k": [1, 2]}), folder / "a.parquet")
    home = tmp_path / "home"
    lf = Lakefeed(home=home)
    found = Lakefeed.connection

    def another_process_creates_it_meanwhile(self: Lakefeed, id_or_name: str) -> object:
        if id_or_name.startswith("local:") and not lf.connections.list():
            Lakefeed(home=home).create_connection(
                id_or_name, "local-files", None, {"rootPath": str(folder)}
            )
            raise ConnectionNotFound(f"No connection {id_or_name!r}.")
        return found(self, id_or_name)

    monkeypatch.setattr(Lakefeed, "connection", another_process_creates_it_meanwhile)

    run = lf.ingest(str(folder), ".", dataset="d", infer=True)

    assert run.status == "success", run.metrics
    assert [c.name for c in lf.connections.list()] == [f"local:{folder}"]


def test_a_dataset_name_taken_between_the_check_and_the_write_is_name_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers create one dataset name at once (over REST: 409, not 500), and the loser's
    Iceberg table is not left behind."""
    from lakefeed.errors import NameTaken
    from lakefeed.testing.profiles import create_profile_schema

    lf = Lakefeed(home=tmp_path / "home")
    schema_id = create_profile_schema(lf.schemas)["$id"]
    kept = lf.datasets.create("profiles", schema_id)
    rows = lf.datasets.records.rows
    monkeypatch.setattr(rows, "find", lambda id_or_name: None)  # both checks pass

    with pytest.raises(NameTaken, match="'profiles' already exists"):
        lf.datasets.create("profiles", schema_id)
    (namespace,) = lf.iceberg_catalog().list_namespaces()
    assert [name for _, name in lf.iceberg_catalog().list_tables(namespace)] == [
        kept.table_identifier.split(".")[-1]
    ]


def test_the_first_datasets_of_a_sandbox_created_at_once_share_its_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer creates the sandbox's Iceberg namespace between pyiceberg's check and its
    write: the dataset is created all the same (was LF-3000, a 500 over REST)."""
    from lakefeed.datasets.iceberg import namespace_for
    from lakefeed.testing.profiles import create_profile_schema

    lf = Lakefeed(home=tmp_path / "home")
    schema_id = create_profile_schema(lf.schemas)["$id"]
    catalog = lf.datasets.catalog
    namespace = namespace_for(lf.scope.ims_org_id, lf.scope.sandbox_name)
    exists = catalog.namespace_exists
    checks: list[bool] = []

    def checked_before_the_other_writer(name: object) -> bool:
        if not checks:
            checks.append(False)
            catalog.create_namespace(namespace)  # the other writer, right after this check
            return False
        return bool(exists(name))

    monkeypatch.setattr(catalog, "namespace_exists", checked_before_the_other_writer)

    dataset = lf.datasets.create("profiles", schema_id)

    assert checks == [False]
    assert lf.datasets.read(dataset).num_rows == 0
