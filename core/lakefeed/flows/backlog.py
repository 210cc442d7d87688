"""Discovering a flow's backlog between runs: list its source now, plan as its next run would,
and record what waits (:class:`~lakefeed.catalog.backlog.BacklogStore`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakefeed.catalog.backlog import shown
from lakefeed.catalog.records import now_ms
from lakefeed.flows.plan import plan_run, source_files

if TYPE_CHECKING:
    from lakefeed.catalog.backlog import Backlog
    from lakefeed.catalog.flows import Flow
    from lakefeed.flows.context import RunContext


def discover(ctx: RunContext, flow: Flow) -> Backlog:
    """List the flow's source now and record what is waiting for its next run."""
    source = ctx.flows.source_connection(flow.source_connection_id)
    session = ctx.source_access(source.base_connection_id).session()
    plan, _ = plan_run(ctx, flow, source_files(session, source))
    return ctx.backlog.record(flow, plan.take, observed_at=now_ms())


def backlog_of(ctx: RunContext, flow: Flow, *, refresh: bool = False) -> dict[str, Any]:
    """The flow's backlog as the API and CLI show it; ``refresh`` lists the source now.
    Fields are null until the flow's source has been listed once."""
    backlog = discover(ctx, flow) if refresh else ctx.backlog.get(flow.id)
    return shown(flow.id, backlog)
