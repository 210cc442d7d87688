"""The control-plane schema is versioned with Alembic, on SQLite and on PostgreSQL: an empty
database is upgraded to exactly the declared tables, a database at head opens with one query, a
database behind is upgraded at start or (``LAKEFEED_DATABASE_AUTO_UPGRADE=0``) refused without a
change, one ahead is refused, and processes starting at once on an empty database all succeed.
(A database made by lakefeed 0.1.0: test_migrations_release.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner, Result
from packaging.version import Version

from lakefeed import Lakefeed
from lakefeed.__about__ import __version__
from lakefeed.catalog import migrate
from lakefeed.catalog.store import connect, open_engine
from lakefeed.catalog.tables import metadata
from lakefeed.cli import _register_commands, cli
from lakefeed.config import Settings
from lakefeed.errors import DatabaseAhead, DatabaseBehind, DatabaseUnrecognised, InvalidRequest

# Their databases start with no table: they test the schema being made and migrated.
pytestmark = pytest.mark.empty_database

PROCESSES = 8


@pytest.fixture
def url() -> str:
    """The test's own empty database: a SQLite file in its home, or a PostgreSQL database."""
    return Settings.load().database_url


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """An engine on the database that creates and migrates nothing itself."""
    found = connect(url)
    yield found
    found.dispose()


