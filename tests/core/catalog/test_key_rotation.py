"""Rotating the secret key (``lakefeed keys rotate|retire|status``), on SQLite and PostgreSQL:
what was sealed before opens after, processes that loaded the old key file follow the new one
without restart, retiring leaves one key or refuses without changing anything, a connection
changed during a rotation keeps its change, and no key ever shows in output or errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet, InvalidToken

from lakefeed import Lakefeed
from lakefeed.catalog import key_rotation
from lakefeed.catalog.records import Scope
from lakefeed.catalog.secretbox import fingerprint
from lakefeed.catalog.tables import connections as table
from lakefeed.cli import _register_commands, cli
from lakefeed.errors import (
    KeyRotationRefused,
    KeyRotationRunning,
    SecretKeyFileMalformed,
    SecretsUnreadable,
)

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
#: Rotations run at once by the concurrency test.
ROTATIONS = 4


@pytest.fixture
def lf() -> Lakefeed:
    """The engine of the test's LAKEFEED_HOME (and database), which the CLI uses too."""
    return Lakefeed()


def s3(lf: Lakefeed, name: str, secret: str = SECRET) -> str:
    """A new S3 connection ``name`` whose secret key is ``secret``; its id."""
    params = {"s3AccessKey": "AKIAEXAMPLE", "s3SecretKey": secret, "bucketName": "raw"}
    return lf.create_connection(name, "amazon-s3", "Access Key", params).id


def file_keys(lf: Lakefeed) -> list[bytes]:
    """The key lines of the key file, in file order (comments left out)."""
    lines = lf.settings.secret_key_file.read_bytes().split(b"\n")
    return [line for line in lines if line and not line.startswith(b"#")]


def tokens(lf: Lakefeed) -> dict[str, bytes]:
    """Every stored secrets token, by connection id (every org and sandbox)."""
    with lf.db.connect() as db:
        return {r.id: bytes(r.secrets) for r in db.execute(sa.select(table.c.id, table.c.secrets))}


def store_token(lf: Lakefeed, id: str, token: bytes) -> None:
    """Write a connection's secrets token as another process would have (no etag change)."""
    with lf.db.begin() as db:
        db.execute(sa.update(table).where(table.c.id == id).values(secrets=token))


def sealed_with(key: bytes, secrets: dict[str, str]) -> bytes:
    """``secrets`` sealed with ``key`` the way SecretBox seals them."""
    return Fernet(key).encrypt(json.dumps(secrets, sort_keys=True).encode())


def opens_with(key: bytes, token: bytes) -> bool:
    try:
        Fernet(key).decrypt(token)
    except InvalidToken:
        return False
    return True


RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``run_cli(*args, code=0)``: the CLI in-process; a failure must be a clean exit."""
    monkeypatch.setenv("COLUMNS", "250")
    _register_commands()

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
        return result

    return run


# --- rotate ------------------------------------------------------------------------------------


def test_connections_sealed_before_rotation_open_after_it_with_the_new_key_alone(
    lf: Lakefeed,
) -> None:
    dev = lf.scoped(Scope(sandbox_name="dev"))
    ids = [s3(lf, "a", "secret-a"), s3(lf, "b", "secret-b"), s3(dev, "c", "secret-c")]
    dataset_base = lf.connections.create_dataset_base_connection(name="lake").id
    [old_key] = file_keys(lf)

    done = lf.rotate_secret_key(new_key=True)

    new_key, kept = file_keys(lf)
    assert kept == old_key and new_key != old_key
    assert (done.keys, done.secrets, done.resealed, done.retried) == (2, 4, 4, 0)
    assert done.unreadable == () and done.previous != done.fingerprint
    stored = tokens(lf)
    for id in [*ids, dataset_base]:
        assert opens_with(new_key, stored[id]) and not opens_with(old_key, stored[id])
    assert [
        lf.connection(ids[0]).auth["s3SecretKey"],
        lf.connection(ids[1]).auth["s3SecretKey"],
    ] == ["secret-a", "secret-b"]
    assert dev.connection(ids[2]).auth["s3SecretKey"] == "secret-c"
    # Only sealed anew: the connections themselves did not change.
    assert lf.connection(ids[0]).etag == lf.connections.get(ids[0]).etag
    assert stat.S_IMODE(lf.settings.secret_key_file.stat().st_mode) == 0o600


def test_rotation_keeps_etags_and_a_second_rotation_keeps_every_older_key(lf: Lakefeed) -> None:
    id = s3(lf, "a")
    before = lf.connection(id)
    lf.rotate_secret_key(new_key=True)
    second = lf.rotate_secret_key(new_key=True)
    after = lf.connection(id)
    assert (after.etag, after.updated_at) == (before.etag, before.updated_at)
    assert second.keys == 3 and len(set(file_keys(lf))) == 3
    assert opens_with(file_keys(lf)[0], tokens(lf)[id])
    assert after.auth["s3SecretKey"] == SECRET


def test_another_instance_that_loaded_the_old_key_follows_the_rotation(lf: Lakefeed) -> None:
    other = Lakefeed()  # another process's engine: its own SecretBox, its keys read already
    first = s3(other, "before")
    assert other.connection(first).auth["s3SecretKey"] == SECRET

    lf.rotate_secret_key(new_key=True)
    new_key = file_keys(lf)[0]
    after = s3(lf, "after", "sealed-after")

    assert other.connection(after).auth["s3SecretKey"] == "sealed-after"
    own = s3(other, "own", "sealed-by-other")
    assert opens_with(new_key, tokens(lf)[own])
    assert lf.connection(own).auth["s3SecretKey"] == "sealed-by-other"


#: Reads a connection (so the old key file is loaded), says so, waits for the go file, then opens
#: the connection sealed after the rotation and stores one of its own.
FOLLOWER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lakefeed import Lakefeed

    ready, go = Path(sys.argv[1]), Path(sys.argv[2])
    lf = Lakefeed()
    lf.connection("before").auth["s3SecretKey"]
    ready.touch()
    deadline = time.monotonic() + 120
    while not go.exists():
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.01)
    print(lf.connection("after").auth["s3SecretKey"])
    lf.create_connection("from-subprocess", "amazon-s3", "Access Key",
                         {"s3AccessKey": "AKIA", "s3SecretKey": "sealed-in-subprocess"})
    """
)


def test_a_running_process_that_loaded_the_old_key_follows_the_rotation(
    lf: Lakefeed, tmp_path: Path
) -> None:
    s3(lf, "before")
    ready, go = tmp_path / "ready", tmp_path / "go"
    follower = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, str(ready), str(go)],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert follower.poll() is None, follower.communicate()
            assert time.monotonic() < deadline, "the subprocess did not start"
            time.sleep(0.01)
        lf.rotate_secret_key(new_key=True)
        s3(lf, "after", "sealed-after")
        go.touch()
        out, err = follower.communicate(timeout=120)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err[-2000:]
    assert out.strip() == "sealed-after"
    [mine] = [c for c in lf.connections.list() if c.name == "from-subprocess"]
    assert opens_with(file_keys(lf)[0], tokens(lf)[mine.id])
    assert mine.auth["s3SecretKey"] == "sealed-in-subprocess"


