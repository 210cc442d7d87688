"""``DatasetFiles``: the data files each batch committed, read back as the Data Access API
serves them, and a dataset's latest rows as a bounded preview.

A batch's files are grouped into **dataSetFiles**, one per conversion task: the writer names
data files ``<n:06d>-<part:03d>-<attempt>.parquet`` after the number ``n`` (from 1) of the
task's first source file, and the dataSetFile ``<batchId>-<n>`` holds its parts (several when
they rolled over the dataset's target file size, or for an archive of several members). A
task is one source file, or a group of small source files whose rows share their data files
(:mod:`lakefeed.flows.coalesce`): the dataSetFile of a group holds the rows of all of them, each
row naming its own source file in the ``_lakefeed`` lineage column.

Only the files the batch's Iceberg snapshot added are listed, and a file is found by looking its
name up in that list, never by joining a name to a location: no name reaches another file.
Once table maintenance expired a batch's snapshot, the batch lists no files: its rows live on
in the files a compaction wrote, which belong to no batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakefeed.catalog.batches import Batch, BatchStore
from lakefeed.datasets.iceberg import SYSTEM_COLUMN
from lakefeed.datasets.store import DatasetStore
from lakefeed.errors import ResourceNotFound
from lakefeed.values import jsonable

#: ``<source number>-<part>.parquet``, as :class:`~lakefeed.datasets.writer.SourceWriter` names.
PART_NAME = re.compile(r"^(\d+)-\d+(?:-[0-9a-f]+)?\.parquet$")
#: Rows a preview gives at most.
MAX_PREVIEW_ROWS = 100


@dataclass(frozen=True)
class DataFile:
    """One Parquet data file of a batch; ``name`` is relative to the batch's data folder."""

    name: str
    location: str
    length: int
    records: int
    iceberg: Any = field(default=None, compare=False, repr=False)  # pyiceberg ``DataFile``


@dataclass(frozen=True)
class DataSetFile:
    """The data files one source file of a batch became."""

    id: str
    batch: Batch
    files: tuple[DataFile, ...]

    @property
    def length(self) -> int:
        return sum(f.length for f in self.files)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    def file(self, name: str) -> DataFile:
        """The data file named ``name``; :class:`ResourceNotFound` naming those there are."""
        for data_file in self.files:
            if data_file.name == name:
                return data_file
        raise ResourceNotFound(
            f"dataSetFile {self.id} has no file {name[:200]!r} (files: {_names(self.files)}).",
            fix="Pass path= with a name from the dataSetFile's listing.",
        )


