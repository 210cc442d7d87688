"""``WindowClaims``: the scheduler's leases on windows, kept in the control-plane database.

A scheduler runs a window only after inserting its row; the primary key (flow, window end) and
the chain constraint (flow, previous end) let exactly one scheduler insert it. While it runs,
the scheduler renews the row's lease; a row whose lease has expired belongs to a scheduler
that died, and another one takes it over with a conditional update (one winner again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.schedules.clock import Clock
from lakefeed.schedules.windows import Window

t = tables.schedule_windows
#: Finished windows kept per flow (older ones are deleted as new ones finish).
KEEP_WINDOWS = 48


@dataclass(frozen=True)
class Claim:
    """A window this scheduler holds."""

    flow_id: str
    ims_org_id: str
    sandbox_name: str
    window: Window
    takeover: bool = False


class WindowClaims:
    def __init__(self, engine: sa.Engine, *, owner: str, clock: Clock, lease_seconds: float):
        self.engine = engine
        self.owner = owner
        self.clock = clock
        self.lease_ms = int(lease_seconds * 1000)

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # -- reading -------------------------------------------------------------------------------

    def last_ends(self) -> dict[str, int]:
        """The end of each flow's latest window, claimed or done."""
        query = sa.select(t.c.flow_id, sa.func.max(t.c.window_end)).group_by(t.c.flow_id)
        with self.engine.connect() as db:
            return {flow_id: int(end) for flow_id, end in db.execute(query)}

    def open_windows(self) -> dict[str, Mapping[str, Any]]:
        """Windows being run (by anyone), per flow."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(t).where(t.c.state == "running")).mappings().all()
        return {row["flow_id"]: dict(row) for row in rows}

    def windows(self, flow_id: str) -> list[Mapping[str, Any]]:
        query = sa.select(t).where(t.c.flow_id == flow_id).order_by(t.c.window_end)
        with self.engine.connect() as db:
            return [dict(r) for r in db.execute(query).mappings()]

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

    def take_over(self, row: Mapping[str, Any]) -> Claim | None:
        """Take a window whose lease expired; None when it is still held or someone was
        quicker."""
        now = self._now_ms()
        if row["lease_expires_at"] >= now:
            return None
        update = (
            t.update()
            .where(
                t.c.flow_id == row["flow_id"],
                t.c.window_end == row["window_end"],
                t.c.state == "running",
                t.c.owner == row["owner"],
                t.c.lease_expires_at == row["lease_expires_at"],
            )
            .values(
                owner=self.owner,
                lease_expires_at=now + self.lease_ms,
                takeovers=t.c.takeovers + 1,
            )
        )
        with self.engine.begin() as db:
            if db.execute(update).rowcount != 1:
                return None
        window = Window(
            start=row["window_start"], end=int(row["window_end"]), previous_end=row["previous_end"]
        )
        return Claim(row["flow_id"], row["ims_org_id"], row["sandbox_name"], window, True)

    # -- holding -------------------------------------------------------------------------------

    def _mine(self, claim: Claim) -> Any:
        return sa.and_(
            t.c.flow_id == claim.flow_id,
            t.c.window_end == claim.window.end,
            t.c.owner == self.owner,
            t.c.state == "running",
        )

    def renew(self, claim: Claim) -> bool:
        """Extend the lease; False when the window is no longer this scheduler's."""
        values = {"lease_expires_at": self._now_ms() + self.lease_ms}
        with self.engine.begin() as db:
            return bool(db.execute(t.update().where(self._mine(claim)).values(**values)).rowcount)

    def attach_run(self, claim: Claim, run_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(t.update().where(self._mine(claim)).values(run_id=run_id))

    def finish(self, claim: Claim, run_id: str) -> None:
        """Mark the window run by ``run_id`` done — even if another scheduler took the lease
        over meanwhile (it found the run alive and left the window alone)."""
        with self.engine.begin() as db:
            db.execute(
                t.update()
                .where(
                    t.c.flow_id == claim.flow_id,
                    t.c.window_end == claim.window.end,
                    t.c.state == "running",
                )
                .values(state="done", finished_at=self._now_ms(), run_id=run_id)
            )
            # Windows are working state, not history (runs are): keep the flow's latest few,
            # so every poll reads a table that does not grow with time.
            cutoff = db.execute(
                sa.select(t.c.window_end)
                .where(t.c.flow_id == claim.flow_id)
                .order_by(t.c.window_end.desc())
                .offset(KEEP_WINDOWS)
                .limit(1)
            ).scalar()
            if cutoff is not None:
                db.execute(
                    t.delete().where(
                        t.c.flow_id == claim.flow_id,
                        t.c.window_end <= cutoff,
                        t.c.state == "done",
                    )
                )

    def release(self, claim: Claim) -> None:
        """Give the window back unrun (flow disabled or busy, shutdown): it is due again."""
        with self.engine.begin() as db:
            db.execute(t.delete().where(self._mine(claim)))

    def close_abandoned(self, row: Mapping[str, Any], *, done: bool) -> bool:
        """Close a window whose scheduler is gone without waiting for its lease: ``done`` (its
        run finished) or given back, due again. False when the row changed meanwhile (another
        scheduler closed or took it), so one scheduler closes it."""
        where = (
            t.c.flow_id == row["flow_id"],
            t.c.window_end == row["window_end"],
            t.c.state == "running",
            t.c.owner == row["owner"],
        )
        if done:
            change: Any = t.update().where(*where).values(state="done", finished_at=self._now_ms())
        else:
            change = t.delete().where(*where)
        with self.engine.begin() as db:
            return bool(db.execute(change).rowcount == 1)


def forget_windows(engine: sa.Engine, flow_id: str) -> None:
    """Drop a deleted flow's windows."""
    with engine.begin() as db:
        db.execute(t.delete().where(t.c.flow_id == flow_id))