def test_a_connection_changed_during_rotation_keeps_its_change(
    lf: Lakefeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes a connection's secret after the rotation read the row and before
    it writes the re-sealed token: the rotation's compare-and-set misses, it reads the row again,
    and the new secret stays (never the one the rotation read)."""
    changed, deleted, untouched = s3(lf, "changed"), s3(lf, "deleted"), s3(lf, "untouched")
    read_batches = key_rotation._batches

    def batches_then_others_write(engine: sa.Engine) -> Iterator[list]:
        for rows in read_batches(engine):
            lf.update_connection(changed, params={"s3SecretKey": "changed-meanwhile"})
            lf.connections.delete(deleted)
            yield rows

    monkeypatch.setattr(key_rotation, "_batches", batches_then_others_write)
    done = lf.rotate_secret_key(new_key=True)

    assert lf.connection(changed).auth["s3SecretKey"] == "changed-meanwhile"
    assert lf.connection(untouched).auth["s3SecretKey"] == SECRET
    assert done.retried == 2 and done.resealed == 1  # both read again; `untouched` re-sealed
    stored = tokens(lf)
    assert deleted not in stored
    assert all(opens_with(file_keys(lf)[0], token) for token in stored.values())


def test_rotate_leaves_a_secret_no_key_opens_as_it_is_and_names_it(lf: Lakefeed) -> None:
    fine, lost = s3(lf, "fine"), s3(lf, "lost")
    broken = sealed_with(Fernet.generate_key(), {"s3SecretKey": SECRET})
    store_token(lf, lost, broken)
    done = lf.rotate_secret_key(new_key=True)
    assert [c.name for c in done.unreadable] == ["lost"] and done.resealed == 1
    assert tokens(lf)[lost] == broken
    assert lf.connection(fine).auth["s3SecretKey"] == SECRET


def test_rotations_at_once_lose_no_key(lf: Lakefeed) -> None:
    """Each rotation reads the key file, adds a key and re-seals: run together (separate
    engines, as separate processes would), none drops a key another one sealed with. On
    PostgreSQL a rotation that finds another holding the database's lock refuses instead."""
    ids = [s3(lf, f"c{n}", f"secret-{n}") for n in range(5)]
    barrier = threading.Barrier(ROTATIONS)

    def rotate(_: int) -> str | None:
        engine = Lakefeed()
        barrier.wait(timeout=60)
        try:
            return engine.rotate_secret_key(new_key=True).fingerprint
        except KeyRotationRunning:
            return None

    with ThreadPoolExecutor(ROTATIONS) as pool:
        outcomes = list(pool.map(rotate, range(ROTATIONS)))
    made = {fp for fp in outcomes if fp is not None}

    assert made and len(set(file_keys(lf))) == len(made) + 1
    if lf.db.dialect.name == "sqlite":  # the key file's flock: one after another, all made
        assert len(made) == ROTATIONS
    assert {fingerprint(k) for k in file_keys(lf)} >= made
    fresh = Lakefeed()
    assert [fresh.connection(id).auth["s3SecretKey"] for id in ids] == [
        f"secret-{n}" for n in range(5)
    ]
    assert all(opens_with(file_keys(lf)[0], token) for token in tokens(lf).values())


# --- staged rotation: several machines, each with its own copy of the key file -----------------


@pytest.fixture
def machine_2(lf: Lakefeed, tmp_path: Path) -> Callable[[], Lakefeed]:
    """``machine_2()``: an engine of another machine on the same database, reading its own
    copy of the key file (``copy_key_file`` brings it up to date, as an operator's `cp`)."""
    path = tmp_path / "machine-2" / "secret.key"
    path.parent.mkdir()

    def engine() -> Lakefeed:
        return Lakefeed(settings=dataclasses.replace(lf.settings, secret_key_file=path))

    return engine


def copy_key_file(lf: Lakefeed, other: Lakefeed) -> None:
    shutil.copyfile(lf.settings.secret_key_file, other.settings.secret_key_file)


def test_add_stages_a_key_that_opens_but_seals_nothing(lf: Lakefeed) -> None:
    id = s3(lf, "a")
    [old_key] = file_keys(lf)
    before = tokens(lf)

    added = lf.add_secret_key()

    current, staged = file_keys(lf)
    assert current == old_key and added.added and added.staged == fingerprint(staged)
    assert added.current == fingerprint(old_key) and added.keys == 2
    assert b"\n# staged" in lf.settings.secret_key_file.read_bytes()
    assert tokens(lf) == before  # nothing re-sealed
    after_add = s3(lf, "after-add")
    assert opens_with(old_key, tokens(lf)[after_add])  # still sealed with the old key
    store_token(lf, id, sealed_with(staged, {"s3SecretKey": "sealed-with-staged"}))
    assert Lakefeed().connection(id).auth["s3SecretKey"] == "sealed-with-staged"
    status = lf.secret_key_status()
    assert [(k.current, k.staged, k.secrets) for k in status.keys] == [
        (True, False, 1),
        (False, True, 1),
    ]
    # Again: the staged key stays (copies made of the file stay right).
    again = lf.add_secret_key()
    assert not again.added and again.staged == added.staged and file_keys(lf) == [old_key, staged]


def test_a_machine_with_its_own_copy_opens_every_secret_through_a_staged_rotation(
    lf: Lakefeed, machine_2: Callable[[], Lakefeed]
) -> None:
    """The deployment guide's procedure: add, copy, rotate, copy, retire, copy. The other
    machine opens every secret at every step, and what it seals opens here."""
    ids = [s3(lf, "a", "secret-a"), s3(lf, "b", "secret-b")]
    other = machine_2()
    copy_key_file(lf, other)
    [old_key] = file_keys(lf)

    def both_open_everything() -> None:
        for engine in (Lakefeed(), machine_2()):
            for c in engine.connections.list():
                assert engine.connection(c.id).auth["s3SecretKey"].startswith("secret-")

    lf.add_secret_key()
    copy_key_file(lf, other)
    rotated = lf.rotate_secret_key()
    assert rotated.promoted and rotated.resealed == 2
    new_key = file_keys(lf)[0]
    assert all(opens_with(new_key, t) and not opens_with(old_key, t) for t in tokens(lf).values())
    # Not copied yet: the other machine opens what the rotation sealed, and seals with the
    # old key, which this machine opens.
    both_open_everything()
    ids.append(s3(other, "from-machine-2", "secret-2"))
    assert opens_with(old_key, tokens(lf)[ids[-1]])
    both_open_everything()

    copy_key_file(lf, other)
    ids.append(s3(other, "after-copy", "secret-3"))
    assert opens_with(new_key, tokens(lf)[ids[-1]])
    retired = lf.retire_old_secret_keys()
    assert retired.retired == (fingerprint(old_key),) and retired.resealed == 1
    both_open_everything()
    copy_key_file(lf, other)
    assert file_keys(lf) == [new_key] and other.secret_key_status().keys[0].secrets == 4
    both_open_everything()


def test_rotate_without_a_staged_key_refuses_unless_told_to_make_one(
    lf: Lakefeed, run_cli: RunCli
) -> None:
    s3(lf, "a")
    key_file = lf.settings.secret_key_file
    before = (key_file.read_bytes(), tokens(lf))

    with pytest.raises(KeyRotationRefused) as refused:
        lf.rotate_secret_key()
    assert "lakefeed keys add" in refused.value.fix and "--new-key" in refused.value.fix
    assert (key_file.read_bytes(), tokens(lf)) == before
    assert "LF-1955" in run_cli("keys", "rotate", code=1).output
    assert (key_file.read_bytes(), tokens(lf)) == before

    done = lf.rotate_secret_key(new_key=True)  # one machine: one step
    assert not done.promoted and done.resealed == 1 and len(file_keys(lf)) == 2

    # A key staged: --new-key would leave it behind, so it refuses too.
    lf.add_secret_key()
    staged = key_file.read_bytes()
    with pytest.raises(KeyRotationRefused, match="staged"):
        lf.rotate_secret_key(new_key=True)
    assert key_file.read_bytes() == staged


def test_a_rotation_refuses_while_another_machine_holds_the_database_lock(
    lf: Lakefeed, machine_2: Callable[[], Lakefeed], database_backend: str
) -> None:
    """On PostgreSQL, rotate and retire hold an advisory lock of the database: a second one,
    from a machine with its own key file (which the key file's flock cannot reach), refuses
    at once and changes nothing."""
    if database_backend != "postgresql":
        pytest.skip("SQLite is one machine's: the key file's flock serializes rotations")
    id = s3(lf, "a")
    lf.rotate_secret_key(new_key=True)  # an older key, for retire to remove
    lf.add_secret_key()
    other = machine_2()
    copy_key_file(lf, other)
    before = (lf.settings.secret_key_file.read_bytes(), tokens(lf))

    with lf.db.connect() as holder:  # another machine's rotation, half-way
        query = sa.text("SELECT pg_advisory_lock(:key)")
        holder.execute(query, {"key": key_rotation.ROTATION_LOCK_KEY})
        holder.commit()
        for attempt in (other.rotate_secret_key, other.retire_old_secret_keys):
            with pytest.raises(KeyRotationRunning):
                attempt()
        query = sa.text("SELECT pg_advisory_unlock(:key)")
        assert holder.execute(query, {"key": key_rotation.ROTATION_LOCK_KEY}).scalar_one()
        holder.commit()
    assert (lf.settings.secret_key_file.read_bytes(), tokens(lf)) == before

    assert other.rotate_secret_key().resealed == 1  # free again
    assert lf.connection(id).auth["s3SecretKey"] == SECRET


def test_retire_keeps_a_staged_key_and_refuses_on_a_copy_older_than_the_rotation(
    lf: Lakefeed, machine_2: Callable[[], Lakefeed]
) -> None:
    id = s3(lf, "a")
    lf.rotate_secret_key(new_key=True)
    current, old = file_keys(lf)
    lf.add_secret_key()
    staged = file_keys(lf)[2]

    retired = lf.retire_old_secret_keys()

    assert retired.retired == (fingerprint(old),) and retired.staged == fingerprint(staged)
    assert file_keys(lf) == [current, staged] and lf.secret_key_status().keys[1].staged
    assert retired.backup is not None
    assert retired.backup.read_bytes().split() == [current, old, staged]

    # This machine's copy still stages the key that another machine's rotation sealed with:
    # retiring here would re-seal everything with the old key. It refuses.
    other = machine_2()
    copy_key_file(lf, other)
    lf.rotate_secret_key()
    before = (other.settings.secret_key_file.read_bytes(), tokens(lf))
    with pytest.raises(KeyRotationRefused, match="another machine"):
        other.retire_old_secret_keys()
    assert (other.settings.secret_key_file.read_bytes(), tokens(lf)) == before
    assert opens_with(staged, tokens(lf)[id])


# --- the key file's folder and the database, left as they are ------------------------------------


def _read_only_mounts_work() -> bool:
    """Whether this machine lets an unprivileged user namespace bind-mount a folder
    read-only (``unshare -rm``): a real read-only folder, which root cannot write either."""
    if shutil.which("unshare") is None:
        return False
    probe = "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp /tmp && ! touch /tmp/.lf-ro"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _read_only_mounts_work(), reason="needs `unshare -rm` and bind mounts")
