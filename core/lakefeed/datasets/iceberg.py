"""The Iceberg side of datasets: the catalog, table schemas and the ``_lakefeed`` system column.

The catalog is pyiceberg's SQL catalog, in the control-plane database unless
``LAKEFEED_ICEBERG_CATALOG_URL`` says otherwise; tables live under ``LAKEFEED_WAREHOUSE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.errors import ReservedColumnName

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog

    from lakefeed.config import Settings

#: Lineage of every row: where it came from and which batch brought it.
SYSTEM_COLUMN = "_lakefeed"
SYSTEM_TYPE = pa.struct(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

#: Snapshot summary properties that tie an Iceberg commit to a lakefeed run and batch.
RUN_PROPERTY = "lakefeed.run-id"
BATCH_PROPERTY = "lakefeed.batch-id"


def open_catalog(settings: Settings) -> SqlCatalog:
    from pyiceberg.catalog.sql import SqlCatalog

    from lakefeed.catalog.creation import create_schema
    from lakefeed.catalog.store import prepare_sqlite_file
    from lakefeed.config import make_private_folder

    if settings.warehouse.startswith("file://"):
        from pathlib import Path
        from urllib.parse import unquote, urlparse

        make_private_folder(Path(unquote(urlparse(settings.warehouse).path)))
    if settings.iceberg_catalog_url.startswith("sqlite:///"):
        prepare_sqlite_file(settings.iceberg_catalog_url)
    url = settings.iceberg_catalog_url
    # The catalog creates its tables as it opens: safe when several processes start at once.
    return create_schema(url, lambda: SqlCatalog("lakefeed", uri=url, warehouse=settings.warehouse))


def check_no_system_column(names: Iterable[str], of: str) -> None:
    """Raise :class:`ReservedColumnName` when ``names`` (the top-level columns of ``of``)
    include ``_lakefeed``: every table has that column already. Called before anything is
    created, so a refused dataset leaves nothing behind."""
    if SYSTEM_COLUMN in names:
        raise ReservedColumnName(
            f"{of} has a column named {SYSTEM_COLUMN!r}: lakefeed reserves that name for the "
            "lineage column it adds to every dataset (source file, row, batch).",
            fix=f"Rename the {SYSTEM_COLUMN!r} column in the source files and the schema.",
        )


def table_schema(target: pa.Schema) -> pa.Schema:
    """The Arrow schema a dataset's table is created with: the target plus ``_lakefeed``."""
    check_no_system_column(target.names, "The dataset's schema")
    return target.append(pa.field(SYSTEM_COLUMN, SYSTEM_TYPE, nullable=False))


def namespace_for(ims_org_id: str, sandbox_name: str) -> str:
    """One Iceberg namespace per org and sandbox, readable by SQL engines."""
    return f"{_slug(ims_org_id)}_{_slug(sandbox_name)}"


def table_name_for(name: str, dataset_id: str) -> str:
    return f"{_slug(name)[:40]}_{dataset_id[:8]}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def snapshot_for_batch(table: Any, batch_id: str) -> Any | None:
    """The snapshot that committed ``batch_id``, or None: how recovery decides forward or back."""
    for snapshot in table.metadata.snapshots:
        summary = snapshot.summary
        if summary is not None and summary.get(BATCH_PROPERTY) == batch_id:
            return snapshot
    return None
