"""The Iceberg side of datasets: the catalog, table schemas and the ``_lakefeed`` system column.

The catalog is pyiceberg's SQL catalog, in the control-plane database unless
``LAKEFEED_ICEBERG_CATALOG_URL`` says otherwise; tables live under ``LAKEFEED_WAREHOUSE``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
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
    """The SQL catalog, its tables under ``settings.warehouse`` and read and written with the
    warehouse's own FileIO properties (:mod:`lakefeed.datasets.warehouse`)."""
    from lakefeed.catalog.creation import create_schema
    from lakefeed.catalog.store import prepare_sqlite_file
    from lakefeed.config import make_private_folder
    from lakefeed.datasets.warehouse import file_io_properties

    io_properties = file_io_properties(settings.warehouse, settings.warehouse_options)
    if settings.warehouse.startswith("file://"):
        from pathlib import Path
        from urllib.parse import unquote, urlparse

        make_private_folder(Path(unquote(urlparse(settings.warehouse).path)))
    if settings.iceberg_catalog_url.startswith("sqlite:///"):
        prepare_sqlite_file(settings.iceberg_catalog_url)
    url = settings.iceberg_catalog_url
    catalog_class = _catalog_class()
    # The catalog creates its tables as it opens: safe when several processes start at once.
    return create_schema(
        url,
        lambda: catalog_class("lakefeed", uri=url, warehouse=settings.warehouse, **io_properties),
    )


@functools.cache
def _catalog_class() -> type[SqlCatalog]:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.io import FileIO, load_file_io

    from lakefeed.datasets.warehouse import without_file_io_properties

    class WarehouseSqlCatalog(SqlCatalog):
        """pyiceberg's SQL catalog whose tables' FileIO has the warehouse's properties from
        the operator's settings alone: FileIO properties in a table's metadata (which pyiceberg
        would let override them) are ignored, so no table can redirect the warehouse's
        endpoint or credentials."""

        def _load_file_io(
            self, properties: Mapping[str, str] | None = None, location: str | None = None
        ) -> FileIO:
            table_properties = without_file_io_properties(properties or {})
            return load_file_io({**self.properties, **table_properties}, location)

        def _write_metadata(  # type: ignore[override]
            self, metadata: Any, io: FileIO, metadata_path: str
        ) -> None:
            # A commit writes its new metadata file, then points the table's row at it.
            super()._write_metadata(metadata, io, metadata_path)
            attempt = _COMMIT_ATTEMPT.get()
            if attempt is not None:
                attempt.reached_catalog = True

    return WarehouseSqlCatalog


@dataclass
class CommitAttempt:
    """One commit to a table, watched: ``reached_catalog`` turns True once the catalog has
    written the commit's metadata file and goes on to record it in the table's row. A failure
    before that left the table as it was; from then on the commit may have landed even though
    it raised (the database dropped the connection during ``COMMIT``)."""

    reached_catalog: bool


_COMMIT_ATTEMPT: ContextVar[CommitAttempt | None] = ContextVar(
    "lakefeed_commit_attempt", default=None
)


@contextmanager
def watched_commit(table: Any) -> Iterator[CommitAttempt]:
    """Watch the commits made to ``table`` in the block (in this thread). A table of another
    catalog than lakefeed's, which does not say how far it got, counts as reached at once."""
    attempt = CommitAttempt(reached_catalog=not isinstance(table.catalog, _catalog_class()))
    token = _COMMIT_ATTEMPT.set(attempt)
    try:
        yield attempt
    finally:
        _COMMIT_ATTEMPT.reset(token)


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
