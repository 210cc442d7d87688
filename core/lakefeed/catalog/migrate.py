"""The revision of the control-plane database schema, and upgrading it with Alembic.

The revisions are the scripts in ``migrations/versions`` (shipped in the package; Alembic is
configured here, in code, with no ``alembic.ini``). Revision ``0001`` is the schema lakefeed
0.1.0 made with ``create_all``, before migrations existed: such a database has no version
table, and is recognised by its tables and stamped ``0001`` before it is upgraded. The revision
is kept in a version table of lakefeed's own (:data:`VERSION_TABLE`), not Alembic's default
``alembic_version``, so another Alembic-managed application can share the database (or
PostgreSQL schema): its ``alembic_version`` is just another application's table here. A start
reads the database's revision with one query; at :data:`HEAD` that is all it costs, and Alembic
is not even imported.

Concurrent upgrades of one database (several processes starting on an empty one) are made safe
by the caller on SQLite (an exclusive lock on the database's folder,
:func:`lakefeed.catalog.creation.create_schema`) and here: an upgrade runs in one transaction —
on SQLite ``BEGIN IMMEDIATE`` (SQLite then has transactional DDL), on PostgreSQL holding a
transaction-level advisory lock — and reads the revision again inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from lakefeed.catalog.creation import sqlite_path
from lakefeed.errors import DatabaseAhead, DatabaseBehind, DatabaseUnrecognised

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: The newest revision in ``migrations/versions`` (a test holds them equal): a database here
#: needs no Alembic at all.
HEAD = "0003"
#: The revision of the schema lakefeed 0.1.0 created without Alembic.
RELEASE_REVISION = "0001"
RELEASE_VERSION = "0.1.0"
#: Where lakefeed records its revision (Alembic's ``version_table``): never Alembic's default
#: ``alembic_version``, which another application's migrations may own in the same database.
VERSION_TABLE = "lakefeed_alembic_version"
#: The tables lakefeed 0.1.0 made (revision ``0001``; a test holds them equal): one of them in a
#: database without a revision is taken for that release's.
RELEASE_TABLES = frozenset(
    {
        "api_clients",
        "api_tokens",
        "batch_files",
        "batches",
        "connections",
        "datasets",
        "file_ledger",
        "flow_backlog",
        "flows",
        "mapping_sets",
        "registry_resources",
        "row_errors",
        "runs",
        "sandboxes",
        "schedule_windows",
        "source_connections",
        "target_connections",
    }
)
#: Tables of the Iceberg SQL catalog, which pyiceberg creates in the same database by default:
#: pyiceberg's to manage, never lakefeed's migrations'.
PYICEBERG_TABLES = frozenset({"iceberg_tables", "iceberg_namespace_properties"})
#: PostgreSQL advisory lock key held while a database is upgraded ('lakefeed' in ASCII).
ADVISORY_LOCK_KEY = 0x6C616B6566656564
#: Seconds an upgrade on SQLite waits for another writer (the engine's busy timeout).
SQLITE_TIMEOUT = 30

MIGRATIONS = Path(__file__).with_name("migrations")
_SELECT_REVISION = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")

SchemaState = Literal["current", "behind", "ahead", "empty", "unversioned", "missing"]


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this lakefeed's migrations."""

    #: The revision recorded in the database; None when none is (empty, or made by 0.1.0).
    revision: str | None
    head: str
    #: ``current``: at head; ``behind``: at an older revision; ``ahead``: at a revision this
    #: lakefeed does not know (a newer one upgraded it); ``empty``: no lakefeed tables yet;
    #: ``unversioned``: lakefeed 0.1.0's tables, without a revision (taken as ``0001``);
    #: ``missing``: no database at all yet (a SQLite file that does not exist).
    state: SchemaState

    @property
    def up_to_date(self) -> bool:
        return self.state == "current"

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "head": self.head,
            "state": self.state,
            "upToDate": self.up_to_date,
        }


@dataclass(frozen=True)
class SchemaUpgrade:
    """What an upgrade did: from which revision (None: an empty database) to which."""

    before: str | None
    after: str
    #: The database was lakefeed 0.1.0's, without a revision: recognised and stamped ``0001``.
    adopted: bool = False

    @property
    def upgraded(self) -> bool:
        return self.before != self.after

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.before,
            "to": self.after,
            "upgraded": self.upgraded,
            "unversioned": self.adopted,
        }