def test_keys_commands_on_a_read_only_key_folder_refuse_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file on a read-only mount (a Kubernetes Secret): writing commands refuse with
    LF-1953 and a fix, not LF-1999; `retire` with nothing to retire and `status` work. The
    folder is bind-mounted read-only in a user namespace, which binds root too."""
    folder = tmp_path / "secret-mount"
    folder.mkdir()
    monkeypatch.setenv("LAKEFEED_SECRET_KEY_FILE", str(folder / "secret.key"))
    lf = Lakefeed()
    s3(lf, "a")
    cli = str(Path(sys.executable).with_name("lakefeed"))

    def read_only(*args: str) -> subprocess.CompletedProcess[str]:
        mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} {folder}"
        script = f"{mount} && exec {shlex.join([cli, 'keys', *args])}"
        return subprocess.run(
            ["unshare", "-rm", "sh", "-c", script],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=300,
        )

    for args in (("retire",), ("status",)):
        fine = read_only(*args)
        assert fine.returncode == 0, fine.stderr
    for args in (("add",), ("rotate", "--new-key")):
        refused = read_only(*args)
        output = refused.stdout + refused.stderr
        assert refused.returncode == 1 and "LF-1953" in output and "LF-1999" not in output
        assert "secret.key.lock" in output and "writable copy" in output
    lf.rotate_secret_key(new_key=True)  # something to retire now: it must write
    refused = read_only("retire")
    assert refused.returncode == 1 and "LF-1953" in refused.stdout + refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["secret.key", "secret.key.lock"]


@pytest.mark.empty_database
def test_keys_status_on_a_fresh_home_creates_no_database(
    lf: Lakefeed, run_cli: RunCli, database_backend: str
) -> None:
    """`keys status` changes nothing: no database file on SQLite, no table on PostgreSQL."""
    url = lf.settings.database_url
    status = json.loads(run_cli("keys", "status", "--json").stdout)
    assert status == {
        "keyFile": str(lf.settings.secret_key_file),
        "keys": [],
        "secrets": 0,
        "unreadable": [],
    }
    assert "No key file" in run_cli("keys", "status").output
    if database_backend == "sqlite":
        assert not list(lf.home.glob("lakefeed.db*")) and not lf.settings.secret_key_file.exists()
    else:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
    # A database made meanwhile is read, not written: the count is right.
    s3(lf, "a")
    assert json.loads(run_cli("keys", "status", "--json").stdout)["secrets"] == 1


# --- retire ------------------------------------------------------------------------------------


def test_retire_leaves_one_key_and_everything_opens(lf: Lakefeed) -> None:
    ids = [s3(lf, "a", "secret-a"), s3(lf, "b", "secret-b")]
    [old_key] = file_keys(lf)
    lf.rotate_secret_key(new_key=True)
    new_key = file_keys(lf)[0]
    # Sealed by a process that had not noticed the rotation yet: opens with the old key only.
    store_token(lf, ids[1], sealed_with(old_key, {"s3SecretKey": "secret-b"}))
    assert lf.secret_key_status().keys[1].secrets == 1

    done = lf.retire_old_secret_keys()

    assert file_keys(lf) == [new_key]
    assert done.resealed == 1 and len(done.retired) == 1 and done.secrets == 2
    assert [lf.connection(id).auth["s3SecretKey"] for id in ids] == ["secret-a", "secret-b"]
    assert all(opens_with(new_key, token) for token in tokens(lf).values())
    assert done.backup is not None and done.backup.read_bytes().split() == [new_key, old_key]
    assert stat.S_IMODE(done.backup.stat().st_mode) == 0o600
    status = lf.secret_key_status()
    assert [(k.current, k.secrets) for k in status.keys] == [(True, 2)]
    # Nothing left to retire: nothing changes, no new backup.
    again = lf.retire_old_secret_keys()
    assert again.retired == () and again.backup is None and file_keys(lf) == [new_key]


def test_a_secret_sealed_with_an_older_key_while_retire_runs_is_resealed_too(
    lf: Lakefeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that had not noticed the rotation writes an old-key token after retire's
    re-seal pass and before the key file loses the old key: retire re-seals it afterwards."""
    ids = [s3(lf, "a"), s3(lf, "late")]
    [old_key] = file_keys(lf)
    lf.rotate_secret_key(new_key=True)
    write = key_rotation.write_key_file

    def late_writer_then_write(path: Path, keys: tuple[bytes, ...], **options: Any) -> None:
        store_token(lf, ids[1], sealed_with(old_key, {"s3SecretKey": "sealed-late"}))
        write(path, keys, **options)

    monkeypatch.setattr(key_rotation, "write_key_file", late_writer_then_write)
    done = lf.retire_old_secret_keys()

    assert done.resealed == 1 and len(file_keys(lf)) == 1
    assert Lakefeed().connection(ids[1]).auth["s3SecretKey"] == "sealed-late"
    assert all(opens_with(file_keys(lf)[0], token) for token in tokens(lf).values())


