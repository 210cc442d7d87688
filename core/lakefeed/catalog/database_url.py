"""The control-plane database's URL: making an engine of it, and reaching the database it names,
with failures reported as :class:`~lakefeed.errors.DatabaseUrlInvalid` and
:class:`~lakefeed.errors.DatabaseUnreachable` — never with the password."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from lakefeed.errors import DatabaseUnreachable, DatabaseUrlInvalid

#: The forms a database URL takes, as errors quote them.
URL_FORMS = (
    "postgresql+psycopg://user:password@host:5432/database (PostgreSQL) or "
    "sqlite:////absolute/path/lakefeed.db (SQLite)"
)
#: Seconds a busy SQLite database (another process migrating it) is waited for.
BUSY_SECONDS = 30.0
#: The password of a URL that could not be parsed: between ``user:`` and the last ``@``.
_PASSWORD = re.compile(r"(?<=://)([^/:@]*):.*@")


def create_engine(url: str, **options: Any) -> sa.Engine:
    """``sa.create_engine(url, **options)``, with a URL that names no dialect, an uninstalled
    driver or a malformed port as :class:`DatabaseUrlInvalid`."""
    try:
        return sa.create_engine(url, **options)
    except sa.exc.NoSuchModuleError:
        scheme = url.split("://", 1)[0]
        hint = (
            " (SQLAlchemy spells PostgreSQL's postgresql+psycopg)" if scheme == "postgres" else ""
        )
        raise _invalid(url, f"no database dialect is called {scheme!r}{hint}") from None
    except sa.exc.ArgumentError:
        raise _invalid(url, "it is not a SQLAlchemy database URL") from None
    except ValueError as exc:  # the port: int('notaport')
        why = _reason(exc, url_password(url))
        raise _invalid(url, f"a part of it is malformed ({why})") from None
    except ImportError as exc:
        raise _invalid(url, f"its driver is not installed ({exc.name or exc})") from None


def reach(engine: sa.Engine) -> None:
    """Open (and give back to the pool) one connection to ``engine``'s database: a server that
    refuses or does not answer, a wrong user or password, a database that does not exist, a
    SQLite file that cannot be opened is :class:`DatabaseUnreachable`. (A file that is not a
    database is not unreachable: its error goes on as the driver raised it.)"""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            engine.connect().close()
            return
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            # SQLite answers "database is locked" to the connection's PRAGMAs while another
            # process creates or migrates the schema (several starting at once): busy, not
            # unreachable.
            if "locked" in str(exc.orig or exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise unreachable(engine.url, exc.orig or exc) from exc


def unreachable(url: sa.URL, exc: BaseException) -> DatabaseUnreachable:
    """``exc``, raised by the driver connecting to ``url``, as :class:`DatabaseUnreachable`."""
    reason = _reason(exc, url.password)
    if url.get_backend_name() == "sqlite":
        what = f"the SQLite database {url.database or ':memory:'}"
        fix = (
            "Check that its folder exists and that this user may read and write it (and the "
            "file), or point LAKEFEED_DATABASE_URL or LAKEFEED_HOME elsewhere."
        )
    else:
        place = ", ".join(
            f"{name} {value}"
            for name, value in (("host", url.host), ("port", url.port), ("database", url.database))
            if value is not None
        )
        what = f"the database {url.render_as_string(hide_password=True)} ({place})"
        fix = (
            "Check LAKEFEED_DATABASE_URL (host, port, database, user and password) and that "
            "the database server runs, accepts connections from this machine, and has that "
            "database."
        )
    return DatabaseUnreachable(f"Cannot connect to {what}: {reason}.", fix=fix)


def read_only_sqlite_url(path: Path) -> str:
    """A URL that opens the SQLite file at ``path`` read-only (no write, no journal, and no
    file created when it is missing)."""
    return f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true"


def redacted(url: str) -> str:
    """``url`` as written, parseable or not, with everything between ``user:`` and the last
    ``@`` hidden (a password with an unescaped ``@`` too)."""
    return _PASSWORD.sub(r"\1:***@", url)


def url_password(url: str) -> str | None:
    """The password of a database URL as written, parseable or not (None: it has none)."""
    found = _PASSWORD.search(url)
    return found.group(0).split(":", 1)[1][:-1] if found else None


def _invalid(url: str, why: str) -> DatabaseUrlInvalid:
    return DatabaseUrlInvalid(
        f"The database URL {redacted(url)} (LAKEFEED_DATABASE_URL) cannot be used: {why}.",
        fix=f"Write it as {URL_FORMS}.",
    )


def _reason(exc: BaseException, secret: str | None) -> str:
    """The driver's message on one line, without ``secret`` (the password) in any spelling."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        for spelling in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(spelling, "***")
    return text.rstrip(".")