def head() -> str:
    """The newest revision this lakefeed has."""
    return HEAD


def current(engine: sa.Engine) -> str | None:
    """The revision recorded in the database (one query); None when none is."""
    revisions = _recorded(engine)
    return revisions[0] if revisions else None


def at_head(engine: sa.Engine) -> bool:
    """Whether the database is at :data:`HEAD`: the one query every start runs."""
    return _recorded(engine) == [HEAD]


def status(engine: sa.Engine) -> SchemaStatus:
    """Where the database's schema stands (no change made)."""
    with engine.connect() as db:
        return _status(db)


def check(engine: sa.Engine) -> None:
    """Raise unless the database is at :data:`HEAD`: :class:`DatabaseAhead` for a revision
    this lakefeed does not know, :class:`DatabaseBehind` for an older (or no) schema."""
    if at_head(engine):
        return
    found = status(engine)
    _refuse_unknown(found)
    if not found.up_to_date:
        raise _behind(found)


def upgrade(engine: sa.Engine) -> SchemaUpgrade:
    """Upgrade the database to :data:`HEAD` in one transaction: create the schema of an empty
    database, recognise lakefeed 0.1.0's (stamped ``0001``, then upgraded), refuse one at a
    revision this lakefeed does not know (:class:`DatabaseAhead`). Safe to run again, and
    from several processes at once."""
    from alembic import command

    with _migration_transaction(engine) as db:
        found = _status(db)  # again, now that this process holds the lock
        if found.up_to_date:
            return SchemaUpgrade(HEAD, HEAD)
        _refuse_unknown(found)
        config = alembic_config(db)
        before = found.revision
        if found.state == "unversioned":
            _adopt_release(db, config)
            before = RELEASE_REVISION
        command.upgrade(config, HEAD)
    return SchemaUpgrade(before, HEAD, adopted=found.state == "unversioned")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration for lakefeed's scripts, migrating over ``connection`` (in its
    transaction: ``migrations/env.py`` takes it from ``attributes``)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def scripts() -> ScriptDirectory:
    """The revision scripts shipped with this lakefeed."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: the Iceberg catalog's tables (and their indexes) are pyiceberg's,
    never compared, altered or dropped by lakefeed's migrations."""
    if type_ == "table":
        return name not in PYICEBERG_TABLES
    table = getattr(obj, "table", None)
    return getattr(table, "name", None) not in PYICEBERG_TABLES


# --- reading the state ------------------------------------------------------------------------


def _recorded(engine: sa.Engine) -> list[str] | None:
    """The revisions in :data:`VERSION_TABLE`; None when the table is missing."""
    try:
        with engine.connect() as db:
            return list(db.execute(_SELECT_REVISION).scalars())
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # no such table (or no database): the slow path finds out which


def _status(db: sa.Connection) -> SchemaStatus:
    inspector = sa.inspect(db)
    tables = set(inspector.get_table_names())
    revisions: list[str] = []
    if VERSION_TABLE in tables:
        revisions = list(db.execute(_SELECT_REVISION).scalars())
    if not revisions:
        # Other tables (the Iceberg catalog's, another application's) do not make it lakefeed's.
        state: SchemaState = "unversioned" if tables & RELEASE_TABLES else "empty"
        return SchemaStatus(None, HEAD, state)
    if revisions == [HEAD]:
        return SchemaStatus(HEAD, HEAD, "current")
    known = len(revisions) == 1 and _known(revisions[0])
    return SchemaStatus(", ".join(revisions), HEAD, "behind" if known else "ahead")


def _known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _refuse_unknown(found: SchemaStatus) -> None:
    if found.state == "ahead":
        raise DatabaseAhead(
            f"The database schema is at revision {found.revision}, which this lakefeed (schema "
            f"revisions up to {HEAD}) does not know: a newer lakefeed has upgraded it. Nothing "
            "was changed.",
            fix=f"Run a lakefeed whose schema revisions include {found.revision} (the one that "
            "upgraded the database, or a later one: `lakefeed db current` prints its head); "
            "lakefeed never downgrades a database.",
        )