def test_retire_without_backup_keeps_no_copy(lf: Lakefeed) -> None:
    s3(lf, "a")
    lf.rotate_secret_key(new_key=True)
    done = lf.retire_old_secret_keys(backup=False)
    assert done.backup is None and len(file_keys(lf)) == 1
    key_file = lf.settings.secret_key_file
    assert not list(key_file.parent.glob(f"{key_file.name}.bak-*"))


def test_retire_with_an_unopenable_secret_refuses_and_changes_nothing(lf: Lakefeed) -> None:
    ids = [s3(lf, "fine"), s3(lf, "late"), s3(lf, "lost")]
    [old_key] = file_keys(lf)
    lf.rotate_secret_key(new_key=True)
    store_token(lf, ids[1], sealed_with(old_key, {"s3SecretKey": SECRET}))
    store_token(lf, ids[2], sealed_with(Fernet.generate_key(), {"s3SecretKey": SECRET}))
    key_file = lf.settings.secret_key_file
    before = (key_file.read_bytes(), tokens(lf), sorted(key_file.parent.iterdir()))

    with pytest.raises(SecretsUnreadable) as refused:
        lf.retire_old_secret_keys()

    assert "'lost'" in refused.value.message and ids[2] in refused.value.message
    assert "'fine'" not in refused.value.message
    assert (key_file.read_bytes(), tokens(lf), sorted(key_file.parent.iterdir())) == before
    status = lf.secret_key_status()
    assert [c.id for c in status.unreadable] == [ids[2]]
    assert [k.secrets for k in status.keys] == [1, 1]


