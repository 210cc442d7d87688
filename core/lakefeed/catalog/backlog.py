"""``BacklogStore``: per flow, the files discovered but not committed yet, and how old the
oldest of them is. Every run records it after listing and again when it ends; a scheduler's
discovery pass records it between runs (:mod:`lakefeed.flows.backlog`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import Scope, now_ms, record_from_row
from lakefeed.storage.entries import FileEntry

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow

t = tables.flow_backlog


@dataclass(frozen=True)
class Backlog:
    flow_id: str
    files: int
    bytes: int
    oldest_mtime: int | None  # epoch ms
    observed_at: int  # epoch ms

    def oldest_age_ms(self, now: int | None = None) -> int | None:
        """How long the oldest waiting file has waited (since it was last modified)."""
        if self.oldest_mtime is None:
            return None
        return max((now or now_ms()) - self.oldest_mtime, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flowId": self.flow_id,
            "files": self.files,
            "bytes": self.bytes,
            "oldestModifiedAt": self.oldest_mtime,
            "oldestAgeMs": self.oldest_age_ms(),
            "observedAt": self.observed_at,
        }

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Backlog:
        return record_from_row(cls, row)


def shown(flow_id: str, backlog: Backlog | None) -> dict[str, Any]:
    """A recorded backlog as the API, CLI and console show it; all null when the flow's
    source has not been listed yet."""
    if backlog is None:
        return {
            "flowId": flow_id,
            "files": None,
            "bytes": None,
            "oldestModifiedAt": None,
            "oldestAgeMs": None,
            "observedAt": None,
        }
    return backlog.to_dict()


class BacklogStore:
    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope

    def record(self, flow: Flow, waiting: Iterable[FileEntry], *, observed_at: int) -> Backlog:
        entries = list(waiting)
        mtimes = [int(e.mtime.timestamp() * 1000) for e in entries if e.mtime is not None]
        backlog = Backlog(
            flow_id=flow.id,
            files=len(entries),
            bytes=sum(e.size for e in entries),
            oldest_mtime=min(mtimes) if mtimes else None,
            observed_at=observed_at,
        )
        values = {
            "files": backlog.files,
            "bytes": backlog.bytes,
            "oldest_mtime": backlog.oldest_mtime,
            "observed_at": backlog.observed_at,
        }
        with self.engine.begin() as db:
            updated = db.execute(
                t.update().where(self.scope.where(t), t.c.flow_id == flow.id).values(**values)
            )
            if not updated.rowcount:
                db.execute(
                    t.insert().values(
                        flow_id=flow.id,
                        ims_org_id=self.scope.ims_org_id,
                        sandbox_name=self.scope.sandbox_name,
                        **values,
                    )
                )
        return backlog

    def get(self, flow_id: str) -> Backlog | None:
        query = sa.select(t).where(self.scope.where(t), t.c.flow_id == flow_id)
        with self.engine.connect() as db:
            row = db.execute(query).mappings().first()
        return None if row is None else Backlog.from_row(row)

    def of_flows(self, flow_ids: Iterable[str] | None = None) -> dict[str, Backlog]:
        """The recorded backlogs of ``flow_ids`` (default: every flow in the scope), by flow
        id, in one query; a flow never listed has none."""
        query = sa.select(t).where(self.scope.where(t))
        if flow_ids is not None:
            query = query.where(t.c.flow_id.in_(list(flow_ids)))
        with self.engine.connect() as db:
            rows = db.execute(query).mappings()
            return {row["flow_id"]: Backlog.from_row(row) for row in rows}

    def forget(self, flow_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(t.delete().where(self.scope.where(t), t.c.flow_id == flow_id))
