"""``lakefeed db current|upgrade``: the control-plane database's schema revision, and upgrading
it by hand. Both work whatever ``LAKEFEED_DATABASE_AUTO_UPGRADE`` says: they are how operators
who refuse upgrades at start migrate."""

from __future__ import annotations

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, json_option

#: What ``db current`` says of each state of the schema.
STATES = {
    "current": "up to date",
    "behind": "behind: `lakefeed db upgrade` upgrades it",
    "empty": "empty (no lakefeed tables): `lakefeed db upgrade` creates them",
    "unversioned": "revision 0001, not recorded (lakefeed 0.1.0's schema): `lakefeed db "
    "upgrade` upgrades it",
    "ahead": "at a revision this lakefeed does not know (a newer lakefeed upgraded it): run a "
    "lakefeed whose revisions include it",
    "missing": "no database yet (its SQLite file does not exist): `lakefeed db upgrade`, or "
    "any command that opens the database, creates it",
}


@click.group("db")
def db() -> None:
    """The control-plane database: its schema revision, and upgrades."""


@db.command("current")
@json_option
def current(as_json: bool) -> None:
    """Print the database's schema revision, this lakefeed's newest (head), and whether the
    database is up to date. Changes nothing, and creates nothing (no home, no SQLite file)."""
    status = engine().database_schema()
    if as_json:
        emit_json(status.to_dict())
        return
    out = console()
    out.print(f"Revision: {status.revision or 'none'}", markup=False)
    out.print(f"Head:     {status.head}", markup=False)
    out.print(f"Status:   {STATES[status.state]}", markup=False)


@db.command("upgrade")
@json_option
def upgrade(as_json: bool) -> None:
    """Upgrade the database schema to this lakefeed's revision (creating it in an empty
    database). Nothing to do when it is there already."""
    done = engine().upgrade_database()
    if as_json:
        emit_json(done.to_dict())
        return
    if not done.upgraded:
        message = f"The database schema is at revision {done.after} already: nothing to do."
    elif done.before is None:
        message = f"Created the database schema at revision {done.after}."
    else:
        message = f"Upgraded the database schema from revision {done.before} to {done.after}."
        if done.adopted:
            message += (
                f" (The database had no revision recorded: its tables were recognised as "
                f"revision {done.before}, lakefeed 0.1.0's schema.)"
            )
    console().print(message, markup=False)
