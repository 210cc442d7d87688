"""The control-plane databases the database-dependent tests run on: SQLite (the embedded
default, a file in the test's home) and PostgreSQL (a fresh database per test on the server
``tests/servers/start.sh`` runs, ``LAKEFEED_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql")

#: Test folders (relative to tests/) and modules whose tests run once per backend: the stores,
#: the scheduler and the REST API.
DATABASE_TESTS = (
    "api/",
    "compat/",
    "core/catalog/",
    "core/scheduling/",
    "core/test_connections_store.py",
    "core/test_flow_resources.py",
    "core/test_concurrent_first_use.py",
    "core/test_run_liveness.py",
    "core/test_labels.py",
    "core/flows/test_commit_outcome.py",
)


def server_url() -> str:
    url = os.environ.get("LAKEFEED_TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError(
            "LAKEFEED_TEST_POSTGRES_URL is not set: start the test servers "
            "(bash tests/servers/start.sh) and source their env file, or run make test."
        )
    return url


@contextmanager
def fresh_postgres_database(prefix: str = "lf_test") -> Iterator[str]:
    """A new, empty PostgreSQL database for as long as the block runs; dropped after, with
    any connection still open to it."""
    base = sa.make_url(server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as db:
            # A production cluster sorts text by a language's rules (en_US.UTF-8 and the
            # like), not byte by byte as SQLite does: test on such a collation.
            db.execute(
                sa.text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                    "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            )
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