# --- the key file --------------------------------------------------------------------------------


def test_a_one_line_key_file_of_an_older_lakefeed_works_unchanged(lf: Lakefeed) -> None:
    key = Fernet.generate_key()
    key_file = lf.settings.secret_key_file
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(key)  # as lakefeed wrote it before rotation: one key, no newline
    id = s3(lf, "a")
    # A token the old SecretBox (one Fernet) sealed opens too.
    legacy = s3(lf, "legacy")
    store_token(lf, legacy, sealed_with(key, {"s3SecretKey": "from-old-lakefeed"}))

    assert Lakefeed().connection(id).auth["s3SecretKey"] == SECRET
    assert Lakefeed().connection(legacy).auth["s3SecretKey"] == "from-old-lakefeed"
    assert key_file.read_bytes() == key  # read, never rewritten
    assert opens_with(key, tokens(lf)[id])
    assert [k.secrets for k in lf.secret_key_status().keys] == [2]

    lf.rotate_secret_key(new_key=True)
    assert file_keys(lf)[1] == key


def test_a_malformed_key_file_names_the_line_never_the_key(lf: Lakefeed) -> None:
    id = s3(lf, "a")
    key_file = lf.settings.secret_key_file
    [key] = file_keys(lf)
    not_a_key = b"hunter2-this-is-no-fernet-key"
    almost = key[:-2] + b"!="  # 44 characters, one outside the alphabet
    for bad in (not_a_key, almost):
        key_file.write_bytes(key + b"\n\n" + bad + b"\n")
        with pytest.raises(SecretKeyFileMalformed) as malformed:
            Lakefeed().connection(id)
        text = str(malformed.value)
        assert "Line 3" in text and str(key_file) in text
        assert key.decode() not in text and bad.decode() not in text
        assert bad[:10].decode() not in text


