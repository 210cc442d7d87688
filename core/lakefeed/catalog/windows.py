"""Scheduled windows in the control-plane database: ``WindowClaims``, a scheduler's leases on
them, and ``WindowStore``, the windows of one org and sandbox.

A scheduler runs a window only after inserting its row; the primary key (flow, window end) and
the chain constraint (flow, previous end) let exactly one scheduler insert it. While it runs,
the scheduler renews the row's lease; a row whose lease has expired belongs to a scheduler
that died, and another one takes it over with a conditional update (one winner again).

A scheduler daemon serves every org and sandbox of its database, so what it reads to find due
windows spans them all (``all_scopes_*``); every change it makes names the window's own org
and sandbox (a :class:`Claim` or a :class:`WindowRecord` carries them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.records import Scope, record_from_row
from lakefeed.catalog.row_locks import take_row
from lakefeed.schedules.clock import Clock
from lakefeed.schedules.windows import Window

t = tables.schedule_windows
#: Finished windows kept per flow (older ones are deleted as new ones finish).
KEEP_WINDOWS = 48


@dataclass(frozen=True)
class WindowRecord:
    """A row of ``schedule_windows``: one window of a flow, being run or done."""

    flow_id: str
    window_end: int  # epoch seconds
    previous_end: int  # 0 for the first window
    window_start: int | None  # None: since the beginning
    ims_org_id: str
    sandbox_name: str
    state: str  # running | done
    owner: str  # the scheduler holding the lease
    lease_expires_at: int  # epoch ms, scheduler clock
    takeovers: int
    run_id: str | None
    claimed_at: int
    finished_at: int | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> WindowRecord:
        return record_from_row(cls, row)

    @property
    def window(self) -> Window:
        return Window(start=self.window_start, end=self.window_end, previous_end=self.previous_end)

    def _where(self) -> tuple[sa.ColumnElement[bool], ...]:
        """This window, as long as the scheduler seen holding it still does."""
        return (
            t.c.flow_id == self.flow_id,
            t.c.window_end == self.window_end,
            t.c.ims_org_id == self.ims_org_id,
            t.c.sandbox_name == self.sandbox_name,
            t.c.state == "running",
            t.c.owner == self.owner,
        )


@dataclass(frozen=True)
class Claim:
    """A window this scheduler holds."""

    flow_id: str
    ims_org_id: str
    sandbox_name: str
    window: Window
    takeover: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(ims_org_id=self.ims_org_id, sandbox_name=self.sandbox_name)

    def _where(self) -> tuple[sa.ColumnElement[bool], ...]:
        return (
            t.c.flow_id == self.flow_id,
            t.c.window_end == self.window.end,
            t.c.ims_org_id == self.ims_org_id,
            t.c.sandbox_name == self.sandbox_name,
        )


class WindowClaims:
    """One scheduler's claims (``owner``), timed by ``clock``, leases of ``lease_seconds``."""

    def __init__(self, engine: sa.Engine, *, owner: str, clock: Clock, lease_seconds: float):
        self.engine = engine
        self.owner = owner
        self.clock = clock
        self.lease_ms = int(lease_seconds * 1000)

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # -- reading (every org and sandbox: a scheduler serves them all) --------------------------

    def all_scopes_last_ends(self) -> dict[str, int]:
        """The end of each flow's latest window, claimed or done, by flow id."""
        query = sa.select(t.c.flow_id, sa.func.max(t.c.window_end)).group_by(t.c.flow_id)
        with self.engine.connect() as db:
            return {flow_id: int(end) for flow_id, end in db.execute(query)}

    def all_scopes_open_windows(self) -> dict[str, WindowRecord]:
        """Windows being run (by any scheduler), by flow id."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.state == "running")).mappings().all()
        return {row["flow_id"]: WindowRecord.from_row(row) for row in rows}

    # -- claiming ------------------------------------------------------------------------------

    def claim(
        self, flow_id: str, ims_org_id: str, sandbox_name: str, window: Window
    ) -> Claim | None:
        """Insert the window's row; None when another scheduler has it (or had it)."""
        now = self._now_ms()
        row = {
            "flow_id": flow_id,
            "window_end": window.end,
            "previous_end": window.previous_end,
            "window_start": window.start,
            "ims_org_id": ims_org_id,
            "sandbox_name": sandbox_name,
            "state": "running",
            "owner": self.owner,
            "lease_expires_at": now + self.lease_ms,
            "takeovers": 0,
            "claimed_at": now,
        }
        try:
            with self.engine.begin() as db:
                db.execute(t.insert().values(**row))
        except sa.exc.IntegrityError:
            return None
        return Claim(flow_id, ims_org_id, sandbox_name, window)

    def take_over(self, held: WindowRecord) -> Claim | None:
        """Take a window whose lease expired; None when it is still held or someone was
        quicker."""
        now = self._now_ms()
        if held.lease_expires_at >= now:
            return None
        unchanged = (*held._where(), t.c.lease_expires_at == held.lease_expires_at)
        update = (
            t.update()
            .where(*unchanged)
            .values(
                owner=self.owner,
                lease_expires_at=now + self.lease_ms,
                takeovers=t.c.takeovers + 1,
            )
        )
        with self.engine.begin() as db:
            if not take_row(db, t, *unchanged) or db.execute(update).rowcount != 1:
                return None
        return Claim(held.flow_id, held.ims_org_id, held.sandbox_name, held.window, True)

    # -- holding -------------------------------------------------------------------------------

    def _mine(self, claim: Claim) -> tuple[sa.ColumnElement[bool], ...]:
        return (*claim._where(), t.c.owner == self.owner, t.c.state == "running")

    def renew(self, claim: Claim) -> bool:
        """Extend the lease; False when the window is no longer this scheduler's."""
        values = {"lease_expires_at": self._now_ms() + self.lease_ms}
        with self.engine.begin() as db:
            return bool(db.execute(t.update().where(*self._mine(claim)).values(**values)).rowcount)

    def attach_run(self, claim: Claim, run_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(t.update().where(*self._mine(claim)).values(run_id=run_id))

    def finish(self, claim: Claim, run_id: str) -> None:
        """Mark the window run by ``run_id`` done — even if another scheduler took the lease
        over meanwhile (it found the run alive and left the window alone)."""
        with self.engine.begin() as db:
            db.execute(
                t.update()
                .where(*claim._where(), t.c.state == "running")
                .values(state="done", finished_at=self._now_ms(), run_id=run_id)
            )
            # Windows are working state, not history (runs are): keep the flow's latest few,
            # so every poll reads a table that does not grow with time.
            cutoff = db.execute(
                sa.select(t.c.window_end)
                .where(claim.scope.where(t), t.c.flow_id == claim.flow_id)
                .order_by(t.c.window_end.desc())
                .offset(KEEP_WINDOWS)
                .limit(1)
            ).scalar()
            if cutoff is not None:
                db.execute(
                    t.delete().where(
                        claim.scope.where(t),
                        t.c.flow_id == claim.flow_id,
                        t.c.window_end <= cutoff,
                        t.c.state == "done",
                    )
                )

    def release(self, claim: Claim) -> None:
        """Give the window back unrun (flow disabled or busy, shutdown): it is due again."""
        with self.engine.begin() as db:
            db.execute(t.delete().where(*self._mine(claim)))

    def close_abandoned(self, held: WindowRecord, *, done: bool) -> bool:
        """Close a window whose scheduler is gone without waiting for its lease: ``done`` (its
        run finished) or given back, due again. False when the row changed meanwhile (another
        scheduler closed or took it), so one scheduler closes it."""
        if done:
            change: Any = (
                t.update().where(*held._where()).values(state="done", finished_at=self._now_ms())
            )
        else:
            change = t.delete().where(*held._where())
        with self.engine.begin() as db:
            return take_row(db, t, *held._where()) and db.execute(change).rowcount == 1


class WindowStore:
    """The scheduled windows of the flows of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope

    def claims(self, *, owner: str, clock: Clock, lease_seconds: float) -> WindowClaims:
        """The claims of a scheduler (``owner``); they span every org and sandbox."""
        return WindowClaims(self.engine, owner=owner, clock=clock, lease_seconds=lease_seconds)

    def last_ends(self) -> dict[str, int]:
        """The end of each flow's latest window, claimed or done, by flow id: where the
        scheduler takes up each flow's schedule."""
        query = (
            sa.select(t.c.flow_id, sa.func.max(t.c.window_end))
            .where(self.scope.where(t))
            .group_by(t.c.flow_id)
        )
        with self.engine.connect() as db:
            return {flow_id: int(end) for flow_id, end in db.execute(query)}

    def of_flow(self, flow_id: str) -> list[WindowRecord]:
        """The flow's windows kept (running and the latest done), by end."""
        query = sa.select(t).where(self.scope.where(t), t.c.flow_id == flow_id)
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(t.c.window_end)).mappings()
            return [WindowRecord.from_row(r) for r in rows]

    def forget(self, flow_id: str) -> None:
        """Drop a deleted flow's windows."""
        with self.engine.begin() as db:
            db.execute(t.delete().where(self.scope.where(t), t.c.flow_id == flow_id))
