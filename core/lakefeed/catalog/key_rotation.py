"""Rotating the keys that seal connection secrets, for every org and sandbox of an installation.

Where several machines keep a copy of the key file, a rotation is staged: :func:`add_key`
appends a new key that opens but does not seal yet (nothing is re-sealed); once the file is
copied to every machine, :func:`rotate_key` moves that key first and re-seals every stored
secret with it, and every machine can open them already. (``new_key``: one step, a new key made
and used at once, for one machine.) :func:`retire_keys` drops the older keys once every secret
opens with the current one alone; :func:`key_status` counts the secrets each key opens. Keys
leave this module only as fingerprints. A secret is re-sealed only where its row still holds
the token that was read (compare-and-set), so a connection changed meanwhile is read again,
never overwritten with its old secrets. Rotating leaves a connection's etag and update time
alone: its secrets are the same, only sealed anew. Rotations and retirements hold the key
file's ``flock`` and, on PostgreSQL, an advisory lock of the database, so two machines never
rotate at once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from lakefeed.catalog.creation import sqlite_path
from lakefeed.catalog.database_url import create_engine
from lakefeed.catalog.secretbox import (
    KeyRing,
    SecretBox,
    fingerprint,
    key_file_content,
    key_file_lock,
    write_backup,
    write_key_file,
)
from lakefeed.catalog.tables import connections as table
from lakefeed.errors import (
    KeyRotationRefused,
    KeyRotationRunning,
    SecretKeyFileMissing,
    SecretsUnreadable,
)

#: PostgreSQL advisory lock key held by a rotation or retirement ('lfkeyrot' in ASCII; the
#: schema migrations hold another).
ROTATION_LOCK_KEY = 0x6C666B6579726F74

#: Rows read, re-sealed and written back per transaction.
BATCH_ROWS = 500
#: Compare-and-set attempts for one row that other writers keep changing.
ATTEMPTS = 10
#: How many unreadable connections an error message names.
NAMED = 10

_COLUMNS = (table.c.id, table.c.ims_org_id, table.c.sandbox_name, table.c.name, table.c.secrets)


@dataclass(frozen=True)
class SealedConnection:
    """A connection in a report: who it is, never its secrets."""

    id: str
    ims_org_id: str
    sandbox_name: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "imsOrgId": self.ims_org_id,
            "sandboxName": self.sandbox_name,
            "name": self.name,
        }

    def __str__(self) -> str:
        return f"{self.name!r} ({self.id}, {self.ims_org_id}/{self.sandbox_name})"


@dataclass(frozen=True)
class KeyAddition:
    """What ``lakefeed keys add`` did."""

    key_file: Path
    staged: str  # the staged key's fingerprint
    added: bool  # False: a key was staged already, and nothing changed
    current: str  # the sealing key
    keys: int  # keys in the file now

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyFile": str(self.key_file),
            "staged": self.staged,
            "added": self.added,
            "current": self.current,
            "keys": self.keys,
        }


@dataclass(frozen=True)
class KeyRotation:
    """What ``lakefeed keys rotate`` did."""

    key_file: Path
    fingerprint: str  # the new sealing key
    previous: str  # the sealing key before
    promoted: bool  # the new key was the staged one (else made now: --new-key)
    keys: int  # keys in the file now
    secrets: int  # stored secrets looked at
    resealed: int
    already_current: int  # sealed with the new key already (by writers since the rotation)
    retried: int  # changed by another writer meanwhile: read again
    unreadable: tuple[SealedConnection, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyFile": str(self.key_file),
            "fingerprint": self.fingerprint,
            "previous": self.previous,
            "promoted": self.promoted,
            "keys": self.keys,
            "secrets": self.secrets,
            "resealed": self.resealed,
            "alreadyCurrent": self.already_current,
            "retried": self.retried,
            "unreadable": [c.to_dict() for c in self.unreadable],
        }


@dataclass(frozen=True)
class KeyRetirement:
    """What ``lakefeed keys retire`` did."""

    key_file: Path
    fingerprint: str  # the key kept
    retired: tuple[str, ...]  # fingerprints of the keys removed
    staged: str | None  # the staged key, kept too
    secrets: int
    resealed: int
    backup: Path | None  # the key file as it was, when there was something to retire
    unreadable: tuple[SealedConnection, ...] = ()  # broken by others after the checks

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyFile": str(self.key_file),
            "fingerprint": self.fingerprint,
            "retired": list(self.retired),
            "staged": self.staged,
            "secrets": self.secrets,
            "resealed": self.resealed,
            "backup": str(self.backup) if self.backup else None,
            "unreadable": [c.to_dict() for c in self.unreadable],
        }


@dataclass(frozen=True)
class KeyUse:
    """One key of the key file: its fingerprint, whether it seals (``current``) or is staged,
    and how many stored secrets it opens (first, in file order)."""

    fingerprint: str
    current: bool
    secrets: int
    staged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "current": self.current,
            "staged": self.staged,
            "secrets": self.secrets,
        }


@dataclass(frozen=True)
class KeyStatus:
    """What ``lakefeed keys status`` shows."""

    key_file: Path
    keys: tuple[KeyUse, ...]  # empty: no key file yet
    secrets: int
    unreadable: tuple[SealedConnection, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyFile": str(self.key_file),
            "keys": [k.to_dict() for k in self.keys],
            "secrets": self.secrets,
            "unreadable": [c.to_dict() for c in self.unreadable],
        }


@dataclass
class _Tally:
    secrets: int = 0
    resealed: int = 0
    current: int = 0
    retried: int = 0
    unreadable: list[SealedConnection] = field(default_factory=list)


def add_key(box: SecretBox) -> KeyAddition:
    """Append a new key to ``box``'s key file as its staged key: it opens from now on, but seals
    nothing until :func:`rotate_key` moves it first; nothing is re-sealed. With a key staged
    already, nothing changes (the copies made of the file stay right)."""
    from cryptography.fernet import Fernet

    box.keys(create=False, strict=True)  # SecretKeyFileMissing before any lock file is made
    with key_file_lock(box.key_file):
        ring = box.keys(create=False, strict=True)
        added = ring.staged is None
        if added:
            write_key_file(box.key_file, ring.keys, staged=Fernet.generate_key())
            ring = box.keys(create=False, strict=True)
    assert ring.staged is not None
    return KeyAddition(
        box.key_file, fingerprint(ring.staged), added, ring.fingerprints[0], len(ring.keys)
    )


def rotate_key(engine: sa.Engine, box: SecretBox, *, new_key: bool = False) -> KeyRotation:
    """Move the staged key first in ``box``'s key file (or, with ``new_key`` and no key staged,
    write a new key first), keeping the older ones, then re-seal every stored secret with it.
    Secrets no key opens are left as they are and reported. :class:`KeyRotationRefused` when
    no key is staged and not ``new_key``, or when one is and ``new_key``;
    :class:`KeyRotationRunning` while another rotation holds the database's lock."""
    from cryptography.fernet import Fernet

    _check_staged(box.key_file, box.keys(create=False, strict=True), new_key)
    with key_file_lock(box.key_file), _database_lock(engine, box.key_file):
        before = box.keys(create=False, strict=True)
        _check_staged(box.key_file, before, new_key)
        sealing = before.staged if before.staged is not None else Fernet.generate_key()
        write_key_file(box.key_file, (sealing, *before.keys))
        after = box.keys(create=False, strict=True)
        tally = _reseal_all(engine, lambda: box.keys(create=False, strict=True))
    return KeyRotation(
        key_file=box.key_file,
        fingerprint=after.fingerprints[0],
        previous=before.fingerprints[0],
        promoted=before.staged is not None,
        keys=len(after.keys),
        secrets=tally.secrets,
        resealed=tally.resealed,
        already_current=tally.current,
        retried=tally.retried,
        unreadable=tuple(tally.unreadable),
    )


