"""Whether the control-plane database can serve: it answers a trivial query and its schema is
at this lakefeed's revision (``GET /readyz``). The failure names the state and the fix, never
the database (URL, host, driver message): those go to the log, with the password hidden."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from lakefeed.catalog import migrate
from lakefeed.catalog.database_url import unreachable
from lakefeed.errors import DatabaseAhead, DatabaseBehind, DatabaseUnreachable, LakefeedError

log = logging.getLogger("lakefeed.api")


@dataclass(frozen=True)
class DatabaseReadiness:
    """``state``: ``current``, ``unreachable``, ``behind``, ``ahead``, ``empty`` or
    ``unversioned``; ``error`` when it is not ``current``."""

    state: str
    error: LakefeedError | None = None

    @property
    def ready(self) -> bool:
        return self.error is None


def database_readiness(engine: sa.Engine) -> DatabaseReadiness:
    """One trivial query, then the schema revision (one more query; the slow look only when
    it is not at head)."""
    try:
        with engine.connect() as db:
            db.execute(sa.text("SELECT 1"))
        if migrate.at_head(engine):
            return DatabaseReadiness("current")
        found = migrate.status(engine)
    except sa.exc.SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig else exc
        log.warning("not ready: %s", unreachable(engine.url, cause))
        return DatabaseReadiness(
            "unreachable",
            DatabaseUnreachable(
                "The control-plane database does not answer (the server's log says why).",
                fix="Check that the database server runs and accepts this server's connections "
                "with the user and password of LAKEFEED_DATABASE_URL, and that its database "
                "(or SQLite file) exists and is readable.",
            ),
        )
    if found.up_to_date:  # upgraded between the two looks
        return DatabaseReadiness("current")
    log.warning("not ready: the database schema is %s (%s)", found.state, found.revision)
    return DatabaseReadiness(found.state, _schema_error(found))


def _schema_error(found: migrate.SchemaStatus) -> LakefeedError:
    if found.state == "ahead":
        return DatabaseAhead(
            f"The database schema is at revision {found.revision}, which this server (schema "
            f"revisions up to {found.head}) does not know: a newer lakefeed has upgraded it.",
            fix="Upgrade this server to the lakefeed that upgraded the database (or a later "
            "one); lakefeed never downgrades a database.",
        )
    return DatabaseBehind(
        f"The database schema is {found.state} (revision {found.revision or 'none'}); this "
        f"server needs revision {found.head}.",
        fix="Back the database up and run `lakefeed db upgrade`.",
    )
