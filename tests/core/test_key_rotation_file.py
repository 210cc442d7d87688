"""The secret key file on its own (no database): its format, how SecretBox follows changes to
it, and how it is replaced."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from lakefeed.catalog import secretbox
from lakefeed.catalog.secretbox import (
    SecretBox,
    fingerprint,
    key_file_lock,
    parse_key_file,
    parse_keys,
    write_key_file,
)
from lakefeed.errors import SecretKeyError, SecretKeyFileMalformed, SecretKeyFileUnwritable


def test_one_key_per_line_the_first_seals_every_one_opens(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    path = tmp_path / "secret.key"
    path.write_bytes(old)
    sealed_before = SecretBox(path).seal({"x": "old"})
    path.write_bytes(new + b"\r\n\n" + old + b"\n")  # CRLF and blank lines are fine
    box = SecretBox(path)
    assert box.keys().keys == (new, old)
    assert box.open(sealed_before) == {"x": "old"}
    sealed_after = box.seal({"x": "new"})
    assert Fernet(new).decrypt(sealed_after) == b'{"x": "new"}'


def test_a_malformed_line_is_named_by_number(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    with pytest.raises(SecretKeyFileMalformed, match=r"Line 2 of the secret key file") as bad:
        parse_keys(tmp_path / "k", key + b"\n" + key[:-1] + b"\n")
    assert key[:-1].decode() not in str(bad.value)
    assert isinstance(bad.value, SecretKeyError)  # callers that catch the old error still do


def test_the_box_reads_the_file_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.key"
    box = SecretBox(path)
    token = box.seal({"a": 1})
    reads = []
    read = secretbox.read_key_ring
    monkeypatch.setattr(secretbox, "read_key_ring", lambda p: reads.append(p) or read(p))
    for _ in range(50):
        box.open(token)
    assert reads == []
    new = Fernet.generate_key()
    write_key_file(path, (new, *box.keys().keys))
    assert box.open(token) == {"a": 1} and len(reads) == 1
    assert Fernet(new).decrypt(box.seal({"b": 2})) == b'{"b": 2}'
    assert len(reads) == 1


def test_the_key_file_is_replaced_whole_and_stays_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.key"
    first = Fernet.generate_key()
    path.write_bytes(first)
    os.chmod(path, 0o600)
    old_umask = os.umask(0)
    try:
        write_key_file(path, (Fernet.generate_key(), first))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().split()[1] == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]

    before = path.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SecretKeyFileUnwritable, match="unchanged"):
        write_key_file(path, (Fernet.generate_key(),))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary left


def test_the_lock_excludes_another_holder(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    with key_file_lock(path):
        fd = os.open(tmp_path / "secret.key.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(tmp_path / "secret.key.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)


def test_fingerprints_and_reprs_show_no_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    box = SecretBox(path)
    ring = box.keys()
    [key] = ring.keys
    assert len(fingerprint(key)) == 8 and fingerprint(key) in repr(ring)
    assert key.decode() not in repr(ring) and key.decode() not in repr(box)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_key_file_replaced_by_root_keeps_its_owner(tmp_path: Path) -> None:
    """root rotating the key of a service user: the service can still read the new file."""
    path = tmp_path / "secret.key"
    first = Fernet.generate_key()
    path.write_bytes(first)
    os.chown(path, 65534, 65534)
    write_key_file(path, (Fernet.generate_key(), first))
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)


# --- appending keys by hand, and a file that turns malformed -------------------------------------


def test_a_new_key_file_ends_with_a_newline_so_an_appended_key_has_a_line_of_its_own(
    tmp_path: Path,
) -> None:
    """`cat other.key >> secret.key`, as the docs advise for opening an old backup's secrets:
    with a file lakefeed made, the two keys are two lines."""
    path, other = tmp_path / "secret.key", tmp_path / "other.key"
    box = SecretBox(path)
    token = box.seal({"a": 1})
    sealed_by_other = SecretBox(other).seal({"b": 2})
    assert path.read_bytes().endswith(b"\n") and other.read_bytes().endswith(b"\n")

    with open(path, "ab") as appended:
        appended.write(other.read_bytes())

    assert path.read_bytes().count(b"\n") == 2
    fresh = SecretBox(path)  # a process starting now
    assert fresh.open(token) == {"a": 1} and fresh.open(sealed_by_other) == {"b": 2}
    assert box.open(sealed_by_other) == {"b": 2}  # one running: it follows the file


def test_two_keys_glued_on_one_line_are_read_as_two(tmp_path: Path) -> None:
    """A file without a final newline (as lakefeed made them before) with a key appended."""
    first, second = Fernet.generate_key(), Fernet.generate_key()
    assert parse_keys(tmp_path / "k", first + second + b"\n") == (first, second)
    with pytest.raises(SecretKeyFileMalformed, match="Line 1"):
        parse_keys(tmp_path / "k", first + second[:-1] + b"\n")


def test_a_running_process_keeps_its_keys_when_the_file_turns_malformed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret.key"
    box = SecretBox(path)
    token = box.seal({"a": 1})
    [key] = box.keys().keys
    path.write_bytes(key + b"\nnot-a-key\n")

    with caplog.at_level(logging.ERROR, logger="lakefeed.secrets"):
        for _ in range(3):
            assert box.open(token) == {"a": 1}
            assert Fernet(key).decrypt(box.seal({"b": 2})) == b'{"b": 2}'
    [logged] = [r.getMessage() for r in caplog.records if r.name == "lakefeed.secrets"]
    assert "Line 2" in logged and str(path) in logged and fingerprint(key) in logged
    assert key.decode() not in logged and "not-a-key" not in logged
    # What must see the file as it is (lakefeed keys, a process starting) still refuses.
    with pytest.raises(SecretKeyFileMalformed, match="Line 2"):
        box.keys(strict=True)
    with pytest.raises(SecretKeyFileMalformed):
        SecretBox(path).open(token)

    new = Fernet.generate_key()
    write_key_file(path, (new, key))  # fixed: the new keys are used
    assert Fernet(new).decrypt(box.seal({"c": 3})) == b'{"c": 3}'


def test_the_malformed_key_file_fix_agrees_with_the_docs(tmp_path: Path) -> None:
    """The docs tell operators to append keys by hand: the error must not forbid it."""
    with pytest.raises(SecretKeyFileMalformed) as bad:
        parse_keys(tmp_path / "k", b"hunter2\n")
    assert "never edited by hand" not in bad.value.fix and "line of its own" in bad.value.fix


def test_a_secret_no_key_opens_never_advises_recreating_the_connections(tmp_path: Path) -> None:
    sealed = SecretBox(tmp_path / "one.key").seal({"a": 1})
    with pytest.raises(SecretKeyError) as lost:
        SecretBox(tmp_path / "other.key").open(sealed)
    assert "recreate" not in lost.value.fix and "copy the file" in lost.value.fix


# --- staged keys ----------------------------------------------------------------------------------


def test_a_staged_key_opens_but_never_seals(tmp_path: Path) -> None:
    current, older, staged = (Fernet.generate_key() for _ in range(3))
    path = tmp_path / "secret.key"
    write_key_file(path, (current, older), staged=staged)
    assert path.read_bytes().splitlines()[2].startswith(b"# staged")
    ring = SecretBox(path).keys()
    assert ring.keys == (current, older, staged) and ring.staged == staged
    assert Fernet(current).decrypt(SecretBox(path).seal({"a": 1})) == b'{"a": 1}'
    assert SecretBox(path).open(Fernet(staged).encrypt(b'{"s": 1}')) == {"s": 1}

    # The sealing key is the first key not staged, wherever the marked line stands.
    first = b"# a comment\n# staged\n" + staged + b"\n" + current + b"\n"
    assert parse_key_file(path, first) == ((current, staged), staged)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"K1\n# staged\nK2\n# staged\nK3\n", "Line 4 .* second `# staged`"),
        (b"K1\n# staged\n", "Line 2 .* no key after it"),
        (b"# staged\nK1\n", "no key that seals"),
    ],
)
def test_staged_markers_that_make_no_sense_are_malformed(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    # One pass: a generated key may itself contain "K2", which a second replace would corrupt.
    keys = {f"K{n}".encode(): Fernet.generate_key() for n in (1, 2, 3)}
    content = re.sub(rb"K[123]", lambda m: keys[m.group(0)], content)
    with pytest.raises(SecretKeyFileMalformed, match=problem):
        parse_key_file(tmp_path / "k", content)


def test_a_lock_file_that_cannot_be_made_is_an_unwritable_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder (os.open refusing, as it does there: tests run as root, which
    permission bits do not stop; tests/core/catalog/test_key_rotation.py mounts one for real)."""
    real_open = os.open

    def read_only(path: object, flags: int, *args: object) -> int:
        if str(path).endswith(".lock"):
            raise OSError(30, "Read-only file system")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    lock = key_file_lock(tmp_path / "secret.key")
    with pytest.raises(SecretKeyFileUnwritable, match="Read-only file system") as refused:
        lock.__enter__()
    assert "secret.key.lock" in refused.value.message and "writable copy" in refused.value.fix


