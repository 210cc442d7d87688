"""Table maintenance in a warehouse on object storage (S3 on moto and Ceph RGW, GCS, Azure):
compaction, expiry and orphan removal go through the table's own FileIO, as on local disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from maintenance_support import SmallBatches, data_files, lineage
from warehouses import S3_SERVERS, Warehouse, azure_warehouse, gcs_warehouse, s3_warehouse

pytestmark = pytest.mark.servers


@pytest.fixture(params=[*S3_SERVERS, "gcs", "azure"])
def warehouse(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Warehouse:
    if request.param == "gcs":
        found = gcs_warehouse()
    elif request.param == "azure":
        found = azure_warehouse()
    else:
        found = s3_warehouse(request.param)
    found.use(monkeypatch, tmp_path)
    return found


def test_compact_expire_and_remove_orphans_in_the_bucket(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    batches = SmallBatches.make(tmp_path)
    for _ in range(5):
        batches.batch(20)
    before = lineage(batches.rows())
    table = batches.table()
    stray = f"{warehouse.bucket}{table.location().split(warehouse.bucket, 1)[1]}/data/stray.bin"
    warehouse.fs.pipe(stray, b"left behind")

    compacted = batches.lf.compact_dataset("profiles")
    expired = batches.lf.expire_snapshots("profiles", older_than="0s")
    orphans = batches.lf.remove_orphan_files("profiles", older_than="0s", force=True)

    assert (compacted.files_before, compacted.files_after) == (5, 1)
    assert len(expired.expired_snapshots) == 5 and expired.deleted_files == 15
    assert not expired.failed_files and not orphans.failed_files
    assert [o.rsplit("/", 1)[-1] for o in orphans.orphans] == ["stray.bin"]
    stored = warehouse.stored()
    assert stray not in stored
    table = batches.table()
    (live,) = data_files(table)
    (data,) = [p for p in stored if "/data/" in p]  # only the compacted file is left
    assert data.endswith(live.file_path.split("/data/", 1)[1])
    assert lineage(batches.rows()) == before
    assert batches.lf.remove_orphan_files("profiles", older_than="0s", force=True).orphans == []