def retire_keys(engine: sa.Engine, box: SecretBox, *, backup: bool = True) -> KeyRetirement:
    """Leave only the current key (and a staged one) in ``box``'s key file, once every stored
    secret opens with it alone (secrets that open only with an older key are re-sealed first).
    With ``backup``, the keys the file held are kept beside it as ``<key file>.bak-<UTC time>``.
    Refuses, changing nothing, while a stored secret opens with no key
    (:class:`SecretsUnreadable`) or with the staged key (:class:`KeyRotationRefused`: another
    machine rotated to it, and this copy of the file is stale)."""
    ring = box.keys(create=False, strict=True)
    if not _older(ring):  # nothing to retire: no lock, no write (a read-only folder is fine)
        survey = _survey(engine, ring)
        _check_survey(box.key_file, ring, survey)
        return KeyRetirement(
            box.key_file, ring.fingerprints[0], (), _staged(ring), survey.secrets, 0, None
        )
    with key_file_lock(box.key_file), _database_lock(engine, box.key_file):
        ring = box.keys(create=False, strict=True)
        survey = _survey(engine, ring)
        _check_survey(box.key_file, ring, survey)
        older = _older(ring)
        if not older:
            return KeyRetirement(
                box.key_file, ring.fingerprints[0], (), _staged(ring), survey.secrets, 0, None
            )
        tally = _reseal_all(engine, lambda: ring)
        if tally.unreadable:  # broken by another writer since the survey; file unchanged
            raise _unreadable(box.key_file, tally.unreadable)
        kept = None
        if backup:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            kept = write_backup(box.key_file, key_file_content(ring.keys), stamp)
        write_key_file(box.key_file, (ring.current,), staged=ring.staged)
        # A process that had not yet noticed the rotation may have sealed with an older key
        # since the pass above: those are re-sealed with the keys still in hand.
        late = _reseal_all(engine, lambda: ring)
    return KeyRetirement(
        key_file=box.key_file,
        fingerprint=ring.fingerprints[0],
        retired=older,
        staged=_staged(ring),
        secrets=survey.secrets,
        resealed=tally.resealed + late.resealed,
        backup=kept,
        unreadable=tuple(late.unreadable),
    )