def migrate_to(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    """Bring the database to ``revision`` with Alembic directly."""
    with engine.begin() as db:
        move = command.downgrade if down else command.upgrade
        move(migrate.alembic_config(db), revision)


def schema(engine: sa.Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability), keys and indexes, as the database reports them."""
    inspector = sa.inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
    }


def versions(engine: sa.Engine) -> list[str]:
    with engine.connect() as db:
        query = sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")
        return list(db.execute(query).scalars())


def lakefeed_cli(*args: str) -> Result:
    _register_commands()
    return CliRunner().invoke(cli, list(args))


# --- the scripts and the declared schema ------------------------------------------------------


def test_head_is_the_newest_script_and_0001_the_first() -> None:
    scripts = migrate.scripts()
    assert migrate.head() == migrate.HEAD == scripts.get_current_head()
    assert scripts.get_revision(migrate.RELEASE_REVISION).down_revision is None
    assert set(migrate._release_schema()) == migrate.RELEASE_TABLES


def test_this_lakefeed_is_newer_than_the_release_of_revision_0001() -> None:
    """Its schema moved past 0.1.0's, so its version did too: messages that name 0.1.0's
    schema must not describe this build as well. `lakefeed --version` and the tutorial say so."""
    assert Version(__version__) > Version(migrate.RELEASE_VERSION)
    assert lakefeed_cli("--version").output == f"lakefeed, version {__version__}\n"
    tutorial = Path(__file__).resolve().parents[3] / "docs" / "getting-started.md"
    assert f"lakefeed, version {__version__}\n" in tutorial.read_text()


def test_an_empty_database_is_upgraded_to_exactly_the_declared_tables(
    tmp_path: Path, engine: sa.Engine
) -> None:
    """Alembic's autogenerate, comparing the upgraded database with tables.py, finds nothing
    to do, on either engine; the Iceberg catalog's tables beside them are left alone."""
    Lakefeed().iceberg_catalog()  # pyiceberg's tables first, in the same database
    done = migrate.upgrade(engine)

    assert (done.before, done.after, done.upgraded, done.adopted) == (None, "0003", True, False)
    assert versions(engine) == ["0003"]
    with engine.connect() as db:
        options = {
            "include_object": migrate.include_object,
            "compare_type": True,
            "version_table": migrate.VERSION_TABLE,
        }
        context = MigrationContext.configure(db, opts=options)
        assert compare_metadata(context, metadata) == []
    tables = set(sa.inspect(engine).get_table_names())
    assert tables == {*metadata.tables, "lakefeed_alembic_version", *migrate.PYICEBERG_TABLES}


def test_revision_0002_adds_the_maintenance_column_and_goes_back(engine: sa.Engine) -> None:
    migrate_to(engine, "0001")
    before = schema(engine)
    assert "maintenance" not in [c[0] for c in before["datasets"]["columns"]]

    migrate_to(engine, "0002")
    after = schema(engine)
    assert after["datasets"]["columns"][-1][0::2] == ("maintenance", True)
    assert {t: s for t, s in after.items() if t != "datasets"} == {
        t: s for t, s in before.items() if t != "datasets"
    }

    migrate_to(engine, "0001", down=True)
    assert schema(engine) == before


def test_a_dataset_without_maintenance_settings_stores_null(url: str) -> None:
    """The new column: NULL (never JSON null) until maintenance is set."""
    from lakefeed.testing.profiles import create_profile_schema

    lf = Lakefeed()
    dataset = lf.datasets.create("people", create_profile_schema(lf.schemas)["$id"])
    with lf.db.connect() as db:
        found = db.execute(
            sa.text("SELECT count(*) FROM datasets WHERE id = :id AND maintenance IS NULL"),
            {"id": dataset.id},
        ).scalar()
    assert found == 1


# --- starting on a database at head, behind, ahead -------------------------------------------


def test_a_database_at_head_opens_with_one_query_and_without_alembic(
    url: str, engine: sa.Engine
) -> None:
    migrate.upgrade(engine)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        open_engine(url).dispose()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert statements == ["SELECT version_num FROM lakefeed_alembic_version"]

    # In a fresh process, opening it does not even import Alembic.
    probe = "import sys; from lakefeed.catalog.store import open_engine; open_engine(sys.argv[1])"
    probe += "; print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    out = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_database_behind_is_upgraded_when_lakefeed_opens_it(engine: sa.Engine) -> None:
    migrate_to(engine, "0001")

    assert Lakefeed().flows.list_flows() == []

    assert versions(engine) == ["0003"]
    assert "maintenance" in {c["name"] for c in sa.inspect(engine).get_columns("datasets")}


@pytest.mark.parametrize("start", ["0001", None])
def test_refusing_auto_upgrade_fails_clearly_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, start: str | None
) -> None:
    if start:
        migrate_to(engine, start)
    before = schema(engine)
    monkeypatch.setenv("LAKEFEED_DATABASE_AUTO_UPGRADE", "0")

    with pytest.raises(DatabaseBehind, match="lakefeed db upgrade") as refused:
        Lakefeed().flows.list_flows()
    assert "LAKEFEED_DATABASE_AUTO_UPGRADE=0" in str(refused.value)
    assert schema(engine) == before

    # What operators then run: `db current` says so, `db upgrade` upgrades, lakefeed starts.
    shown = lakefeed_cli("db", "current", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {
        "revision": start,
        "head": "0003",
        "state": "behind" if start else "empty",
        "upToDate": False,
    }
    upgraded = lakefeed_cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    expected = f"from revision {start} to 0003" if start else "at revision 0003."
    assert expected in upgraded.output
    assert Lakefeed().flows.list_flows() == []


def test_db_current_and_upgrade_print_the_revisions(engine: sa.Engine) -> None:
    migrate_to(engine, "0001")
    assert lakefeed_cli("db", "current").output.splitlines() == [
        "Revision: 0001",
        "Head:     0003",
        "Status:   behind: `lakefeed db upgrade` upgrades it",
    ]
    upgraded = lakefeed_cli("db", "upgrade", "--json")
    assert json.loads(upgraded.output) == {
        "from": "0001",
        "to": "0003",
        "upgraded": True,
        "unversioned": False,
    }
    again = lakefeed_cli("db", "upgrade")
    assert (again.exit_code, again.output) == (
        0,
        "The database schema is at revision 0003 already: nothing to do.\n",
    )
    assert json.loads(lakefeed_cli("db", "current", "--json").output)["upToDate"] is True
    assert versions(engine) == ["0003"]


def test_db_current_creates_no_home_and_no_database(tmp_path: Path, database_backend: str) -> None:
    """It only looks: a home without a database is reported as such, and stays absent (on
    PostgreSQL the empty database is reported empty; the home is not made either)."""
    home = tmp_path / "not-made-yet"
    shown = lakefeed_cli("--home", str(home), "db", "current", "--json")
    assert shown.exit_code == 0, shown.output
    state = "missing" if database_backend == "sqlite" else "empty"
    assert json.loads(shown.output) == {
        "revision": None,
        "head": "0003",
        "state": state,
        "upToDate": False,
    }
    plain = lakefeed_cli("--home", str(home), "db", "current")
    if database_backend == "sqlite":
        assert "Status:   no database yet" in plain.output
    assert not home.exists()


def test_a_revision_this_lakefeed_does_not_know_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str, engine: sa.Engine
) -> None:
    """A newer lakefeed upgraded the database: this one neither starts nor touches it."""
    migrate.upgrade(engine)
    with engine.begin() as db:
        db.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099'"))
    before = schema(engine)

    for auto_upgrade in ("1", "0"):
        monkeypatch.setenv("LAKEFEED_DATABASE_AUTO_UPGRADE", auto_upgrade)
        with pytest.raises(DatabaseAhead, match=r"revision 0099.*schema revisions include 0099"):
            Lakefeed().flows.list_flows()
    with pytest.raises(DatabaseAhead):
        migrate.upgrade(engine)
    refused = lakefeed_cli("db", "upgrade")
    assert refused.exit_code == 1 and "LF-1961" in refused.output
    shown = json.loads(lakefeed_cli("db", "current", "--json").output)
    assert (shown["revision"], shown["state"]) == ("0099", "ahead")
    assert schema(engine) == before and versions(engine) == ["0099"]


