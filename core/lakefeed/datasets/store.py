"""``DatasetStore``: datasets — named Iceberg tables with a target schema — whose rows
:class:`~lakefeed.catalog.datasets.DatasetRecords` keeps."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import pyarrow as pa

from lakefeed.catalog.datasets import Dataset, DatasetRecords
from lakefeed.catalog.labels import check_labels
from lakefeed.datasets.iceberg import namespace_for, table_name_for, table_schema
from lakefeed.datasets.warehouse import raised_by_warehouse, warehouse_error
from lakefeed.errors import DatasetError, InvalidRequest, LakefeedError

__all__ = ["DEFAULT_CONTENT_TYPE", "Dataset", "DatasetStore"]

#: The content type datasets record for their schema when none is given.
DEFAULT_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"


class DatasetStore:
    """Datasets of one org and sandbox. ``target_schema`` turns a schema id into the Arrow
    schema rows are conformed to (the Schema Registry's resolution)."""

    def __init__(
        self,
        records: DatasetRecords,
        catalog_factory: Callable[[], Any],
        target_schema: Callable[[str], pa.Schema],
        canonical_schema_id: Callable[[str], str] = lambda schema_id: schema_id,
    ) -> None:
        self.records = records
        self.scope = records.scope
        self._catalog_factory = catalog_factory
        self._target_schema = target_schema
        self._canonical_schema_id = canonical_schema_id

    @cached_property
    def catalog(self) -> Any:
        return self._catalog_factory()

    def create(
        self,
        name: str,
        schema_id: str,
        *,
        description: str = "",
        content_type: str = DEFAULT_CONTENT_TYPE,
        tags: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Register a dataset and create its Iceberg table from the schema."""
        if not name.strip():
            raise InvalidRequest("A dataset needs a name.", fix="Pass a non-empty name.")
        check_labels({"name": name, "description": description}, "dataset")
        self.records.check_name_free(name)
        schema_id = self._canonical_schema_id(schema_id)  # an altId becomes the $id
        target = self._target_schema(schema_id)  # raises SchemaNotFound / InvalidSchema
        columns = table_schema(target)  # raises ReservedColumnName
        dataset_id = secrets.token_hex(12)
        namespace = namespace_for(self.scope.ims_org_id, self.scope.sandbox_name)
        identifier = f"{namespace}.{table_name_for(name, dataset_id)}"
        try:
            self._ensure_namespace(namespace)
            self.catalog.create_table(identifier, schema=columns)
        except Exception as exc:
            failure = self._warehouse_failure(exc, f"creating the table of dataset {name!r}")
            raise failure or DatasetError(
                f"Could not create the Iceberg table {identifier!r} for dataset {name!r}: {exc}",
                fix="Check that the warehouse (LAKEFEED_WAREHOUSE) is writable.",
            ) from exc
        try:
            return self.records.insert(
                id=dataset_id,
                name=name,
                description=description,
                schema_id=schema_id,
                schema_content_type=content_type,
                table_identifier=identifier,
                tags=tags or {},
            )  # NameTaken when another writer took the name since the check
        except BaseException:
            # All or nothing: a table without its dataset row would be an orphan.
            with contextlib.suppress(Exception):
                self.catalog.purge_table(identifier)
            raise

    def _ensure_namespace(self, namespace: str) -> None:
        """pyiceberg checks, then writes: when another writer creates the namespace in between
        (the first datasets of a sandbox, created at once), the write fails, and the namespace
        is there all the same."""
        try:
            self.catalog.create_namespace_if_not_exists(namespace)
        except Exception:
            if not self.catalog.namespace_exists(namespace):
                raise

    def get(self, id_or_name: str) -> Dataset:
        return self.records.get(id_or_name)

    def list(self) -> list[Dataset]:
        return self.records.list()

    def update(
        self,
        id_or_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        etag: str | None = None,
        maintenance: Mapping[str, Any] | None = None,
        target_file_bytes: int | None = None,
    ) -> Dataset:
        """Rename a dataset, or change its description, tags, scheduled ``maintenance``
        (``{}`` turns it off) or the size its runs' data files aim at (``target_file_bytes``,
        the table's ``write.target-file-size-bytes``); what is None stays. The schema never
        changes: the table was created from it. With ``etag``, only while the dataset is still
        at that version."""
        dataset = self.get(id_or_name)
        values: dict[str, Any] = {}
        if maintenance is not None:
            from lakefeed.datasets.maintenance_policy import MaintenancePolicy

            values["maintenance"] = (
                MaintenancePolicy.from_json(maintenance).document if maintenance else None
            )
        if name is not None:
            if not name.strip():
                raise InvalidRequest("A dataset needs a name.", fix="Pass a non-empty name.")
            values["name"] = name
        if description is not None:
            values["description"] = description
        if tags is not None:
            values["tags"] = dict(tags)
        check_labels({k: v for k, v in values.items() if k != "tags"}, "dataset")
        if values:
            dataset = self.records.update(dataset, etag=etag, **values)
        if target_file_bytes is not None:
            self.set_target_file_bytes(dataset, target_file_bytes)
        return dataset

    def set_target_file_bytes(self, dataset: Dataset, size: int) -> None:
        """Make the data files runs write into ``dataset`` roll over at ``size`` bytes (small
        source files are gathered into files of that size): the standard Iceberg table
        property ``write.target-file-size-bytes``, which other engines writing the table
        honour too."""
        from lakefeed.datasets.writer import TARGET_FILE_SIZE_PROPERTY

        if size < 1:
            raise InvalidRequest(
                "The target file size must be at least 1 byte.", fix="Give e.g. 128MiB."
            )
        table = self.table(dataset)
        try:
            with table.transaction() as tx:
                tx.set_properties({TARGET_FILE_SIZE_PROPERTY: str(size)})
        except Exception as exc:
            action = f"setting the target file size of dataset {dataset.name!r}"
            failure = self._warehouse_failure(exc, action)
            raise failure or DatasetError(
                f"Could not set the target file size of dataset {dataset.name!r}: {exc}",
                fix="Check LAKEFEED_ICEBERG_CATALOG_URL and LAKEFEED_WAREHOUSE, then try again.",
            ) from exc

    def target_file_bytes(self, dataset: Dataset) -> int:
        """The size the data files of ``dataset``'s runs aim at (128 MiB unless set)."""
        from lakefeed.datasets.writer import target_file_bytes

        return target_file_bytes(self.table(dataset).properties)

    def table(self, dataset: Dataset) -> Any:
        """The dataset's pyiceberg ``Table``."""
        try:
            return self.catalog.load_table(dataset.table_identifier)
        except Exception as exc:
            failure = self._warehouse_failure(exc, f"loading the table of dataset {dataset.name!r}")
            raise failure or DatasetError(
                f"The Iceberg table {dataset.table_identifier!r} of dataset {dataset.name!r} "
                f"cannot be loaded: {exc}",
                fix="Check LAKEFEED_ICEBERG_CATALOG_URL and LAKEFEED_WAREHOUSE.",
            ) from exc

    def _warehouse_failure(self, exc: Exception, action: str) -> LakefeedError | None:
        """``exc`` as a :class:`~lakefeed.errors.WarehouseError` when the warehouse's client
        raised it; None when the catalog's database or pyiceberg's own checks did."""
        if not raised_by_warehouse(exc):
            return None
        catalog = self.__dict__.get("catalog")  # None: opening it failed (a local folder)
        properties = dict(getattr(catalog, "properties", None) or {})
        return warehouse_error(
            exc, action=action, properties=properties, location=properties.get("warehouse", "")
        )

    def read(self, dataset: Dataset, *, limit: int | None = None) -> pa.Table:
        """The dataset's rows as of its latest commit."""
        table = self.table(dataset)
        try:
            return table.scan(limit=limit).to_arrow()
        except Exception as exc:
            failure = self._warehouse_failure(exc, f"reading the rows of dataset {dataset.name!r}")
            if failure is None:
                raise
            raise failure from exc

    def delete(self, id_or_name: str, *, etag: str | None = None) -> None:
        """Delete a dataset and its table. With ``etag``, only while the dataset is still at
        that version, checked as its row is deleted (:class:`PreconditionFailed` otherwise):
        the row goes first, so a refused delete leaves the table whole."""
        dataset = self.get(id_or_name)
        self.records.delete(dataset.id, etag=etag)
        with contextlib.suppress(Exception):  # the record is gone even if the table is too
            self.catalog.purge_table(dataset.table_identifier)
