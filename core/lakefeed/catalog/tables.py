"""SQLAlchemy Core tables of the control-plane store (SQLite by default, PostgreSQL-ready)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("sandbox_name", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("connection_spec_id", sa.String(64), nullable=False),
    sa.Column("connection_spec_version", sa.String(16), nullable=False),
    sa.Column("auth_spec_name", sa.String(255), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),  # non-secret auth params
    sa.Column("secrets", sa.LargeBinary, nullable=False),  # Fernet token of the secret params
    sa.Column("state", sa.String(16), nullable=False, default="enabled"),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # epoch milliseconds
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ims_org_id", "sandbox_name", "name", name="uq_connection_name"),
)
