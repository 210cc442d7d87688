"""What the control-plane store keeps per ingested file stays small (at most 1 KB a file on
SQLite; PostgreSQL: :data:`BOUND`), and planning a run asks the ledger once per page of the
listing, never once per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.ledger import LOOKUP_CHUNK, entry_columns, entry_from_columns, identity_key
from lakefeed.flows.plan import plan_run
from lakefeed.storage.entries import FileEntry, to_utc
from lakefeed.testing.contract import parquet_bytes
from lakefeed.testing.profiles import profile_table

#: The tables that grow with the files a flow ingests.
PER_FILE_TABLES = ("file_ledger", "batch_files", "batches", "runs", "row_errors", "flow_backlog")
FILES = 300
#: Bytes the store may grow by per ingested file. PostgreSQL stores a row with 24 bytes of
#: header, keeps an updated row's old version until it is vacuumed and indexes in b-trees
#: filled to about 70%: its bound is wider (revision 0003 halved it from over 2 KB).
BOUND = {"sqlite": 1024, "postgresql": 1536}


def store_bytes(lf: Lakefeed) -> dict[str, int]:
    """The bytes the store takes: the SQLite file (its write-ahead log checkpointed first), or
    on PostgreSQL the total size (indexes and TOAST included) of each table that grows."""
    engine = lf.db
    if engine.dialect.name == "sqlite":
        with engine.connect() as db:
            db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(engine.url.database or "")
        return {"file": sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))}
    query = sa.text(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname = ANY(:names)"
    )
    with engine.connect() as db:
        return {name: size for name, size in db.execute(query, {"names": list(PER_FILE_TABLES)})}


def test_the_store_grows_at_most_a_kilobyte_per_ingested_file(
    lf: Lakefeed, make_flow: Any, tmp_path: Path
) -> None:
    flow = make_flow(lf, "growth")
    folder = Path(lf.flows.source_connection(flow.source_connection_id).path)
    data = parquet_bytes(profile_table(1, tenant_id=lf.schemas.tenant_id))

    def put(start: int, count: int) -> None:
        for n in range(start, start + count):  # names as long as real ones
            name = f"part-{n:05d}-3f1c9a2e-7b4d-4e8a-9c1f-c000.snappy.parquet"
            (folder / name).write_bytes(data)

    # A first run makes the tables' first pages (and PostgreSQL's free-space maps): what any
    # store has, whatever it holds.
    put(FILES, 20)
    lf.run_flow(flow.id)
    before = store_bytes(lf)
    put(0, FILES)

    run = lf.run_flow(flow.id)

    assert run.status == "success" and run.metrics["fileSummary"]["inputFileCount"] == FILES
    after = store_bytes(lf)
    grown = {name: size - before.get(name, 0) for name, size in after.items()}
    bound = BOUND[lf.db.dialect.name]
    assert sum(grown.values()) <= bound * FILES, str({n: b / FILES for n, b in grown.items()})
    # Compact as the rows are, they still say which versions the flow ingested, and how.
    ledgered = lf.ledger.entries(flow.id)
    assert len(ledgered) == FILES + 20
    assert all(e.identity == identity_key(e.entry) and e.status == "committed" for e in ledgered)
    (batch,) = lf.batches.of_run(run.id)
    planned = lf.batches.files(batch.id)
    assert {f.entry for f in planned} == {e.entry for e in ledgered if e.batch_id == batch.id}
    assert {(f.status, f.records_in, f.records_out) for f in planned} == {("converted", 1, 1)}
    assert lf.run_flow(flow.id).metrics["fileSummary"].get("inputFileCount", 0) == 0


def test_a_file_version_reads_back_with_the_same_identity() -> None:
    """The compact columns keep what the identity is made of, to the microsecond."""
    versions = [
        FileEntry(path="b/k.parquet", size=7, mtime=to_utc("2026-12-05T10:31:00.123456Z")),
        FileEntry(path="b/k.parquet", size=7, mtime=to_utc(1_764_930_660), etag="e1"),
        FileEntry(path="/d/k.parquet", size=0, mtime=None, etag="e", version="3"),
        FileEntry(path="b/k.parquet", size=2**40, mtime=to_utc("1969-07-20T20:17:40+00:00")),
    ]
    for entry in versions:
        back = entry_from_columns(entry_columns(entry))
        assert back == entry and identity_key(back) == identity_key(entry)
    assert len({identity_key(e) for e in versions}) == len(versions)


def listed(count: int, prefix: str = "part") -> list[FileEntry]:
    return [
        FileEntry(path=f"/data/{prefix}-{n:05d}.parquet", size=100 + n, etag=f"e{n}")
        for n in range(count)
    ]


class LedgerSelects:
    """The SELECTs on ``file_ledger`` an engine runs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        self.engine = engine
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "file_ledger" in statement:
            self.count += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def ledger(lf: Lakefeed, flow: Flow, entries: list[FileEntry]) -> None:
    run = lf.runs.start(flow.id, {}, {})
    lf.completion.complete_batch(
        flow_id=flow.id,
        run_id=run.id,
        batch_id=None,
        committed=entries,
        failed=[],
        run_values={"state": "completed", "status": "success"},
    )


def test_planning_asks_the_ledger_once_per_page_of_the_listing(
    lf: Lakefeed, make_flow: Any
) -> None:
    """A no-op run's plan (nothing new) costs one ledger query per page of listed files,
    whatever the ledger holds: never one per file."""
    flow = make_flow(lf, "pages")
    done = listed(2 * LOOKUP_CHUNK + 1)
    ledger(lf, flow, done)
    ledger(lf, flow, listed(3 * LOOKUP_CHUNK, prefix="older"))  # not listed any more

    selects = LedgerSelects(lf.db)
    try:
        plan, failed = plan_run(lf.run_context, flow, iter(done))
    finally:
        selects.close()

    assert plan.take == [] and not failed
    assert plan.skipped == len(done)
    assert selects.count == 3  # ⌈1001 / 500⌉ pages
