"""Encryption of secrets at rest with the keys of one file (mode 0600), generated on first use.

The key file holds one Fernet key per line. The first key seals; every key opens (Fernet's
``MultiFernet``), so after ``lakefeed keys rotate`` puts a new key first, secrets sealed with
the older ones still open. Lines starting with ``#`` are comments, except that the comment
``# staged`` marks the key after it as **staged** (``lakefeed keys add``): it opens but never
seals, until ``lakefeed keys rotate`` moves it first — so a new key reaches every machine's
copy of the file before anything is sealed with it. A file of one line, with or without a
newline, is a key file of one key; a line of two keys glued together (``cat other.key >>``
onto a file without a final newline) holds those two keys.

Each seal and open looks at the file's identity on disk (one ``os.stat``) and reads it again
when it changed, so every process sharing the file seals with a new key as soon as it is
written, and opens what other processes sealed with it. A process that has read good keys
keeps them when the file turns malformed (an error is logged, naming the file and the line),
rather than failing every seal and open until the file is fixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakefeed.config import make_private_folder
from lakefeed.errors import (
    SecretKeyError,
    SecretKeyFileMalformed,
    SecretKeyFileMissing,
    SecretKeyFileUnwritable,
)

#: What one line of the key file holds: a key as ``Fernet.generate_key()`` writes it (32 random
#: bytes in URL-safe base64) — or several glued together, which split unambiguously since each
#: is 44 characters ending in ``=``.
KEY_LINE = re.compile(rb"(?:[A-Za-z0-9_-]{43}=)+")
KEY_LENGTH = 44
#: The comment that marks the next key as staged (its first word after ``#``).
STAGED = b"staged"
#: The marker line lakefeed writes before a staged key.
STAGED_LINE = b"# staged: opens, does not seal yet; `lakefeed keys rotate` moves it first"

log = logging.getLogger("lakefeed.secrets")

#: How long a reader waits for a key file another process created but has not written yet.
KEY_WRITE_WAIT_SECONDS = 10.0


def fingerprint(key: bytes) -> str:
    """A name for ``key`` that reveals nothing of it: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class KeyRing:
    """The keys of the key file as read at one moment, the sealing key first and the staged
    key (if any, also in ``keys``) last. ``version`` is the file's identity when it was read
    (inode, size, modification and change times)."""

    keys: tuple[bytes, ...]
    version: tuple[int, ...]
    staged: bytes | None = None
    _fernets: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _cipher: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        fernets = tuple(Fernet(key) for key in self.keys)
        object.__setattr__(self, "_fernets", fernets)
        object.__setattr__(self, "_cipher", MultiFernet(fernets))

    def __repr__(self) -> str:
        return f"KeyRing(fingerprints={self.fingerprints})"

    @property
    def sealing_and_older(self) -> tuple[bytes, ...]:
        """The keys but the staged one, in file order (the sealing key first)."""
        return tuple(key for key in self.keys if key != self.staged)

    @property
    def current(self) -> bytes:
        """The key that seals."""
        return self.keys[0]

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(fingerprint(key) for key in self.keys)

    @property
    def cipher(self) -> Any:
        """A ``MultiFernet``: seals with the first key, opens with any."""
        return self._cipher

    def opener(self, token: bytes) -> int | None:
        """The index of the first key that opens ``token``; None when none does."""
        from cryptography.fernet import InvalidToken

        for index, fernet in enumerate(self._fernets):
            try:
                fernet.decrypt(token)
            except InvalidToken:
                continue
            return index
        return None

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` opens with the sealing key alone."""
        from cryptography.fernet import InvalidToken

        try:
            self._fernets[0].decrypt(token)
        except InvalidToken:
            return False
        return True


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) over JSON values, keyed by one file of keys."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._ring: KeyRing | None = None
        self._malformed: tuple[int, ...] | None = None  # the version found malformed last

    def keys(self, *, create: bool = True, strict: bool = False) -> KeyRing:
        """The key file's keys, read again whenever the file changed since they were read.
        A missing file is created with one new key (``create``), else
        :class:`SecretKeyFileMissing`. A file that turned malformed after good keys were read
        leaves those in use (an error logged once per change of the file) unless ``strict``;
        the first read, or a ``strict`` one, raises :class:`SecretKeyFileMalformed`."""
        ring = self._ring
        version = file_version(self.key_file)
        if ring is not None and ring.version == version:
            return ring
        if ring is not None and version is not None and version == self._malformed and not strict:
            return ring
        if version is None:
            if not create:
                raise _missing(self.key_file)
            from cryptography.fernet import Fernet

            try:
                make_private_folder(self.key_file.parent)
                _create_once(self.key_file, Fernet.generate_key())
            except OSError as exc:  # a folder that is a file, or a file system that takes none
                raise SecretKeyFileUnwritable(
                    f"The secret key file {self.key_file} cannot be created "
                    f"({exc.strerror or type(exc).__name__}).",
                    fix="Point LAKEFEED_SECRET_KEY_FILE (or --home) at a path in a folder this "
                    "user can write; lakefeed creates the key file there.",
                ) from None
        try:
            fresh = read_key_ring(self.key_file)
        except SecretKeyFileMalformed as exc:
            if ring is None or strict:
                raise
            if version != self._malformed:
                self._malformed = version
                log.error(
                    "%s %s Sealing and opening with the keys read before (%s) until it is fixed.",
                    exc.message,
                    exc.fix,
                    ", ".join(ring.fingerprints),
                )
            return ring
        self._ring = fresh
        return fresh

    def _load_or_create_key(self) -> bytes:
        """The sealing key (the key file created first if missing)."""
        return self.keys().current

    def seal(self, value: dict[str, Any]) -> bytes:
        return bytes(self.keys().cipher.encrypt(json.dumps(value, sort_keys=True).encode()))

    def open(self, token: bytes) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return dict(json.loads(self.keys().cipher.decrypt(token)))
        except InvalidToken as exc:
            raise SecretKeyError(
                f"Stored secrets cannot be decrypted with any key in {self.key_file}.",
                fix="Give this process the key file the secrets were sealed with "
                "(LAKEFEED_SECRET_KEY_FILE): where each machine keeps its own copy, copy the "
                "file from the machine that last ran `lakefeed keys add` or `rotate`; else "
                "restore it from its backup, or add the missing key to it as a line of its "
                "own.",
            ) from exc


def file_version(path: Path) -> tuple[int, ...] | None:
    """What tells one content of ``path`` from the next (a replaced file has another inode;
    a file written in place another size or time); None when there is no file."""
    try:
        return _version(os.stat(path))
    except (FileNotFoundError, NotADirectoryError):  # no file there (nor can there be one)
        return None


def _version(status: os.stat_result) -> tuple[int, ...]:
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


#: The most bytes read from a key file: some 23,000 keys (``/dev/zero`` named by mistake is
#: refused instead of read whole).
MAX_KEY_FILE_BYTES = 1024 * 1024


def read_key_ring(path: Path) -> KeyRing:
    """The keys of the key file at ``path`` (:class:`SecretKeyFileMalformed` for a line that is
    not a key, or no key at all)."""
    deadline = time.monotonic() + KEY_WRITE_WAIT_SECONDS
    while True:
        try:
            with open(path, "rb") as handle:
                version = _version(os.fstat(handle.fileno()))
                data = handle.read(MAX_KEY_FILE_BYTES + 1)
        except FileNotFoundError:
            raise _missing(path) from None
        if len(data) > MAX_KEY_FILE_BYTES:
            raise SecretKeyFileMalformed(
                f"The secret key file {path} is longer than {MAX_KEY_FILE_BYTES:,} bytes, far "
                "more than a key file holds.",
                fix="Point LAKEFEED_SECRET_KEY_FILE at the key file, or restore it from its "
                "backup.",
            )
        if data.strip() or time.monotonic() >= deadline:
            keys, staged = parse_key_file(path, data)
            return KeyRing(keys, version, staged)
        time.sleep(0.01)  # created by another process (or an older lakefeed) that is writing it


def parse_keys(path: Path, data: bytes) -> tuple[bytes, ...]:
    """The keys of key file content ``data``, the sealing key first and a staged one last
    (see :func:`parse_key_file`)."""
    return parse_key_file(path, data)[0]


def parse_key_file(path: Path, data: bytes) -> tuple[tuple[bytes, ...], bytes | None]:
    """The keys of key file content ``data`` — one per line, blank lines and ``#`` comments
    skipped, a line of keys glued together split — the sealing key (the first not staged)
    first, and the staged key (the one after a ``# staged`` comment, at most one) last and also
    returned on its own. The errors name the line, never what it holds."""
    keys: list[bytes] = []
    staged: bytes | None = None
    marked: int | None = None  # the line of a `# staged` comment waiting for its key
    for number, line in enumerate(data.splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(b"#"):
            if text[1:].split(maxsplit=1)[:1] in ([STAGED], [STAGED + b":"]):
                if marked is not None or staged is not None:
                    raise _malformed(
                        path, number, "a second `# staged` line (one key at most is staged)"
                    )
                marked = number
            continue
        if not KEY_LINE.fullmatch(text):
            raise _malformed(
                path,
                number,
                "not a key (each line holds one Fernet key: 44 characters of URL-safe base64)",
            )
        glued = [text[at : at + KEY_LENGTH] for at in range(0, len(text), KEY_LENGTH)]
        if marked is not None:
            staged, marked = glued[0], None
        keys.extend(glued)
    if marked is not None:
        raise _malformed(path, marked, "a `# staged` line with no key after it")
    sealing = [key for key in keys if key != staged]
    if not sealing:
        raise SecretKeyFileMalformed(
            f"The secret key file {path} holds no key"
            + (" that seals (its only key is staged)." if keys else "."),
            fix="Restore the key file from its backup, or delete it if no connection was ever "
            "stored (lakefeed then creates a new one).",
        )
    ordered = tuple(dict.fromkeys(sealing))
    return (*ordered, staged) if staged is not None else ordered, staged


def _malformed(path: Path, number: int, what: str) -> SecretKeyFileMalformed:
    return SecretKeyFileMalformed(
        f"Line {number} of the secret key file {path} is {what}.",
        fix="Each key is a line of its own (44 characters of URL-safe base64), the sealing key "
        "first; lines starting with # are comments. Put a key appended by hand on a line of "
        "its own, or restore the key file from its backup (LAKEFEED_SECRET_KEY_FILE).",
    )


def key_file_content(keys: Sequence[bytes], staged: bytes | None = None) -> bytes:
    """What the key file holds for ``keys`` (the sealing key first) and a ``staged`` key."""
    lines = [key for key in dict.fromkeys(keys) if key != staged]
    if staged is not None:
        lines += [STAGED_LINE, staged]
    return b"".join(line + b"\n" for line in lines)


def write_key_file(path: Path, keys: Sequence[bytes], *, staged: bytes | None = None) -> None:
    """Make ``keys``, one a line, and a ``staged`` key after them (see
    :func:`key_file_content`) the content of ``path`` in one step: written whole to a private
    temporary file in the same folder (its owner kept), flushed to disk, then renamed over
    ``path``, so a reader sees the old file or the new, never a part of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as handle:
            handle.write(key_file_content(keys, staged))
            handle.flush()
            os.fsync(handle.fileno())
        _keep_owner(path, temporary)
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SecretKeyFileUnwritable(
            f"The secret key file {path} cannot be written ({exc.strerror or type(exc).__name__}).",
            fix="Run the command as the user lakefeed runs as, on a writable folder; the key "
            "file is unchanged.",
        ) from exc


def write_backup(path: Path, content: bytes, stamp: str) -> Path:
    """A new private file ``<key file>.bak-<stamp>`` (``.1``, ``.2``… added when taken)
    holding ``content``; its path."""
    for attempt in range(1000):
        backup = path.with_name(f"{path.name}.bak-{stamp}" + (f".{attempt}" if attempt else ""))
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise SecretKeyFileUnwritable(
                f"The backup {backup} of the secret key file cannot be written "
                f"({exc.strerror or type(exc).__name__}).",
                fix="Make the key file's folder writable, or pass --no-backup after copying "
                "the key file somewhere safe yourself; the key file is unchanged.",
            ) from exc
        with open(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        return backup
    raise AssertionError("unreachable: a thousand backups within one second")


@contextlib.contextmanager
def key_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<key file>.lock`` (made 0600 when missing), so two
    rotations or retirements never interleave their read-modify-write of the key file. (The
    key file itself is replaced, so a lock on it would not be shared.)"""
    try:
        import fcntl
    except ImportError:  # Windows: one rotation at a time is the operator's to ensure
        yield
        return
    lock = path.with_name(f"{path.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise SecretKeyFileUnwritable(
            f"The lock file {lock} beside the secret key file cannot be opened "
            f"({exc.strerror or type(exc).__name__}): `lakefeed keys` writes the key file, "
            "and its lock and backups, in that folder.",
            fix="Run the command as the user lakefeed runs as, where the key file's folder is "
            "writable; for a read-only mount (a Kubernetes Secret), point "
            "LAKEFEED_SECRET_KEY_FILE at a writable copy of the file, run the command there, "
            "then update the mounted file from it. The key file is unchanged.",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _keep_owner(path: Path, temporary: Path) -> None:
    """Give ``temporary`` the owner and group of the key file it replaces (root rotating the
    key of a service user), so the processes that read it still can."""
    with contextlib.suppress(FileNotFoundError):
        old, new = os.stat(path), os.stat(temporary)
        if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
            os.chown(temporary, old.st_uid, old.st_gid)


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of a rename to disk (where folders can be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _missing(path: Path) -> SecretKeyFileMissing:
    return SecretKeyFileMissing(
        f"There is no secret key file at {path}.",
        fix="lakefeed creates it when the first connection is stored; if connections exist, "
        "restore the key file they were sealed with (LAKEFEED_SECRET_KEY_FILE).",
    )


def _create_once(path: Path, key: bytes) -> None:
    """Make ``key`` the content of ``path`` unless another process made its own first: the key
    is written whole to a private temporary file, then hard-linked into place, which fails when
    ``path`` exists — so every process ends up reading the one key that won, never a file
    still being written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    line = key + b"\n"  # so a key appended with `cat other.key >>` lands on a line of its own
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(line)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process's key won
    except OSError:
        # No hard links here: O_EXCL still lets one process write; readers wait for its bytes.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as handle:
            handle.write(line)
    finally:
        temporary.unlink()
