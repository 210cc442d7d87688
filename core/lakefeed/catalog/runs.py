"""``RunStore``: runs of flows — their state, metrics and activities, and which process owns
each one while it is ``inProgress`` (its heartbeat tells recovery it is alive).

Every method reads and writes the runs of one org and sandbox, except the ``all_scopes_*``
ones: the scheduler daemon and start-up recovery serve every org and sandbox of a database, so
they look across scopes, and then act on what they find through the store of its own scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog import tables
from lakefeed.catalog.owners import this_process
from lakefeed.catalog.records import (
    ResourceTable,
    Scope,
    audit_fields,
    chunked,
    new_etag,
    now_ms,
    record_from_row,
)
from lakefeed.catalog.row_locks import take_row
from lakefeed.errors import ResourceNotFound

t = tables.runs

#: Flow ids per ``IN (...)`` of the scheduler's look at which flows ran.
FLOW_CHUNK = 500


def batch_of(activities: Iterable[Mapping[str, Any]]) -> str | None:
    """The batch a run wrote: its promotion activity's target, if any (``activities`` as a
    Flow Service run has them, here or in a run read over REST)."""
    for activity in activities:
        for target in activity.get("targetInfo", []):
            ids = target.get("reference", {}).get("ids") or []
            if ids:
                return str(ids[0])
    return None


@dataclass(frozen=True)
class Run:
    """A row of ``runs``: one execution of a flow."""

    id: str
    ims_org_id: str
    sandbox_name: str
    flow_id: str
    state: str  # scheduled | inProgress | completed
    status: str  # scheduled | inProgress | success | failed
    params: dict[str, Any]
    metrics: dict[str, Any]
    activities: list[dict[str, Any]]
    owner: str  # the process running it (host:pid:t<start>); "" while scheduled
    heartbeat_at: int  # epoch ms
    etag: str
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Run:
        return record_from_row(cls, row)

    @property
    def batch_id(self) -> str | None:
        return batch_of(self.activities)

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service ``FlowRunItemDTO``."""
        return {
            **audit_fields(self),
            "flowId": self.flow_id,
            "state": self.state,
            "providerRefId": f"M-{self.flow_id}-incremental-0:{self.id}",
            "params": self.params,
            "metrics": self.metrics,
            "activities": self.activities,
        }


# ``list`` is a method of the store: its return types are spelled out here.
Runs = list[Run]

#: A flow's latest completed run (built once: GET /flows/{id} runs it on every call).
_LAST_COMPLETED_RUN = (
    sa.select(t)
    .where(
        (t.c.ims_org_id == sa.bindparam("ims_org_id"))
        & (t.c.sandbox_name == sa.bindparam("sandbox_name"))
        & (t.c.flow_id == sa.bindparam("flow_id"))
        & (t.c.state == "completed")
    )
    .order_by(t.c.created_at.desc(), t.c.id.desc())
    .limit(1)
)