class DatasetFiles:
    """The committed data files of one org and sandbox's batches."""

    def __init__(self, batches: BatchStore, datasets: DatasetStore) -> None:
        self.batches = batches
        self.datasets = datasets

    def of_batch(self, batch_id: str) -> list[DataSetFile]:
        """The batch's dataSetFiles by source number: none unless it committed
        (:class:`ResourceNotFound` for an unknown batch or another sandbox's)."""
        batch = self.batches.get(batch_id)
        if batch.status != "success" or batch.snapshot_id is None:
            return []
        return _grouped(self._table(batch), batch)

    def of_dataset(self, dataset_id: str) -> list[DataSetFile]:
        """Every dataSetFile of the dataset's committed batches, oldest batch first."""
        return list(self.committed(dataset_id))

    def committed(self, dataset_id: str | None = None) -> Iterator[DataSetFile]:
        """The dataSetFiles of every committed batch (of ``dataset_id``; an unknown one is
        :class:`ResourceNotFound` at once), oldest batch first; batches of a deleted dataset
        are skipped. Lazy: a batch's manifests are
        read when its files are reached, so a page reads only the batches up to its end."""
        if dataset_id is None:
            return self._committed(None)
        return self._committed(self.datasets.get(dataset_id).id)

    def _committed(self, dataset_id: str | None) -> Iterator[DataSetFile]:
        tables: dict[str, Any] = {}
        for batch in self._batches(dataset_id, descending=False):
            if batch.snapshot_id is None:
                continue
            if batch.dataset_id not in tables:
                try:
                    tables[batch.dataset_id] = self._table(batch)
                except ResourceNotFound:
                    if dataset_id is not None:
                        raise
                    tables[batch.dataset_id] = None  # deleted with its files: none to list
            if tables[batch.dataset_id] is not None:
                yield from _grouped(tables[batch.dataset_id], batch)

    def get(self, dataset_file_id: str) -> DataSetFile:
        """The dataSetFile ``<batchId>-<n>``, or :class:`ResourceNotFound`."""
        batch_id, _, number = dataset_file_id.rpartition("-")
        unknown = ResourceNotFound(
            f"No dataSetFile {dataset_file_id!r} in this sandbox.",
            fix="Take dataSetFileId from GET /data/foundation/export/batches/{batchId}/files.",
        )
        if not batch_id or not number.isdigit():
            raise unknown
        try:
            found = self.of_batch(batch_id)
        except ResourceNotFound:
            raise unknown from None
        for dataset_file in found:
            if dataset_file.id == dataset_file_id:
                return dataset_file
        raise unknown

    def data_file(self, batch_id: str, name: str) -> tuple[DataSetFile, DataFile]:
        """The data file ``name`` of a batch, with its dataSetFile; :class:`ResourceNotFound`
        naming those there are."""
        found = self.of_batch(batch_id)
        for dataset_file in found:
            for data_file in dataset_file.files:
                if data_file.name == name:
                    return dataset_file, data_file
        files = [f for dataset_file in found for f in dataset_file.files]
        raise ResourceNotFound(
            f"Batch {batch_id} has no data file {name[:200]!r} (files: {_names(files)}).",
            fix="Pass path= with a name from GET /data/foundation/export/files/{dataSetFileId}.",
        )

    def open(self, batch: Batch, data_file: DataFile) -> Any:
        """A seekable binary stream over ``data_file`` (``seek``, ``read``, ``close``)."""
        table = self._table(batch)
        try:
            return table.io.new_input(data_file.location).open(seekable=True)
        except FileNotFoundError as exc:
            raise ResourceNotFound(
                f"Data file {data_file.name!r} of batch {batch.id} is no longer in the warehouse.",
                fix="Check the warehouse (LAKEFEED_WAREHOUSE): something outside lakefeed "
                "removed files.",
            ) from exc

    def preview(self, dataset_id: str, limit: int = MAX_PREVIEW_ROWS) -> list[dict[str, Any]]:
        """Up to ``limit`` rows (at most :data:`MAX_PREVIEW_ROWS`) of the dataset's latest
        batches, newest batch first, as JSON values without the ``_lakefeed`` column. Only the
        files those rows need are read, a record batch at a time."""
        from pyiceberg.expressions import AlwaysTrue
        from pyiceberg.io.pyarrow import ArrowScan
        from pyiceberg.table import FileScanTask

        limit = max(0, min(limit, MAX_PREVIEW_ROWS))
        dataset = self.datasets.get(dataset_id)
        table = self.datasets.table(dataset)
        tasks = [FileScanTask(f.iceberg) for f in self.preview_files(table, dataset.id, limit)]
        if not tasks:  # no batch lists files (compacted, snapshots expired): the table's own
            tasks = list(_first_tasks(table, limit))
        schema = table.schema()
        columns = schema.select(*[f.name for f in schema.fields if f.name != SYSTEM_COLUMN])
        scan = ArrowScan(table.metadata, table.io, columns, AlwaysTrue(), limit=limit)
        rows: list[dict[str, Any]] = []
        for record_batch in scan.to_record_batches(tasks):
            rows.extend(jsonable(row) for row in record_batch.to_pylist())
            if len(rows) >= limit:
                break
        return rows[:limit]

    def preview_files(self, table: Any, dataset_id: str, limit: int) -> Iterator[DataFile]:
        """The data files of the newest committed batches, newest first, until they hold
        ``limit`` rows: no file is planned once enough rows are (even within one batch)."""
        planned = 0
        for batch in self._batches(dataset_id, descending=True):
            if batch.snapshot_id is None:
                continue
            for dataset_file in _grouped(table, batch):
                for data_file in dataset_file.files:
                    if planned >= limit:
                        return
                    yield data_file
                    planned += data_file.records

    def _batches(
        self, dataset_id: str | None, *, descending: bool, page: int = 20
    ) -> Iterator[Batch]:
        """The committed batches (of ``dataset_id``) by creation, read a page at a time."""
        offset = 0
        while True:
            found = self.batches.search(
                dataset_id=dataset_id,
                status="success",
                descending=descending,
                limit=page,
                offset=offset,
            )
            yield from found
            if len(found) < page:
                return
            offset += page

    def _table(self, batch: Batch) -> Any:
        try:
            dataset = self.datasets.get(batch.dataset_id)
        except ResourceNotFound:
            raise ResourceNotFound(
                f"The dataset of batch {batch.id} was deleted, and its files with it.",
                fix="List the batches of an existing dataset (GET /catalog/batches?dataSet=…).",
            ) from None
        return self.datasets.table(dataset)


def _grouped(table: Any, batch: Batch) -> list[DataSetFile]:
    """The batch's data files as dataSetFiles, by source number (files of another name, which
    lakefeed does not write, go to number 0)."""
    groups: dict[int, list[DataFile]] = {}
    for data_file in _added_files(table, batch):
        match = PART_NAME.match(data_file.name)
        groups.setdefault(int(match.group(1)) if match else 0, []).append(data_file)
    return [
        DataSetFile(f"{batch.id}-{n}", batch, tuple(sorted(files, key=lambda f: f.name)))
        for n, files in sorted(groups.items())
    ]


def _added_files(table: Any, batch: Batch) -> list[DataFile]:
    """The data files the batch's snapshot added (its manifests of that snapshot only)."""
    from pyiceberg.manifest import ManifestEntryStatus

    snapshot = table.metadata.snapshot_by_id(batch.snapshot_id)
    if snapshot is None:
        # Expired (``lakefeed datasets expire-snapshots``) with the files only it held: the
        # batch's rows live on in the files a compaction wrote, which are no batch's own.
        return []
    prefix = batch.data_prefix.rstrip("/") + "/"
    found = []
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != batch.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if entry.status != ManifestEntryStatus.ADDED:
                continue
            data_file = entry.data_file
            location = str(data_file.file_path)
            name = location.removeprefix(prefix) if location.startswith(prefix) else location
            found.append(
                DataFile(
                    name=name.rsplit("/", 1)[-1] if name == location else name,
                    location=location,
                    length=int(data_file.file_size_in_bytes),
                    records=int(data_file.record_count),
                    iceberg=data_file,
                )
            )
    return found


def _first_tasks(table: Any, limit: int) -> Iterator[Any]:
    """Scan tasks of the table's current files until they hold ``limit`` rows."""
    planned = 0
    for task in table.scan().plan_files():
        if planned >= limit:
            return
        yield task
        planned += task.file.record_count


def first_names(names: Sequence[str], shown: int = 5) -> str:
    """``a, b, c, d, e, …``: the first ``shown`` names, for a message that says what there is
    (``none`` when there are none)."""
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "") or "none"


def _names(files: Sequence[DataFile]) -> str:
    return first_names([f.name for f in files])