def key_status(engine: sa.Engine | None, box: SecretBox) -> KeyStatus:
    """The keys of ``box``'s key file by fingerprint, with how many stored secrets each opens
    (a secret counts for the first key, in file order, that opens it); changes nothing, and
    creates no key file. ``engine`` None: there is no database yet (no secret either)."""
    try:
        ring: KeyRing | None = box.keys(create=False, strict=True)
    except SecretKeyFileMissing:
        ring = None
    survey = _survey(engine, ring) if engine is not None else _Survey()
    uses = (
        tuple(
            KeyUse(fp, index == 0, survey.by_key.get(index, 0), key == ring.staged)
            for index, (key, fp) in enumerate(zip(ring.keys, ring.fingerprints, strict=True))
        )
        if ring is not None
        else ()
    )
    return KeyStatus(box.key_file, uses, survey.secrets, tuple(survey.unreadable))


@contextlib.contextmanager
def existing_database(url: str) -> Iterator[sa.Engine | None]:
    """An engine that only reads the database at ``url`` — SQLite opened read-only, nothing
    created, migrated or written — or None when there is no database file yet."""
    path = sqlite_path(url)
    if url.startswith("sqlite:///"):
        if path is None or not path.is_file():
            yield None
            return
        # SQLite's own read-only mode: no write, no journal, no schema change.
        url = f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true"
    engine = create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _check_staged(key_file: Path, ring: KeyRing, new_key: bool) -> None:
    if ring.staged is None and not new_key:
        raise KeyRotationRefused(
            f"No key is staged in {key_file}: `lakefeed keys rotate` moves the staged key "
            "first, and nothing was changed.",
            fix="Where several machines keep a copy of the key file, rotate in steps: "
            "`lakefeed keys add` (stages a new key, which opens but does not seal yet), copy "
            "the key file to every machine, then `lakefeed keys rotate`. With one key file for "
            "every process (one machine, or a shared file system), `lakefeed keys rotate "
            "--new-key` makes and uses a new key in one step.",
        )
    if ring.staged is not None and new_key:
        raise KeyRotationRefused(
            f"A key is staged in {key_file} ({fingerprint(ring.staged)}): --new-key would "
            "leave it behind; nothing was changed.",
            fix="Run `lakefeed keys rotate` without --new-key to move the staged key first "
            "(after copying the key file to every machine).",
        )


def _older(ring: KeyRing) -> tuple[str, ...]:
    """The fingerprints of the keys :func:`retire_keys` removes: neither current nor staged."""
    current = ring.fingerprints[0]
    return tuple(
        fp
        for key, fp in dict(zip(ring.keys, ring.fingerprints, strict=True)).items()
        if fp != current and key != ring.staged
    )


def _staged(ring: KeyRing) -> str | None:
    return fingerprint(ring.staged) if ring.staged is not None else None


def _check_survey(key_file: Path, ring: KeyRing, survey: _Survey) -> None:
    if survey.unreadable:
        raise _unreadable(key_file, survey.unreadable)
    staged = ring.keys.index(ring.staged) if ring.staged is not None else None
    if staged is not None and survey.by_key.get(staged):
        raise KeyRotationRefused(
            f"{survey.by_key[staged]} stored secret(s) are sealed with the key staged in "
            f"{key_file} ({fingerprint(ring.keys[staged])}): `lakefeed keys rotate` ran on "
            "another machine, and this copy of the key file is older. No key was retired.",
            fix="Copy the key file from the machine that rotated to this one (and every "
            "other), then retire there or here.",
        )


@contextlib.contextmanager
def _database_lock(engine: sa.Engine, key_file: Path) -> Iterator[None]:
    """On PostgreSQL, hold the database's rotation lock (a session advisory lock, on a
    connection of its own) or raise :class:`KeyRotationRunning` at once; two machines with
    their own copies of the key file would otherwise rotate to two keys and split the secrets
    between them. (SQLite is one machine's: the key file's ``flock`` serves.)"""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as db:
        query = sa.text("SELECT pg_try_advisory_lock(:key)")
        taken = db.execute(query, {"key": ROTATION_LOCK_KEY}).scalar_one()
        db.commit()  # a session lock: it outlives the transaction, which must not idle open
        if not taken:
            raise KeyRotationRunning(
                "Another `lakefeed keys rotate` or `retire` is running on this database (on "
                f"this machine or another); nothing was changed in {key_file}.",
                fix="Wait for it to finish, copy the key file it wrote to this machine, then "
                "run `lakefeed keys status` to see whether anything is left to do.",
            )
        try:
            yield
        finally:
            try:
                db.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ROTATION_LOCK_KEY})
                db.commit()
            except sa.exc.DBAPIError:
                db.invalidate()  # the session, and its lock, end with the connection


