"""``FileLedger``: the file versions each flow has committed or failed for good.

The ledger is what makes ingestion exactly-once: a flow never plans a file version whose
identity (path, etag/version, size, mtime) it has already committed or failed for good. A run
asks about the files it listed (:meth:`FileLedger.lookup`), in bounded chunks, so what a run
costs grows with its listing, not with the ledger. Rows are written when a batch completes
(:mod:`lakefeed.catalog.completion`).

The ledger table has no scope columns of its own: a ledger belongs to a flow, and every method
reaches it through a flow of this store's org and sandbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import Scope, chunked
from lakefeed.storage.entries import FileEntry, to_utc

t = tables.file_ledger

#: Identities per ``IN (...)`` of :meth:`FileLedger.lookup` (SQLite allows 32766 parameters;
#: PostgreSQL plans short lists best).
LOOKUP_CHUNK = 500


#: Hex digits of an identity key: 128 bits of SHA-256, far from any collision in one flow's
#: ledger, and half the bytes of the whole digest in every row and index entry (revision 0003
#: cut the stored keys to this prefix).
IDENTITY_DIGITS = 32

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def identity_key(entry: FileEntry) -> str:
    """A fixed-length key for a file version (path + etag/version + size + mtime)."""
    digest = hashlib.sha256(json.dumps(entry.identity).encode()).hexdigest()
    return digest[:IDENTITY_DIGITS]


def entry_columns(entry: FileEntry) -> dict[str, Any]:
    """``entry`` as the compact columns the ledger and batch plans store it in: ``path``,
    ``size``, ``mtime_us`` (epoch microseconds: exact, so the identity is the same when read
    back), ``etag`` and ``version``."""
    mtime = to_utc(entry.mtime)
    return {
        "path": entry.path,
        "size": entry.size,
        "mtime_us": None if mtime is None else (mtime - _EPOCH) // _MICROSECOND,
        "etag": entry.etag,
        "version": entry.version,
    }


def entry_from_columns(row: Mapping[str, Any]) -> FileEntry:
    """The FileEntry of a row stored with :func:`entry_columns`."""
    micros = row["mtime_us"]
    return FileEntry(
        path=row["path"],
        size=int(row["size"]),
        mtime=None if micros is None else _EPOCH + timedelta(microseconds=int(micros)),
        etag=row["etag"],
        version=row["version"],
    )


@dataclass(frozen=True)
class LedgerEntry:
    """A row of ``file_ledger``: what became of one file version of a flow."""

    flow_id: str
    identity: str  # identity_key(entry)
    path: str
    entry: FileEntry
    status: str  # committed | failed
    batch_id: str | None
    run_id: str
    error: dict[str, Any] | None  # how it failed for good (code, message, …)
    recorded_at: int  # epoch ms

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> LedgerEntry:
        return cls(
            flow_id=row["flow_id"],
            identity=row["identity"],
            path=row["path"],
            entry=entry_from_columns(row),
            status=row["status"],
            batch_id=row["batch_id"],
            run_id=row["run_id"],
            error=row["error"],
            recorded_at=row["recorded_at"],
        )


@dataclass(frozen=True)
class LedgerLookup:
    """What the ledger says about the identities a run asked about (the others are new)."""

    committed: frozenset[str] = frozenset()
    #: Failed for good, by identity: the error each failed with, as recorded.
    failed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def known(self) -> frozenset[str]:
        """Every identity the ledger holds: committed or failed for good."""
        return self.committed | self.failed.keys()


class FileLedger:
    """The file ledgers of the flows of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope

    def _of_flow(self, flow_id: str) -> sa.ColumnElement[bool]:
        """Rows of ``flow_id``, and only when that flow is of this org and sandbox."""
        flows = tables.flows
        in_scope = sa.select(flows.c.id).where(self.scope.where(flows), flows.c.id == flow_id)
        return (t.c.flow_id == flow_id) & t.c.flow_id.in_(in_scope)

    def lookup(self, flow_id: str, identities: Iterable[str]) -> LedgerLookup:
        """Which of ``identities`` (:func:`identity_key` of listed files) the flow committed,
        and which failed for good (with their errors). Asks :data:`LOOKUP_CHUNK` identities
        at a time: the cost follows the files asked about, never the ledger's size."""
        wanted = sorted(set(identities))
        committed: set[str] = set()
        failed: dict[str, Mapping[str, Any]] = {}
        of_flow = self._of_flow(flow_id)
        with self.engine.connect() as db:
            for chunk in chunked(wanted, LOOKUP_CHUNK):
                query = sa.select(t.c.identity, t.c.status, t.c.error).where(
                    of_flow, t.c.identity.in_(chunk)
                )
                for row in db.execute(query):
                    if row.status == "failed":
                        failed[row.identity] = row.error or {}
                    else:
                        committed.add(row.identity)
        return LedgerLookup(committed=frozenset(committed), failed=failed)

    def entries(self, flow_id: str) -> list[LedgerEntry]:
        """The flow's whole ledger, oldest first (for people and tests; runs use
        :meth:`lookup`)."""
        query = sa.select(t).where(self._of_flow(flow_id)).order_by(t.c.recorded_at)
        with self.engine.connect() as db:
            return [LedgerEntry.from_row(r) for r in db.execute(query).mappings()]

    def forget(self, flow_id: str) -> None:
        """Drop the flow's ledger (the flow is being deleted)."""
        with self.engine.begin() as db:
            db.execute(t.delete().where(self._of_flow(flow_id)))
