"""What the executor tests share: the ingestion suite on local files with its files converted
by another executor, numbered files to ingest, and the ids a dataset holds."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion_suite import IngestionSuite, IngestSource
from lakefeed import Lakefeed


class ElsewhereIngestionSuite(IngestionSuite):
    """Exactly-once, rewrites during a run and diagnostics with every file converted by the
    executor a subclass's ``executor`` fixture gives. Left out: the killed-run cases (they kill
    the coordinator: the in-process suite's) and the cases no executor takes part in."""

    test_killed_run_is_recovered_exactly_once = None  # type: ignore[assignment]
    test_backfill_false_leaves_older_files_alone = None  # type: ignore[assignment]
    test_missing_source_path_fails_the_run_with_the_reason = None  # type: ignore[assignment]

    @pytest.fixture(scope="class")
    @classmethod
    def source(cls, tmp_path_factory: pytest.TempPathFactory) -> IngestSource:
        root: Path = tmp_path_factory.mktemp("landing")
        return IngestSource("local-files", None, {"rootPath": str(root)}, str(root))


def numbered_files(root: Path, files: int, rows: int) -> list[int]:
    """``files`` Parquet files of ``rows`` rows each (ids numbered across them, four row
    groups a file) in ``root``; the ids, in order."""
    root.mkdir(parents=True)
    for n in range(files):
        ids = pa.array(range(n * rows, (n + 1) * rows), pa.int64())
        names = pa.array([f"name-{i}" for i in range(rows)])
        pq.write_table(pa.table({"id": ids, "name": names}), root / f"part-{n:02d}.parquet",
                       row_group_size=rows // 4)  # fmt: skip
    return list(range(files * rows))


def landed_ids(lf: Lakefeed, dataset: str) -> list[int]:
    """The ids the dataset holds, sorted (a duplicate shows twice)."""
    table = lf.datasets.table(lf.datasets.get(dataset))
    return sorted(table.scan(selected_fields=("id",)).to_arrow().column("id").to_pylist())
