"""Alembic's environment: lakefeed runs migrations on a connection it hands over
(:func:`lakefeed.catalog.migrate.alembic_config`), inside its own transaction."""

from alembic import context

from lakefeed.catalog.migrate import VERSION_TABLE, include_object
from lakefeed.catalog.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "lakefeed's migrations run through lakefeed: `lakefeed db upgrade`, or "
        "lakefeed.catalog.migrate.upgrade(engine)."
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,  # not alembic_version: another application's may be there
    include_object=include_object,
    render_as_batch=True,  # SQLite alters most things by copying the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