def _behind(found: SchemaStatus) -> DatabaseBehind:
    if found.state == "empty":
        what = "The database has no lakefeed tables yet"
    elif found.state == "unversioned":
        what = (
            f"The database schema is at revision {RELEASE_REVISION}, not recorded (lakefeed "
            f"{RELEASE_VERSION}'s schema)"
        )
    else:
        what = f"The database schema is at revision {found.revision}"
    return DatabaseBehind(
        f"{what}; this lakefeed needs revision {HEAD}, and LAKEFEED_DATABASE_AUTO_UPGRADE=0 "
        "forbids upgrading it at start. Nothing was changed.",
        fix="Back the database up and run `lakefeed db upgrade`, or unset "
        "LAKEFEED_DATABASE_AUTO_UPGRADE to upgrade at start.",
    )


# --- upgrading --------------------------------------------------------------------------------


@contextmanager
def _migration_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that no other upgrade of the database runs beside."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "sqlite" and path is not None:
        with _sqlite_transaction(engine) as db:
            yield db
        return
    with engine.begin() as db:
        if engine.dialect.name == "postgresql":
            db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        yield db


@contextmanager
def _sqlite_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction on the SQLite file of ``engine`` that holds SQLite's write lock from its
    start and includes DDL (Python's sqlite3 commits before DDL on its own otherwise), on a
    connection of its own: a crash half-way leaves the schema as it was."""
    migrator = sa.create_engine(
        engine.url, poolclass=sa.pool.NullPool, connect_args={"timeout": SQLITE_TIMEOUT}
    )

    @sa.event.listens_for(migrator, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # lakefeed says when transactions begin
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(migrator, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrator.begin() as db:
            yield db
    finally:
        migrator.dispose()


def _adopt_release(db: sa.Connection, config: Config) -> None:
    """Stamp a database lakefeed 0.1.0 made (no revision) as ``0001``, once it is checked to
    have that schema's tables and columns; indexes it lacks (a development build's database)
    are added, as 0.1.0 itself did at every start."""
    from alembic import command

    expected = _release_schema()
    inspector = sa.inspect(db)
    present = set(inspector.get_table_names())
    problems = [f"table {name}" for name in sorted(set(expected) - present)]
    for name in sorted(set(expected) & present):
        columns = {column["name"] for column in inspector.get_columns(name)}
        problems += [f"column {name}.{c}" for c in sorted(expected[name].columns - columns)]
    if problems:
        raise DatabaseUnrecognised(
            "The database has lakefeed tables but no schema revision, and they are not lakefeed "
            f"{RELEASE_VERSION}'s: missing {', '.join(problems[:10])}"
            + (f" and {len(problems) - 10} more" if len(problems) > 10 else "")
            + ". Nothing was changed.",
            fix="Point LAKEFEED_DATABASE_URL at a lakefeed database (or an empty one), or "
            "restore this one from a backup.",
        )
    for name, table in expected.items():
        have = {index["name"] for index in inspector.get_indexes(name)}
        for index, indexed in table.indexes.items():
            if index not in have:
                bare = sa.Table(name, sa.MetaData(), *(sa.Column(c) for c in indexed))
                db.execute(sa.schema.CreateIndex(sa.Index(index, *bare.c), if_not_exists=True))
    command.stamp(config, RELEASE_REVISION)


@dataclass(frozen=True)
class _TableShape:
    columns: frozenset[str]
    indexes: dict[str, tuple[str, ...]]


def _release_schema() -> dict[str, _TableShape]:
    """The tables, columns and indexes revision ``0001`` creates (built in an in-memory SQLite
    database from the script itself, so the two cannot differ)."""
    from alembic import command

    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as db:
            command.upgrade(alembic_config(db), RELEASE_REVISION)
            inspector = sa.inspect(db)
            return {
                name: _TableShape(
                    frozenset(column["name"] for column in inspector.get_columns(name)),
                    {
                        str(index["name"]): tuple(str(c) for c in index["column_names"])
                        for index in inspector.get_indexes(name)
                    },
                )
                for name in inspector.get_table_names()
                if name != VERSION_TABLE
            }
    finally:
        engine.dispose()
