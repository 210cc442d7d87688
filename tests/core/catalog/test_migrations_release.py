"""A database made by lakefeed 0.1.0 (tests/fixtures/lakefeed-0.1.0.db: no schema revision, rows
in every table) is recognised, upgraded to head without losing or changing a row, and read by
this lakefeed. On SQLite the file itself is upgraded; on PostgreSQL its rows are copied into a
database at revision 0001 first, and — what recognising an unversioned database takes there —
into one whose schema 0.1.0's own tables module created (tests/fixtures/lakefeed_0_1_0_tables.py),
without any revision."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from databases import fresh_postgres_database
from lakefeed import Lakefeed
from lakefeed.catalog import migrate
from lakefeed.catalog.ledger import entry_columns, identity_key
from lakefeed.catalog.records import Scope
from lakefeed.catalog.store import connect
from lakefeed.storage.entries import FileEntry, to_utc

# Their databases start with no table: they test the schema being made and migrated.
pytestmark = pytest.mark.empty_database

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RELEASE_DB = FIXTURES / "lakefeed-0.1.0.db"
RELEASE_KEY = FIXTURES / "lakefeed-0.1.0.key"
RELEASE_TABLES = FIXTURES / "lakefeed_0_1_0_tables.py"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the fixture's, made up

Rows = dict[str, list[dict[str, Any]]]


def dump(engine: sa.Engine) -> Rows:
    """Every row of every table but Alembic's, as Python values, in a stable order."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as db:
        return {
            name: sorted(
                (dict(row._mapping) for row in db.execute(sa.select(table))),
                key=lambda row: json.dumps(row, sort_keys=True, default=repr),
            )
            for name, table in sorted(tables.tables.items())
            if name != migrate.VERSION_TABLE
        }


def without_maintenance(rows: Rows) -> Rows:
    """``rows`` without the column revision 0002 added, which must be NULL in every row."""
    assert [row.pop("maintenance") for row in rows["datasets"]] == [None] * len(rows["datasets"])
    return rows


def at_head(rows: Rows) -> Rows:
    """``rows`` of revision 0001 as the head revision holds them: revision 0003 stores a file
    version of the ledger and of the batches' plans in compact columns, the ledger's key cut
    to its first 32 hex digits (so a ledgered file still matches it), no error as NULL."""

    def compact(row: dict[str, Any]) -> dict[str, Any]:
        entry = FileEntry(**{k: v for k, v in row.pop("entry").items() if k != "name"})
        entry = dataclasses.replace(entry, mtime=to_utc(entry.mtime))
        assert identity_key(entry) == row["identity"][:32]
        error = row.pop("error")
        if "identity" in row and "flow_id" not in row:
            row.pop("identity")  # batch_files: the key follows from the entry
        else:
            row["identity"] = identity_key(entry)
        return {**row, **entry_columns(entry), "error": error}

    converted = {**rows}
    for table in ("file_ledger", "batch_files"):
        converted[table] = sorted(
            (compact(dict(row)) for row in rows[table]),
            key=lambda row: json.dumps(row, sort_keys=True, default=repr),
        )
    return converted


def schema_of(engine: sa.Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)),
            sorted(
                (i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)
            ),
        )
        for table in sorted(inspector.get_table_names())
        if table not in migrate.PYICEBERG_TABLES and table != migrate.VERSION_TABLE
    }