class RunStore:
    """Runs of one org and sandbox (and, in ``all_scopes_*``, of all of them)."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self.rows = ResourceTable(engine, t, scope, ResourceNotFound, "run", "lakefeed runs list")

    # -- creating ------------------------------------------------------------------------------

    def start(self, flow_id: str, params: Mapping[str, Any], metrics: Mapping[str, Any]) -> Run:
        """Insert a run in state ``inProgress``, owned by this process."""
        return self._insert(flow_id, "inProgress", params, metrics, this_process(), now_ms())

    def schedule(self, flow_id: str, params: Mapping[str, Any], metrics: Mapping[str, Any]) -> Run:
        """Insert a run in state ``scheduled``: an on-demand run whose ``params.startTime`` is
        still ahead, with the ``metrics`` of a run not started yet; a scheduler starts it then
        (:meth:`adopt_scheduled`)."""
        return self._insert(flow_id, "scheduled", params, metrics, "", 0)

    def _insert(
        self,
        flow_id: str,
        state: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        owner: str,
        heartbeat_at: int,
    ) -> Run:
        row = self.scope.new_row(
            id=str(uuid.uuid4()),
            flow_id=flow_id,
            state=state,
            status=state,
            params=dict(params),
            metrics=dict(metrics),
            activities=[],
            owner=owner,
            heartbeat_at=heartbeat_at,
        )
        self.rows.insert(row)
        return Run.from_row(row)

    # -- runs waiting for their startTime ------------------------------------------------------

    def adopt_scheduled(self, run_id: str, metrics: Mapping[str, Any]) -> Run | None:
        """Move a ``scheduled`` run to ``inProgress``, owned by this process; None when
        another process was quicker (or it is no longer scheduled)."""
        moved = self._leave_scheduled(
            run_id,
            state="inProgress",
            status="inProgress",
            metrics=dict(metrics),
            owner=this_process(),
            heartbeat_at=now_ms(),
        )
        return self.get(run_id) if moved else None

    def fail_scheduled(self, run_id: str, metrics: Mapping[str, Any]) -> bool:
        """Close a ``scheduled`` run unrun (its flow is gone, disabled or changed), with
        ``metrics`` saying why; False when it is no longer scheduled."""
        return self._leave_scheduled(
            run_id, state="completed", status="failed", metrics=dict(metrics)
        )

    def _leave_scheduled(self, run_id: str, **values: Any) -> bool:
        """Update a run only while it is ``scheduled``: one process wins."""
        scheduled = (self.scope.where(t), t.c.id == run_id, t.c.state == "scheduled")
        update = t.update().where(*scheduled).values(updated_at=now_ms(), etag=new_etag(), **values)
        with self.engine.begin() as db:
            return take_row(db, t, *scheduled) and db.execute(update).rowcount == 1

    # -- reading -------------------------------------------------------------------------------

    def get(self, run_id: str) -> Run:
        """The run, or :class:`ResourceNotFound` (also for another sandbox's run)."""
        return Run.from_row(self.rows.get(run_id))

    def find(self, run_id: str) -> Run | None:
        row = self.rows.find(run_id)
        return None if row is None else Run.from_row(row)

    def list(self, flow_id: str | None = None) -> Runs:
        """The runs (of ``flow_id``), oldest first."""
        where = [] if flow_id is None else [t.c.flow_id == flow_id]
        return [Run.from_row(r) for r in self.rows.select(*where)]

    def active(self, flow_id: str) -> Runs:
        """The flow's runs still ``inProgress``."""
        rows = self.rows.select(t.c.flow_id == flow_id, t.c.state == "inProgress")
        return [Run.from_row(r) for r in rows]

    def recent(self, flow_id: str, limit: int) -> tuple[Runs, int]:
        """The flow's latest ``limit`` runs, oldest first, and how many it has in all: two
        queries that read only those runs, however many the schedule has made."""
        where = (self.scope.where(t), t.c.flow_id == flow_id)
        newest = (
            sa.select(t).where(*where).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
        )
        total = sa.select(sa.func.count()).select_from(t).where(*where)
        with self.engine.connect() as db:
            rows = [Run.from_row(r._mapping) for r in db.execute(newest)]
            count = int(db.execute(total).scalar_one())
        return rows[::-1], count

    def in_progress(self) -> Runs:
        """The sandbox's runs still ``inProgress``, of every flow."""
        rows = self.rows.select(t.c.state == "inProgress")
        return [Run.from_row(r) for r in rows]

    def last_completed(self, flow_ids: Sequence[str] | None = None) -> dict[str, Run]:
        """By flow id, the flow's latest completed run (by creation time, then id, as
        :meth:`list` orders them), for ``flow_ids`` or every flow. One query that reads only
        those runs, not every run of the sandbox."""
        if flow_ids is not None and len(set(flow_ids)) <= 1:
            if not flow_ids:
                return {}
            params = {
                "ims_org_id": self.scope.ims_org_id,
                "sandbox_name": self.scope.sandbox_name,
                "flow_id": flow_ids[0],
            }
            with self.engine.connect() as db:
                row = db.execute(_LAST_COMPLETED_RUN, params).first()
            return {} if row is None else {row.flow_id: Run.from_row(row._mapping)}
        where = [self.scope.where(t), t.c.state == "completed"]
        if flow_ids is not None:
            where.append(t.c.flow_id.in_(sorted(set(flow_ids))))
        rank = (
            sa.func.row_number()
            .over(partition_by=t.c.flow_id, order_by=(t.c.created_at.desc(), t.c.id.desc()))
            .label("rank")
        )
        ranked = sa.select(t, rank).where(*where).subquery()
        query = sa.select(*(ranked.c[c.name] for c in t.columns)).where(ranked.c.rank == 1)
        with self.engine.connect() as db:
            return {r.flow_id: Run.from_row(r._mapping) for r in db.execute(query)}

    # -- changing ------------------------------------------------------------------------------

    def update(
        self,
        run_id: str,
        *,
        state: str | None = None,
        status: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        activities: Sequence[Mapping[str, Any]] | None = None,
    ) -> Run:
        """Change what is given (None leaves a column as it is); returns the run."""
        given = {
            "state": state,
            "status": status,
            "params": None if params is None else dict(params),
            "metrics": None if metrics is None else dict(metrics),
            "activities": None if activities is None else [dict(a) for a in activities],
        }
        self.rows.update(run_id, **{k: v for k, v in given.items() if v is not None})
        return self.get(run_id)

    def heartbeat(self, run_id: str) -> None:
        """Tell recovery the run is still being worked on."""
        with self.engine.begin() as db:
            db.execute(
                t.update()
                .where(self.scope.where(t), t.c.id == run_id)
                .values(heartbeat_at=now_ms())
            )

    def adopt_interrupted(self, run: Run) -> bool:
        """Make this process the owner of an ``inProgress`` run whose owner is gone, to
        recover it; False when the run changed meanwhile (another process adopted or finished
        it), so one process recovers it."""
        unchanged = (
            self.scope.where(t),
            t.c.id == run.id,
            t.c.state == "inProgress",
            t.c.owner == run.owner,
            t.c.heartbeat_at == run.heartbeat_at,
        )
        update = t.update().where(*unchanged).values(owner=this_process(), heartbeat_at=now_ms())
        with self.engine.begin() as db:
            return take_row(db, t, *unchanged) and db.execute(update).rowcount == 1

    def set_owner(self, run_id: str, *, owner: str, heartbeat_at: int) -> None:
        """Record ``owner`` (and its last heartbeat) as the run's owner: recovery gives a run
        whose recovery failed back to its gone owner, so the next run of its flow recovers it."""
        self.rows.update(run_id, owner=owner, heartbeat_at=heartbeat_at)

    # -- across every org and sandbox (the scheduler daemon, start-up recovery) ----------------

    def all_scopes_in_progress(self) -> Runs:
        """Runs ``inProgress`` in every org and sandbox: start-up recovery closes those whose
        process is gone, wherever they belong."""
        return self._all_scopes(t.c.state == "inProgress")

    def all_scopes_scheduled(self) -> Runs:
        """Runs ``scheduled`` (on-demand runs waiting for their ``startTime``) in every org and
        sandbox, oldest first: one scheduler daemon starts them all."""
        return self._all_scopes(t.c.state == "scheduled")

    def _all_scopes(self, where: sa.ColumnElement[bool]) -> Runs:
        query = sa.select(t).where(where).order_by(t.c.created_at, t.c.id)
        with self.engine.connect() as db:
            return [Run.from_row(r) for r in db.execute(query).mappings()]

    def all_scopes_flows_that_ran(
        self,
        flow_ids: Sequence[str],
        *,
        cut_short: Callable[[str | None, dict[str, Any]], bool],
    ) -> set[str]:
        """The flows among ``flow_ids`` (of any org and sandbox: the scheduler polls them all)
        that have run. A completed run that failed counts unless ``cut_short(status,
        metrics)`` — stopped before its commit, so nothing of it landed. Runs on every poll: a
        flow with a live or successful run is decided in SQL, and only failed runs' metrics
        are read."""
        ran: set[str] = set()
        with self.engine.connect() as db:
            for chunk in chunked(sorted(set(flow_ids)), FLOW_CHUNK):
                decided = sa.select(t.c.flow_id).where(
                    t.c.flow_id.in_(chunk)
                    & ((t.c.state != "completed") | (t.c.status == "success"))
                )
                ran.update(row[0] for row in db.execute(decided.distinct()))
                undecided = set(chunk) - ran
                if not undecided:
                    continue
                failed = sa.select(t.c.flow_id, t.c.status, t.c.metrics).where(
                    t.c.flow_id.in_(undecided)
                    & (t.c.state == "completed")
                    & t.c.status.is_distinct_from("success")
                )
                for row in db.execute(failed):
                    if not cut_short(row.status, row.metrics or {}):
                        ran.add(row.flow_id)
        return ran
