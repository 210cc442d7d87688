"""The schema of lakefeed 0.1.0, which made it with ``create_all`` (no revision recorded).

Revision ID: 0001
Revises: (none)

Written out, never derived from ``tables.py``: that module moves on, this revision does not.
A database 0.1.0 made is recognised by these tables and stamped ``0001``
(:func:`lakefeed.catalog.migrate.upgrade`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("api_key", sa.String(length=64), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("sandboxes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("api_key"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("api_key", sa.String(length=64), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_api_key", "api_tokens", ["api_key"], unique=False)
    op.create_table(
        "batch_files",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("records_in", sa.BigInteger(), nullable=False),
        sa.Column("records_out", sa.BigInteger(), nullable=False),
        sa.Column("records_failed", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "path"),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("data_prefix", sa.String(length=1024), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_dataset_id", "batches", ["dataset_id"], unique=False)
    op.create_index("ix_batches_run_id", "batches", ["run_id"], unique=False)
    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("connection_spec_id", sa.String(length=64), nullable=False),
        sa.Column("connection_spec_version", sa.String(length=16), nullable=False),
        sa.Column("auth_spec_name", sa.String(length=255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ims_org_id", "sandbox_name", "name", name="uq_connection_name"),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("schema_id", sa.String(length=512), nullable=False),
        sa.Column("schema_content_type", sa.String(length=255), nullable=False),
        sa.Column("table_identifier", sa.String(length=512), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ims_org_id", "sandbox_name", "name", name="uq_dataset_name"),
    )
    op.create_table(
        "file_ledger",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "identity"),
    )
    op.create_table(
        "flow_backlog",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("files", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("oldest_mtime", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id"),
    )
    op.create_table(
        "flows",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("flow_spec_id", sa.String(length=64), nullable=False),
        sa.Column("flow_spec_version", sa.String(length=16), nullable=False),
        sa.Column("source_connection_ids", sa.JSON(), nullable=False),
        sa.Column("target_connection_ids", sa.JSON(), nullable=False),
        sa.Column("schedule_params", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("transformations", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flows_name", "flows", ["name", "ims_org_id", "sandbox_name"], unique=False)
    op.create_index("ix_flows_state", "flows", ["state"], unique=False)
    op.create_table(
        "mapping_sets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    op.create_index(
        "ix_mapping_sets_scope", "mapping_sets", ["ims_org_id", "sandbox_name"], unique=False
    )
    op.create_table(
        "registry_resources",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("alt_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ims_org_id", "sandbox_name", "alt_id", name="uq_registry_alt_id"),
    )
    op.create_table(
        "row_errors",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source_file", sa.String(length=2048), nullable=False),
        sa.Column("row_index", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "seq"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("activities", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_flow_created", "runs", ["flow_id", "created_at"], unique=False)
    op.create_index("ix_runs_flow_id", "runs", ["flow_id"], unique=False)
    op.create_index("ix_runs_state", "runs", ["state"], unique=False)
    op.create_table(
        "sandboxes",
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ims_org_id", "name"),
    )
    op.create_table(
        "schedule_windows",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("previous_end", sa.BigInteger(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=True),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("takeovers", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("flow_id", "window_end"),
        sa.UniqueConstraint("flow_id", "previous_end", name="uq_schedule_window_chain"),
    )
    op.create_index("ix_schedule_windows_state", "schedule_windows", ["state"], unique=False)
    op.create_table(
        "source_connections",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("base_connection_id", sa.String(length=36), nullable=False),
        sa.Column("connection_spec_id", sa.String(length=64), nullable=False),
        sa.Column("connection_spec_version", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_source_connections_name",
        "source_connections",
        ["name", "ims_org_id", "sandbox_name"],
        unique=False,
    )
    op.create_table(
        "target_connections",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("ims_org_id", sa.String(length=255), nullable=False),
        sa.Column("sandbox_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("base_connection_id", sa.String(length=36), nullable=True),
        sa.Column("connection_spec_id", sa.String(length=64), nullable=False),
        sa.Column("connection_spec_version", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_target_connections_name",
        "target_connections",
        ["name", "ims_org_id", "sandbox_name"],
        unique=False,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table("target_connections")
    op.drop_table("source_connections")
    op.drop_table("schedule_windows")
    op.drop_table("sandboxes")
    op.drop_table("runs")
    op.drop_table("row_errors")
    op.drop_table("registry_resources")
    op.drop_table("mapping_sets")
    op.drop_table("flows")
    op.drop_table("flow_backlog")
    op.drop_table("file_ledger")
    op.drop_table("datasets")
    op.drop_table("connections")
    op.drop_table("batches")
    op.drop_table("batch_files")
    op.drop_table("api_tokens")
    op.drop_table("api_clients")
