"""The file ledger answers "which of these identities are already ingested" for the files a run
listed, a bounded chunk at a time, and only from the asking flow's own ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.ledger import LOOKUP_CHUNK, identity_key
from lakefeed.storage.entries import FileEntry

CORRUPT = {"code": "LF-2415", "message": "not a Parquet file", "permanent": True}


def files(prefix: str, count: int) -> list[FileEntry]:
    return [FileEntry(path=f"/data/{prefix}-{i}.parquet", size=100 + i) for i in range(count)]


def keys(found: list[FileEntry]) -> list[str]:
    return [identity_key(e) for e in found]


def ledger(
    lf: Lakefeed,
    flow: Flow,
    committed: Sequence[FileEntry],
    failed: Sequence[FileEntry] = (),
) -> None:
    """Complete a run of ``flow`` that committed and failed these files."""
    run = lf.runs.start(flow.id, {}, {})
    lf.completion.complete_batch(
        flow_id=flow.id,
        run_id=run.id,
        batch_id=None,
        committed=committed,
        failed=[(e, CORRUPT) for e in failed],
        run_values={"state": "completed", "status": "success"},
    )


class Statements:
    """The SELECTs on ``file_ledger`` an engine runs, with their parameter counts."""

    def __init__(self, engine: sa.Engine) -> None:
        self.seen: list[int] = []
        sa.event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "file_ledger" in statement:
            self.seen.append(len(parameters))

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_lookup_answers_committed_failed_and_new_in_bounded_chunks(
    lf: Lakefeed, make_flow: Any
) -> None:
    flow = make_flow(lf, "drops")
    committed = files("done", 2 * LOOKUP_CHUNK + 100)  # more than two chunks
    failed = files("broken", 7)
    new = files("new", 30)
    ledger(lf, flow, committed, failed)

    statements = Statements(lf.db)
    try:
        asked = keys(new + committed + failed)
        known = lf.ledger.lookup(flow.id, asked + asked[:50])  # repeats are asked once
    finally:
        statements.close()

    assert known.committed == frozenset(keys(committed))
    assert dict(known.failed) == {key: CORRUPT for key in keys(failed)}
    assert known.known == frozenset(keys(committed + failed))
    assert not known.known & set(keys(new))
    # One query per chunk of identities asked, each with at most a chunk of them.
    assert len(statements.seen) == -(-len(set(asked)) // LOOKUP_CHUNK) == 3
    assert max(statements.seen) <= LOOKUP_CHUNK + 4  # the chunk, the flow and its scope


def test_a_lookup_costs_what_is_asked_not_what_the_ledger_holds(
    lf: Lakefeed, make_flow: Any
) -> None:
    flow = make_flow(lf, "drops")
    held = files("done", 3 * LOOKUP_CHUNK)
    ledger(lf, flow, held)

    statements = Statements(lf.db)
    try:
        known = lf.ledger.lookup(flow.id, keys(held[:1] + files("new", 1)))
        nothing = lf.ledger.lookup(flow.id, [])
    finally:
        statements.close()

    assert known.committed == frozenset(keys(held[:1])) and not known.failed
    assert nothing.committed == frozenset() and not nothing.failed
    assert statements.seen == [2 + 4]  # one query, two identities (none for an empty ask)


def test_another_flows_and_another_sandboxes_ledger_never_answer(
    lf: Lakefeed, dev: Lakefeed, make_flow: Any
) -> None:
    mine, theirs = make_flow(lf, "mine"), make_flow(lf, "theirs")
    elsewhere = make_flow(dev, "elsewhere")
    shared = files("shared", 5)  # the same file versions, ledgered by the other two only
    ledger(lf, theirs, shared[:3], shared[3:])
    ledger(dev, elsewhere, shared[:3], shared[3:])
    ledger(lf, mine, files("own", 2))

    for known in (
        lf.ledger.lookup(mine.id, keys(shared)),  # another flow's ledger
        dev.ledger.lookup(mine.id, keys(files("own", 2))),  # asked from another sandbox
        lf.ledger.lookup(elsewhere.id, keys(shared)),  # another sandbox's flow
    ):
        assert known.committed == frozenset() and not known.failed

    assert lf.ledger.lookup(mine.id, keys(files("own", 2))).committed == frozenset(
        keys(files("own", 2))
    )
    theirs_known = dev.ledger.lookup(elsewhere.id, keys(shared))
    assert theirs_known.committed == frozenset(keys(shared[:3]))
    assert set(theirs_known.failed) == set(keys(shared[3:]))


@pytest.mark.parametrize("retry_failed", [False, True])
def test_a_runs_plan_takes_what_the_lookup_leaves(
    lf: Lakefeed, make_flow: Any, retry_failed: bool
) -> None:
    """FlowPlan keeps its interface: committed versions are skipped, versions that failed for
    good are kept apart (or taken again when retrying them)."""
    from lakefeed.flows.plan import FlowPlan

    flow = make_flow(lf, "drops")
    committed, failed, new = files("done", 3), files("broken", 2), files("new", 4)
    ledger(lf, flow, committed, failed)
    listed = new + committed + failed
    known = lf.ledger.lookup(flow.id, keys(listed))
    plan = FlowPlan.build(
        listed,
        ledgered=known.committed,
        failed={} if retry_failed else known.failed,
        backfill=True,
        start_time=0,
    )
    assert plan.already_ingested == committed
    assert plan.take == (new + failed if retry_failed else new)
    assert plan.failed_before == ([] if retry_failed else failed)
