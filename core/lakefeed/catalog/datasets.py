"""``DatasetRecords``: the rows of datasets — name, schema and Iceberg table identifier — of one
org and sandbox. The tables themselves are :mod:`lakefeed.datasets`'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog.records import ResourceTable, Scope, record_from_row
from lakefeed.catalog.tables import datasets as table
from lakefeed.errors import NameTaken, PreconditionFailed, ResourceNotFound


@dataclass(frozen=True)
class Dataset:
    """A row of ``datasets``: a named Iceberg table with a target schema."""

    id: str
    ims_org_id: str
    sandbox_name: str
    name: str
    description: str
    schema_id: str
    schema_content_type: str
    table_identifier: str  # Iceberg namespace.table
    tags: dict[str, Any]
    etag: str
    created_at: int
    updated_at: int
    #: Scheduled table maintenance (:mod:`lakefeed.datasets.maintenance_policy`); None: none.
    maintenance: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Dataset:
        return record_from_row(cls, row, tags=dict(row["tags"]))

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        """The Catalog ``dataSet`` object (the REST layer keys it by id)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "schemaRef": {"id": self.schema_id, "contentType": self.schema_content_type},
            "tags": self.tags,
            "files": f"@/dataSetFiles?dataSetId={self.id}",
            "created": self.created_at,
            "updated": self.updated_at,
            "imsOrg": self.ims_org_id,
            "sandboxName": self.sandbox_name,
            "version": self.etag,
            "table": self.table_identifier,
            **extra,
        }


# ``list`` is a method of the store: its return type is spelled out here.
Datasets = list[Dataset]


class DatasetRecords:
    """Dataset rows of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.scope = scope
        self.rows = ResourceTable(
            engine, table, scope, ResourceNotFound, "dataset", "lakefeed datasets list"
        )

    def check_name_free(self, name: str) -> None:
        if self.rows.find(name) is not None:
            raise self._name_taken(name)

    def insert(
        self,
        *,
        id: str,
        name: str,
        description: str,
        schema_id: str,
        schema_content_type: str,
        table_identifier: str,
        tags: Mapping[str, Any],
    ) -> Dataset:
        """Store a dataset's row; :class:`NameTaken` when another writer took the name."""
        row = self.scope.new_row(
            id=id,
            name=name,
            description=description,
            schema_id=schema_id,
            schema_content_type=schema_content_type,
            table_identifier=table_identifier,
            tags=dict(tags),
            maintenance=None,
        )
        try:
            self.rows.insert(row)
        except sa.exc.IntegrityError:
            raise self._name_taken(name) from None
        return Dataset.from_row(row)

    def _name_taken(self, name: str) -> NameTaken:
        return NameTaken(
            f"A dataset named {name!r} already exists in sandbox {self.scope.sandbox_name!r}.",
            fix="Choose another name, or use the existing dataset.",
        )

    def get(self, id_or_name: str) -> Dataset:
        return Dataset.from_row(self.rows.get(id_or_name))

    def named(self, name: str) -> Dataset | None:
        """The dataset named exactly ``name`` (never one whose id it is), or None."""
        found = self.rows.select(table.c.name == name, limit=1)
        return Dataset.from_row(found[0]) if found else None

    def update(self, dataset: Dataset, *, etag: str | None = None, **values: Any) -> Dataset:
        """Change ``name``, ``description`` or ``tags`` of ``dataset`` (only while its etag is
        still ``etag``, when given); :class:`NameTaken` for another dataset's name,
        :class:`PreconditionFailed` when the etag no longer matches."""
        name = values.get("name")
        if name is not None and name != dataset.name:
            found = self.rows.find(name)
            if found is not None and found["id"] != dataset.id:
                raise self._name_taken(name)
        try:
            changed = self.rows.update_if(dataset.id, etag, **values)
        except sa.exc.IntegrityError:
            raise self._name_taken(str(name)) from None
        if not changed:
            raise PreconditionFailed(
                f"Dataset {dataset.id} was changed since etag {etag}.",
                fix="GET the dataset again, re-apply the change and send its new etag.",
            )
        return self.get(dataset.id)

    def list(self) -> Datasets:
        return [Dataset.from_row(row) for row in self.rows.select()]

    def all_scopes_maintained(self) -> Datasets:
        """The datasets of every org and sandbox with scheduled maintenance, oldest first: the
        scheduler daemon serves them all."""
        query = (
            sa.select(table)
            .where(table.c.maintenance.is_not(None))
            .order_by(table.c.created_at, table.c.id)
        )
        with self.rows.engine.connect() as db:
            return [Dataset.from_row(row) for row in db.execute(query).mappings()]

    def delete(self, id: str, *, etag: str | None = None) -> None:
        """Delete a dataset's row; with ``etag``, only while it still has that etag, checked in
        the delete itself (:class:`PreconditionFailed` otherwise)."""
        if not self.rows.delete_if(id, etag) and etag is not None:
            raise PreconditionFailed(
                f"Dataset {id} was changed since etag {etag}.",
                fix="GET the dataset again and delete it with its new etag.",
            )