def test_unversioned_tables_that_are_not_lakefeed_s_are_refused(engine: sa.Engine) -> None:
    with engine.begin() as db:
        db.execute(sa.text("CREATE TABLE connections (id VARCHAR(36) PRIMARY KEY)"))
    before = schema(engine)

    with pytest.raises(DatabaseUnrecognised, match=r"missing table api_clients.* more"):
        migrate.upgrade(engine)
    assert schema(engine) == before


def test_a_failed_upgrade_leaves_the_database_as_it_was(engine: sa.Engine) -> None:
    """Another application's table holds an index name revision 0001 creates last but two:
    the upgrade fails there, and none of the tables it created before remain (on SQLite too,
    whose driver would commit each CREATE on its own). Its tables alone make no lakefeed
    database: it is upgraded as an empty one."""
    with engine.begin() as db:
        db.execute(sa.text("CREATE TABLE other_app (state VARCHAR(16))"))
        db.execute(sa.text("CREATE INDEX ix_schedule_windows_state ON other_app (state)"))
    assert migrate.status(engine).state == "empty"
    before = schema(engine)

    with pytest.raises(sa.exc.DBAPIError, match="ix_schedule_windows_state"):
        migrate.upgrade(engine)

    assert schema(engine) == before


def test_an_unversioned_database_missing_an_index_gets_it_when_stamped(
    engine: sa.Engine,
) -> None:
    """A development build of 0.1.0 that predates an index: the release added missing indexes
    at every start, and so does recognising its database."""
    migrate_to(engine, "0001")
    with engine.begin() as db:
        db.execute(sa.text("DROP INDEX ix_runs_state"))
        db.execute(sa.text(f"DROP TABLE {migrate.VERSION_TABLE}"))

    done = migrate.upgrade(engine)

    assert (done.before, done.after, done.adopted) == ("0001", "0003", True)
    assert "ix_runs_state" in {i["name"] for i in sa.inspect(engine).get_indexes("runs")}
    assert versions(engine) == ["0003"]