@pytest.fixture
def release_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A copy of the fixture, opened without any migration."""
    path = tmp_path / "release.db"
    shutil.copyfile(RELEASE_DB, path)
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_the_fixture_is_0_1_0_s_schema_exactly_revision_0001(
    release_engine: sa.Engine, tmp_path: Path
) -> None:
    assert not sa.inspect(release_engine).has_table(migrate.VERSION_TABLE)
    fresh = connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    with fresh.begin() as db:
        command.upgrade(migrate.alembic_config(db), migrate.RELEASE_REVISION)
    assert schema_of(release_engine) == schema_of(fresh)
    fresh.dispose()


def test_a_release_database_is_upgraded_without_losing_or_changing_a_row(
    database_backend: str,
    release_engine: sa.Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = dump(release_engine)
    assert all(released.values()), [name for name, rows in released.items() if not rows]
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("LAKEFEED_SECRET_KEY_FILE", str(RELEASE_KEY))
    if database_backend == "sqlite":
        shutil.copyfile(release_engine.url.database or "", home / "lakefeed.db")
        lf = Lakefeed(home=home)
        at_0001 = released
    else:
        lf = Lakefeed(home=home)  # LAKEFEED_DATABASE_URL: an empty PostgreSQL database
        at_0001 = copy_into_postgres(lf, released)
    engine = connect(lf.settings.database_url)

    check_the_api_reads_them(lf)  # opening upgrades it

    assert migrate.current(engine) == migrate.HEAD and migrate.status(engine).up_to_date
    assert at_0001 == released
    assert without_maintenance(dump(engine)) == at_head(released)
    engine.dispose()


def copy_into_postgres(lf: Lakefeed, rows: Rows) -> Rows:
    """Bring the empty PostgreSQL database to revision 0001 (and the Iceberg catalog's tables),
    copy ``rows`` in, and return what it then holds."""
    lf.iceberg_catalog()
    engine = connect(lf.settings.database_url)
    with engine.begin() as db:
        command.upgrade(migrate.alembic_config(db), migrate.RELEASE_REVISION)
    engine.dispose()
    return copy_rows(lf, rows)


def release_metadata() -> sa.MetaData:
    """The tables of lakefeed 0.1.0's own ``lakefeed.catalog.tables``."""
    spec = importlib.util.spec_from_file_location("lakefeed_0_1_0_tables", RELEASE_TABLES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.metadata  # type: ignore[no-any-return]


def copy_rows(lf: Lakefeed, rows: Rows) -> Rows:
    """Copy ``rows`` into the database's lakefeed and Iceberg catalog tables, and return what it
    then holds."""
    engine = connect(lf.settings.database_url)
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.begin() as db:
        db.execute(sa.text("DELETE FROM iceberg_namespace_properties"))
        for name, table_rows in rows.items():
            # None as SQL NULL, not JSON null, as SQLite held it.
            values = [{k: sa.null() if v is None else v for k, v in r.items()} for r in table_rows]
            db.execute(tables.tables[name].insert().values(values))
    found = dump(engine)
    engine.dispose()
    return found


def test_a_release_database_without_a_revision_is_recognised_and_upgraded(
    release_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema made by 0.1.0's own tables module (``create_all``, as 0.1.0 did at start) on
    this test's database — on PostgreSQL too, where no release database file exists — holding
    the fixture's rows and no revision: recognised as 0.1.0's, stamped 0001 and upgraded, with
    every row as it was. It is the schema revision 0001 creates, on this database too."""
    released = dump(release_engine)
    monkeypatch.setenv("LAKEFEED_SECRET_KEY_FILE", str(RELEASE_KEY))
    lf = Lakefeed(home=tmp_path / "home")
    lf.iceberg_catalog()  # pyiceberg's tables, as 0.1.0 made them beside its own
    engine = connect(lf.settings.database_url)
    release_metadata().create_all(engine)
    at_release = copy_rows(lf, released)
    assert not sa.inspect(engine).has_table(migrate.VERSION_TABLE)
    assert migrate.status(engine).state == "unversioned"
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'revision-0001.db'}"
        if engine.dialect.name == "postgresql":
            url = stack.enter_context(fresh_postgres_database(empty=True))
        revision_0001 = connect(url)
        with revision_0001.begin() as db:
            command.upgrade(migrate.alembic_config(db), migrate.RELEASE_REVISION)
        assert schema_of(engine) == schema_of(revision_0001)
        revision_0001.dispose()

    check_the_api_reads_them(lf)  # opening recognises it and upgrades it

    assert migrate.current(engine) == migrate.HEAD and migrate.status(engine).up_to_date
    assert at_release == released
    assert without_maintenance(dump(engine)) == at_head(released)
    engine.dispose()


def check_the_api_reads_them(lf: Lakefeed) -> None:
    flows = {flow.name: flow for flow in lf.flows.list_flows()}
    assert len(flows) == 3 and "raw-hourly" in flows
    hourly = flows.pop("raw-hourly")
    assert hourly.schedule_params["frequency"] == "hour"
    assert [w.state for w in lf.windows.of_flow(hourly.id)] == ["running"]

    runs = lf.runs.list()
    assert sorted(run.status for run in runs) == ["success", "success"]
    ledger = {
        Path(entry.path).name: entry.status
        for flow in flows.values()
        for entry in lf.ledger.entries(flow.id)
    }
    assert ledger == {
        "a.csv": "committed",
        "b.csv": "committed",
        "good.parquet": "committed",
        "broken.parquet": "failed",
    }
    # Each ledgered version still matches the file it names: a next run skips it.
    for flow in flows.values():
        entries = lf.ledger.entries(flow.id)
        known = lf.ledger.lookup(flow.id, [identity_key(e.entry) for e in entries]).known
        assert known == {e.identity for e in entries} and len(known) == len(entries)
    rejected = [error for run in runs if run.batch_id for error in lf.row_errors.list(run.batch_id)]
    assert [Path(error.source_file).name for error in rejected] == ["a.csv"]
    assert sorted(d.name for d in lf.datasets.records.list()) == ["notes", "raw"]
    assert lf.connection("s3-raw").auth["s3SecretKey"] == S3_SECRET
    (mapping,) = lf.mapping_sets()
    assert mapping.version == 1 and len(lf.mapping_set(mapping.id, 0).mappings) == 1
    assert [c.name for c in lf.scoped(Scope(sandbox_name="dev")).connections.list()] == ["dev-raw"]
    assert lf.auth.sandboxes("local") == ["dev", "prod"]
