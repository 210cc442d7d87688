"""Datasets in a GCS (``gs://``, fake-gcs-server) or Azure (``abfs://``, Azurite) warehouse:
rows land once and read back as the source; a batch that fails, or whose process is killed
half-way, leaves none of its files in the store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestion_suite import KILL_SCRIPT, IngestSource, Scenario, expected_ids, stored_files
from lakefeed.datasets.table_files import normalised
from warehouses import Warehouse, azure_warehouse, gcs_warehouse

pytestmark = pytest.mark.servers

WAREHOUSES: dict[str, Callable[[], Warehouse]] = {"gcs": gcs_warehouse, "azure": azure_warehouse}


@pytest.fixture(params=sorted(WAREHOUSES))
def warehouse(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Warehouse:
    made = WAREHOUSES[request.param]()
    made.use(monkeypatch, tmp_path)
    return made


@pytest.fixture
def scenario(warehouse: Warehouse, tmp_path: Path) -> Scenario:
    root = tmp_path / "landing"
    root.mkdir()
    source = IngestSource("local-files", None, {"rootPath": str(root)}, str(root))
    return Scenario(tmp_path / "home", source)


def test_rows_land_once_and_a_failed_batch_leaves_nothing(
    warehouse: Warehouse, scenario: Scenario
) -> None:
    scenario.put("a.parquet", scenario.profiles(30, 0))
    scenario.put("b.parquet", scenario.profiles(20, 30))
    flow = scenario.flow()

    first = scenario.lf.run_flow(flow)

    assert first.status == "success", first.metrics
    assert scenario.ids() == expected_ids((0, 50))
    table = scenario.table()
    assert table.metadata_location.startswith(warehouse.uri + "/")
    assert any("/data/" in key for key in warehouse.stored())
    again = scenario.lf.run_flow(flow)
    assert again.metrics["fileSummary"]["inputFileCount"] == 0
    assert scenario.ids() == expected_ids((0, 50))

    scenario.put("c.parquet", scenario.profiles(10, 50, bad={3: "gender"}))  # fails the batch
    failed = scenario.lf.run_flow(flow)

    assert failed.status == "failed"
    assert scenario.ids() == expected_ids((0, 50))
    batch = scenario.lf.batches.get(failed.batch_id)
    assert stored_files(scenario.table(), batch.data_prefix) == set()


def test_a_killed_run_is_rolled_back_and_its_files_removed(scenario: Scenario) -> None:
    for n, name in enumerate("abc"):
        scenario.put(f"{name}.parquet", scenario.profiles(30, n * 30))
    flow = scenario.flow()
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(scenario.home), flow.id, "during-conversion"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    (interrupted,) = scenario.lf.runs.list(flow.id)
    (batch,) = scenario.lf.batches.of_run(interrupted.id)
    assert stored_files(scenario.table(), batch.data_prefix), "the killed run wrote nothing"

    scenario.lf.run_flow(flow)

    assert scenario.lf.runs.get(interrupted.id).status == "failed"
    assert scenario.ids() == expected_ids((0, 90))
    assert stored_files(scenario.table(), batch.data_prefix) == set()
    table = scenario.table()
    referenced = {normalised(task.file.file_path) for task in table.scan().plan_files()}
    assert referenced == stored_files(table, table.location() + "/data")
