"""Alembic revisions of the control-plane database schema, run by :mod:`lakefeed.catalog.migrate`.

To change the schema: change ``catalog/tables.py``; write ``versions/rNNNN_<what>.py`` with
``revision = "NNNN"`` and ``down_revision`` the previous head (``batch_alter_table`` where SQLite
cannot alter in place); set ``migrate.HEAD``. A revision, once released, never changes.
``tests/core/catalog/test_migrations.py`` checks, on SQLite and PostgreSQL, that upgrading an
empty database gives exactly ``tables.py`` (Alembic's autogenerate finds nothing to do).
"""