#: The revision another Alembic-managed application keeps in Alembic's default table.
OTHER_APP_REVISION = "3f2a1b9c0d1e"


def add_other_application(engine: sa.Engine) -> None:
    """Another application's tables in the same database (or PostgreSQL schema): Alembic's
    default ``alembic_version`` at its own revision, and an ``invoices`` table."""
    with engine.begin() as db:
        db.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS alembic_version "
                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
            )
        )
        db.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": OTHER_APP_REVISION})
        db.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, cents INTEGER)"))
        db.execute(sa.text("INSERT INTO invoices VALUES (1, 1250), (2, 9900)"))


def other_application_rows(engine: sa.Engine) -> tuple[list[str], list[tuple[int, int]]]:
    with engine.connect() as db:
        revisions = db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        invoices = db.execute(sa.text("SELECT id, cents FROM invoices ORDER BY id"))
        return list(revisions), [(row.id, row.cents) for row in invoices]


@pytest.mark.parametrize("first", ["other application", "lakefeed", "lakefeed 0.1.0"])
def test_another_alembic_application_s_tables_are_left_alone(engine: sa.Engine, first: str) -> None:
    """lakefeed records its revision in a table of its own: another application's
    ``alembic_version`` is neither read as lakefeed's (a "newer lakefeed", refused) nor
    written, whichever came first; and a 0.1.0 database beside it is still recognised."""
    if first == "lakefeed":
        assert Lakefeed().flows.list_flows() == []
    elif first == "lakefeed 0.1.0":
        migrate_to(engine, "0001")
        with engine.begin() as db:
            db.execute(sa.text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    add_other_application(engine)
    before = other_application_rows(engine)
    expected = {
        "other application": "empty",
        "lakefeed": "current",
        "lakefeed 0.1.0": "unversioned",
    }
    assert migrate.status(engine).state == expected[first]

    assert Lakefeed().flows.list_flows() == []  # opening upgrades it, if need be

    shown = lakefeed_cli("db", "current", "--json")
    assert json.loads(shown.output) == {
        "revision": "0003",
        "head": "0003",
        "state": "current",
        "upToDate": True,
    }
    assert versions(engine) == ["0003"]
    assert other_application_rows(engine) == before
    assert before == ([OTHER_APP_REVISION], [(1, 1250), (2, 9900)])


def test_the_auto_upgrade_switch_takes_on_and_off_words_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for raw, expected in (("", True), ("1", True), ("yes", True), ("0", False), ("OFF", False)):
        monkeypatch.setenv("LAKEFEED_DATABASE_AUTO_UPGRADE", raw)
        assert Settings.load().database_auto_upgrade is expected
    monkeypatch.setenv("LAKEFEED_DATABASE_AUTO_UPGRADE", "maybe")
    with pytest.raises(InvalidRequest, match="LAKEFEED_DATABASE_AUTO_UPGRADE='maybe'"):
        Settings.load()


# --- processes starting at once ---------------------------------------------------------------

#: Imports everything first, says it is ready, waits for the go file, then opens the database.
OPEN_AT_ONCE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import alembic.command, lakefeed.catalog.migrate
    from lakefeed.catalog.store import open_engine

    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ready.touch()
    deadline = time.monotonic() + 120
    while not go.exists():
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.001)
    open_engine(url).dispose()
    """
)


def test_processes_starting_at_once_on_an_empty_database_all_succeed(
    tmp_path: Path, url: str, engine: sa.Engine
) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, url, str(tmp_path / f"ready-{n}"), str(go)],
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("ready-*"))) < PROCESSES:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "the processes did not start"
            time.sleep(0.01)
        go.touch()
        results = [(p.wait(timeout=120), p.communicate(timeout=120)[1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()

    assert [(code, err[-2000:]) for code, err in results if code != 0] == []
    assert versions(engine) == ["0003"]
    assert migrate.status(engine).up_to_date