@dataclass
class _Survey:
    secrets: int = 0
    by_key: dict[int, int] = field(default_factory=dict)
    unreadable: list[SealedConnection] = field(default_factory=list)


def _survey(engine: sa.Engine, ring: KeyRing | None) -> _Survey:
    survey = _Survey(by_key={index: 0 for index in range(len(ring.keys) if ring else 0)})
    if not sa.inspect(engine).has_table(table.name):  # a database lakefeed never set up
        return survey
    for rows in _batches(engine):
        for row in rows:
            survey.secrets += 1
            index = ring.opener(bytes(row.secrets)) if ring is not None else None
            if index is None:
                survey.unreadable.append(_named(row))
            else:
                survey.by_key[index] += 1
    return survey


def _reseal_all(engine: sa.Engine, ring_of: Callable[[], KeyRing]) -> _Tally:
    """Re-seal with the current key of ``ring_of()`` every stored secret not sealed with it."""
    from cryptography.fernet import InvalidToken

    tally = _Tally()
    for rows in _batches(engine):
        ring = ring_of()
        changes = []
        for row in rows:
            tally.secrets += 1
            token = bytes(row.secrets)
            if ring.is_current(token):
                tally.current += 1
                continue
            try:
                changes.append((row, token, bytes(ring.cipher.rotate(token))))
            except InvalidToken:
                tally.unreadable.append(_named(row))
        changed_meanwhile = []
        with engine.begin() as db:
            for row, token, resealed in changes:
                if _swap(db, row.id, token, resealed):
                    tally.resealed += 1
                else:
                    changed_meanwhile.append(row)
        for row in changed_meanwhile:
            tally.retried += 1
            _reseal_again(engine, ring_of, row, tally)
    return tally


def _reseal_again(
    engine: sa.Engine, ring_of: Callable[[], KeyRing], row: Any, tally: _Tally
) -> None:
    """Re-seal one row that another writer changed since it was read: read it again, until it
    is gone, already sealed with the current key, or swapped."""
    from cryptography.fernet import InvalidToken

    for _ in range(ATTEMPTS):
        with engine.begin() as db:
            stored = db.execute(sa.select(table.c.secrets).where(table.c.id == row.id)).first()
            if stored is None:
                return  # deleted meanwhile
            token, ring = bytes(stored.secrets), ring_of()
            if ring.is_current(token):
                tally.current += 1
                return
            try:
                resealed = bytes(ring.cipher.rotate(token))
            except InvalidToken:
                tally.unreadable.append(_named(row))
                return
            if _swap(db, row.id, token, resealed):
                tally.resealed += 1
                return
    # Still readable with the keys in the file: `lakefeed keys retire` re-seals it later.


def _swap(db: sa.Connection, id: str, token: bytes, resealed: bytes) -> bool:
    """Replace the row's secrets with ``resealed`` only while they are still ``token``."""
    where = (table.c.id == id) & (table.c.secrets == token)
    return bool(db.execute(sa.update(table).where(where).values(secrets=resealed)).rowcount)


def _batches(engine: sa.Engine) -> Any:
    """Every connection row (id, org, sandbox, name, secrets), :data:`BATCH_ROWS` at a time,
    in id order, each batch read in a short transaction of its own."""
    last = ""
    while True:
        query = sa.select(*_COLUMNS).where(table.c.id > last).order_by(table.c.id)
        with engine.connect() as db:
            rows = db.execute(query.limit(BATCH_ROWS)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _named(row: Any) -> SealedConnection:
    return SealedConnection(row.id, row.ims_org_id, row.sandbox_name, row.name)


def _unreadable(key_file: Path, connections: list[SealedConnection]) -> SecretsUnreadable:
    named = ", ".join(str(c) for c in connections[:NAMED])
    more = f" and {len(connections) - NAMED} more" if len(connections) > NAMED else ""
    return SecretsUnreadable(
        f"{len(connections)} stored connection secret(s) open with no key in {key_file}: "
        f"{named}{more}. No key was retired.",
        fix="Add the key they were sealed with as a line of its own to the key file: from "
        "another machine's copy of it (one that ran `lakefeed keys add` or `rotate` on its "
        "own) or a backup. Only if that key is lost for good, delete and recreate those "
        "connections. Then retire again.",
        connections=[c.to_dict() for c in connections],
    )
