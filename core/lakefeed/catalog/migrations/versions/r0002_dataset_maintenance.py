"""Datasets get ``maintenance``: their scheduled table-maintenance settings (NULL: none).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column with no default: SQLite adds it in place, no table copy.
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("maintenance", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("maintenance")