@pytest.mark.parametrize("source", ["/dev/zero", "padded"])
def test_a_key_file_far_too_long_is_malformed_not_read_whole(tmp_path: Path, source: str) -> None:
    path = Path(source)
    if source == "padded":  # a real key, then more bytes than any key file holds
        path = tmp_path / "secret.key"
        path.write_bytes(Fernet.generate_key() + b"\n" + b"#" * secretbox.MAX_KEY_FILE_BYTES)
    with pytest.raises(SecretKeyFileMalformed, match="longer than 1,048,576 bytes"):
        secretbox.read_key_ring(path)


@pytest.mark.parametrize("where", ["/dev/null/secret.key", "/proc/secret.key", "under-a-file"])
def test_a_key_file_that_cannot_be_created_is_unwritable(tmp_path: Path, where: str) -> None:
    """Was LF-1999 (NotADirectoryError, FileNotFoundError) on the first secret sealed."""
    path = Path(where)
    if where == "under-a-file":
        (tmp_path / "a-file").write_text("not a folder")
        path = tmp_path / "a-file" / "secret.key"
    with pytest.raises(SecretKeyFileUnwritable, match="cannot be created") as refused:
        SecretBox(path).seal({"s3SecretKey": "never-shown"})
    assert str(path) in str(refused.value) and "never-shown" not in str(refused.value)
    assert "LAKEFEED_SECRET_KEY_FILE" in str(refused.value.fix)