def test_an_empty_key_file_is_malformed(lf: Lakefeed, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakefeed.catalog import secretbox

    monkeypatch.setattr(secretbox, "KEY_WRITE_WAIT_SECONDS", 0.0)
    key_file = lf.settings.secret_key_file
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(b"\n \n")
    with pytest.raises(SecretKeyFileMalformed, match="holds no key"):
        s3(lf, "a")


# --- the CLI ------------------------------------------------------------------------------------


def test_the_cli_never_prints_a_key(lf: Lakefeed, run_cli: RunCli) -> None:
    s3(lf, "a")
    seen: set[bytes] = set(file_keys(lf))
    outputs = []
    for command in ("status", "add", "status", "rotate", "status", "retire", "retire"):
        outputs.append(run_cli("keys", command).output)
        seen.update(file_keys(lf))
    outputs.append(run_cli("keys", "rotate", "--new-key").output)
    seen.update(file_keys(lf))
    outputs.append(run_cli("keys", "retire").output)
    added = json.loads(run_cli("keys", "add", "--json").stdout)
    seen.update(file_keys(lf))
    assert added["added"] is True and added["keys"] == 2
    rotated = json.loads(run_cli("keys", "rotate", "--json").stdout)
    seen.update(file_keys(lf))
    assert rotated["keys"] == 2 and rotated["resealed"] == 1 and rotated["unreadable"] == []
    assert rotated["promoted"] is True and rotated["fingerprint"] == added["staged"]
    status = json.loads(run_cli("keys", "status", "--json").stdout)
    assert [k["secrets"] for k in status["keys"]] == [1, 0]
    assert status["keys"][0] == {
        "fingerprint": rotated["fingerprint"],
        "current": True,
        "staged": False,
        "secrets": 1,
    }
    retired = json.loads(run_cli("keys", "retire", "--json").stdout)
    assert retired["retired"] == [rotated["previous"]] and retired["backup"]
    outputs += [json.dumps(rotated), json.dumps(status), json.dumps(retired)]
    key_file = lf.settings.secret_key_file
    for backup in key_file.parent.glob(f"{key_file.name}.bak-*"):
        seen.update(backup.read_bytes().split())

    # The errors: a secret no key opens (retire refuses), then a malformed key file.
    lost = s3(lf, "lost")
    store_token(lf, lost, sealed_with(Fernet.generate_key(), {"s3SecretKey": SECRET}))
    lf.rotate_secret_key(new_key=True)
    seen.update(file_keys(lf))
    for json_flag in ((), ("--json",)):
        refused = run_cli("keys", "retire", *json_flag, code=1)
        assert "LF-1954" in refused.output and "'lost'" in refused.output
        outputs.append(refused.output)
    current = file_keys(lf)[0]
    key_file.write_bytes(current + b"\n" + current[:20] + b"\n")
    for command in (("keys", "status"), ("keys", "rotate", "--json"), ("connections", "list")):
        broken = run_cli(*command, code=1)
        assert "LF-1951" in broken.output and "Line 2" in broken.output
        outputs.append(broken.output)

    assert len(seen) >= 5
    everything = "\n".join(outputs)
    for key in seen:
        assert key.decode() not in everything and key[:20].decode() not in everything
    assert SECRET not in everything


def test_the_documented_rotation_runs(lf: Lakefeed, run_cli: RunCli) -> None:
    """Every command of docs/security.md's "Rotating the secret key" runs as written, and
    leaves what the page says: one new key, every secret opening with it."""
    page = (Path(__file__).parents[3] / "docs" / "security.md").read_text(encoding="utf-8")
    section = page.split("\n## Rotating the secret key\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"<!-- test: run -->\s*\n```console\n(.*?)^```", section, re.M | re.S)
    commands = [shlex.split(line[2:]) for line in block.splitlines() if line.startswith("$ ")]
    assert commands and all(words[0] == "lakefeed" for words in commands)
    id = s3(lf, "a")
    [old_key] = file_keys(lf)
    for words in commands:
        run_cli(*words[1:])
    [new_key] = file_keys(lf)
    assert new_key != old_key and opens_with(new_key, tokens(lf)[id])
    assert Lakefeed().connection(id).auth["s3SecretKey"] == SECRET
