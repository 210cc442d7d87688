"""SQLAlchemy Core tables of the control-plane store (SQLite by default, PostgreSQL-ready).

Databases get this schema through the Alembic revisions in ``migrations/versions``, never from
``create_all``: a change here goes with a new revision (see ``migrations/__init__.py``)."""

from __future__ import annotations

from typing import Any

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


def _scoped(name: str, *columns: Any) -> sa.Table:
    """A Flow Service resource table: id, org, sandbox, etag and audit times, then ``columns``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("ims_org_id", sa.String(255), nullable=False),
        sa.Column("sandbox_name", sa.String(255), nullable=False),
        *columns,
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # epoch milliseconds
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


# Schema Registry: tenant schemas, classes, field groups and data types (XDM JSON documents).
registry_resources = _scoped(
    "registry_resources",
    sa.Column("kind", sa.String(16), nullable=False),  # schemas|classes|fieldgroups|datatypes
    sa.Column("alt_id", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.UniqueConstraint("ims_org_id", "sandbox_name", "alt_id", name="uq_registry_alt_id"),
)

datasets = _scoped(
    "datasets",
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("schema_id", sa.String(512), nullable=False),
    sa.Column("schema_content_type", sa.String(255), nullable=False),
    sa.Column("table_identifier", sa.String(512), nullable=False),  # Iceberg namespace.table
    sa.Column("tags", sa.JSON, nullable=False),
    # Scheduled table maintenance (revision 0002); NULL, never JSON null: none.
    sa.Column("maintenance", sa.JSON(none_as_null=True), nullable=True),
    sa.UniqueConstraint("ims_org_id", "sandbox_name", "name", name="uq_dataset_name"),
)

source_connections = _scoped(
    "source_connections",
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("base_connection_id", sa.String(36), nullable=False),
    sa.Column("connection_spec_id", sa.String(64), nullable=False),
    sa.Column("connection_spec_version", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
)

target_connections = _scoped(
    "target_connections",
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("base_connection_id", sa.String(36), nullable=True),
    sa.Column("connection_spec_id", sa.String(64), nullable=False),
    sa.Column("connection_spec_version", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
)

flows = _scoped(
    "flows",
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("flow_spec_id", sa.String(64), nullable=False),
    sa.Column("flow_spec_version", sa.String(16), nullable=False),
    sa.Column("source_connection_ids", sa.JSON, nullable=False),
    sa.Column("target_connection_ids", sa.JSON, nullable=False),
    sa.Column("schedule_params", sa.JSON, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("transformations", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
)

runs = _scoped(
    "runs",
    sa.Column("flow_id", sa.String(36), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),  # inProgress | completed
    sa.Column("status", sa.String(16), nullable=False),  # inProgress | success | failed
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("activities", sa.JSON, nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),  # host:pid of the process running it
    sa.Column("heartbeat_at", sa.BigInteger, nullable=False),
)

# Reads by id or name (``id = ? OR name = ?``) scanned the whole table without these; name
# first, so that SQLite answers each side of the OR from an index.
sa.Index("ix_flows_name", flows.c.name, flows.c.ims_org_id, flows.c.sandbox_name)
sa.Index(
    "ix_source_connections_name",
    source_connections.c.name,
    source_connections.c.ims_org_id,
    source_connections.c.sandbox_name,
)
sa.Index(
    "ix_target_connections_name",
    target_connections.c.name,
    target_connections.c.ims_org_id,
    target_connections.c.sandbox_name,
)
# A flow's latest runs (lastRunDetails) without sorting all of its runs.
sa.Index("ix_runs_flow_created", runs.c.flow_id, runs.c.created_at)
# Schedulers look for runs in progress and on-demand runs waiting (state scheduled) every poll.
sa.Index("ix_runs_state", runs.c.state)
sa.Index("ix_flows_state", flows.c.state)

batches = _scoped(
    "batches",
    sa.Column("dataset_id", sa.String(36), nullable=False, index=True),
    sa.Column("run_id", sa.String(36), nullable=False, index=True),
    sa.Column("flow_id", sa.String(36), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("snapshot_id", sa.BigInteger, nullable=True),
    sa.Column("data_prefix", sa.String(1024), nullable=False),  # where its data files go
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=True),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
)

# The files a batch planned to ingest, written before its data: recovery reads it back, and
# the batch's diagnostics list them (input_files). A file version is its path and the compact
# columns of lakefeed.catalog.ledger.entry_columns (revision 0003: no JSON, no stored hash;
# about 150 bytes a file). SQLite keeps these rows in their primary key's b-tree (WITHOUT
# ROWID), so the key is not stored a second time in an index.
batch_files = sa.Table(
    "batch_files",
    metadata,
    sa.Column("batch_id", sa.String(36), primary_key=True),
    sa.Column("path", sa.String(2048), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_us", sa.BigInteger, nullable=True),  # epoch microseconds, UTC
    sa.Column("etag", sa.String(1024), nullable=True),
    sa.Column("version", sa.String(1024), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # planned | converted | failed
    sa.Column("records_in", sa.BigInteger, nullable=False, default=0),
    sa.Column("records_out", sa.BigInteger, nullable=False, default=0),
    sa.Column("records_failed", sa.BigInteger, nullable=False, default=0),
    sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
    sqlite_with_rowid=False,
    # Half of each page kept free: a row's one update (its outcome) then stays on its page
    # (a HOT update), and the primary key gets no second entry for it.
    postgresql_with={"fillfactor": 50},
)

# Exactly-once: a flow never ingests the same file version twice. ``identity`` is
# lakefeed.catalog.ledger.identity_key: 32 hex digits (128 bits) of the SHA-256 of the
# version's identity. Compact as batch_files (revision 0003).
file_ledger = sa.Table(
    "file_ledger",
    metadata,
    sa.Column("flow_id", sa.String(36), primary_key=True),
    sa.Column("identity", sa.String(32), primary_key=True),
    sa.Column("path", sa.String(2048), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_us", sa.BigInteger, nullable=True),  # epoch microseconds, UTC
    sa.Column("etag", sa.String(1024), nullable=True),
    sa.Column("version", sa.String(1024), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # committed | failed
    sa.Column("batch_id", sa.String(36), nullable=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

row_errors = sa.Table(
    "row_errors",
    metadata,
    sa.Column("batch_id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("source_file", sa.String(2048), nullable=False),
    sa.Column("row_index", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),  # [{code, message, field}]
    sa.Column("record", sa.JSON, nullable=False),  # the original values, JSON-safe
)


# --- REST API tenancy: sandboxes, API clients and their tokens (secrets stored hashed) ------

sandboxes = sa.Table(
    "sandboxes",
    metadata,
    sa.Column("ims_org_id", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),  # production | development
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("api_key", sa.String(64), primary_key=True),
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("secret_hash", sa.String(128), nullable=False),  # sha256 of a 256-bit secret
    sa.Column("sandboxes", sa.JSON, nullable=False),  # allowed sandbox names; [] = all
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_hash", sa.String(128), primary_key=True),
    sa.Column("api_key", sa.String(64), nullable=False, index=True),
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),  # epoch ms
)


# --- scheduling: the windows schedulers claim, and what each flow has not ingested yet -------

# One row per scheduled window of a flow. The primary key and the chain constraint make a claim
# unique: two schedulers that race for the same window (or for two windows after the same
# predecessor) cannot both insert it.
schedule_windows = sa.Table(
    "schedule_windows",
    metadata,
    sa.Column("flow_id", sa.String(36), primary_key=True),
    sa.Column("window_end", sa.BigInteger, primary_key=True),  # epoch seconds
    sa.Column("previous_end", sa.BigInteger, nullable=False),  # 0 for the first window
    sa.Column("window_start", sa.BigInteger, nullable=True),  # None: since the beginning
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("sandbox_name", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running | done
    sa.Column("owner", sa.String(255), nullable=False),  # the scheduler holding the lease
    sa.Column("lease_expires_at", sa.BigInteger, nullable=False),  # epoch ms, scheduler clock
    sa.Column("takeovers", sa.Integer, nullable=False, default=0),
    sa.Column("run_id", sa.String(36), nullable=True),
    sa.Column("claimed_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("flow_id", "previous_end", name="uq_schedule_window_chain"),
)
sa.Index("ix_schedule_windows_state", schedule_windows.c.state)

# Files a flow has discovered but not committed, as of its last listing (run or discovery).
flow_backlog = sa.Table(
    "flow_backlog",
    metadata,
    sa.Column("flow_id", sa.String(36), primary_key=True),
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("sandbox_name", sa.String(255), nullable=False),
    sa.Column("files", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("oldest_mtime", sa.BigInteger, nullable=True),  # epoch ms
    sa.Column("observed_at", sa.BigInteger, nullable=False),  # epoch ms
)


# --- Data Prep: mapping sets, every version kept (a flow applies the version it names) -------

mapping_sets = sa.Table(
    "mapping_sets",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # 32 hex digits
    sa.Column("version", sa.Integer, primary_key=True),  # 0, 1, … one row per version
    sa.Column("ims_org_id", sa.String(255), nullable=False),
    sa.Column("sandbox_name", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("document", sa.JSON, nullable=False),  # outputSchema, inputSchema, mappings, …
    # The set's creation (version 0's), copied into every version, and this version's own.
    sa.Column("created_at", sa.BigInteger, nullable=False),  # epoch milliseconds
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(255), nullable=False),
)
sa.Index("ix_mapping_sets_scope", mapping_sets.c.ims_org_id, mapping_sets.c.sandbox_name)
