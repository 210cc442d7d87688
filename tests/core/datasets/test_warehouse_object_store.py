"""Datasets in an S3 warehouse (``LAKEFEED_WAREHOUSE=s3://bucket/wh``, with the warehouse's own
FileIO options), on moto and on Ceph RGW: the ingestion scenarios local disk runs (exactly once,
crash recovery, DuckDB reading what lakefeed wrote), DuckDB reading through its own S3 client,
and the warehouse failing — keys it refuses, an endpoint that does not answer — with a clear
error that holds no secret and nothing half-visible."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import duckdb_iceberg
from ingestion_suite import IngestionSuite, IngestSource
from lakefeed import Lakefeed
from lakefeed.datasets.writer import DataFileTarget, remove_batch_files
from lakefeed.errors import WarehouseAccessDenied, WarehouseError, WarehouseUnreachable
from tests_support import free_port, lakefeed
from warehouses import S3_SERVERS, Warehouse, s3_warehouse

pytestmark = pytest.mark.servers

WRONG_SECRET = "wrong-secret-4f9c2d7e1a"


@pytest.fixture(params=S3_SERVERS)
def s3(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Warehouse:
    warehouse = s3_warehouse(request.param)
    warehouse.use(monkeypatch, tmp_path)
    return warehouse


class TestS3WarehouseIngestion(IngestionSuite):
    """Local files into datasets whose tables live in the S3 warehouse."""

    @pytest.fixture(scope="class")
    @classmethod
    def source(cls, tmp_path_factory: pytest.TempPathFactory) -> IngestSource:
        root: Path = tmp_path_factory.mktemp("landing")
        return IngestSource("local-files", None, {"rootPath": str(root)}, str(root))

    @pytest.fixture(autouse=True)
    def _warehouse(self, s3: Warehouse) -> Warehouse:
        return s3


def numbered(start: int, count: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + count), pa.int64()),
            "name": [f"row {n}" for n in range(start, start + count)],
        }
    )


def landing(tmp_path: Path, **files: pa.Table) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir(exist_ok=True)
    for name, table in files.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def rows(lf: Lakefeed, dataset: str = "ids") -> list[dict[str, object]]:
    table = lf.datasets.read(lf.datasets.get(dataset)).select(["id", "name"])
    return sorted(table.to_pylist(), key=lambda row: row["id"])  # type: ignore[arg-type, return-value]


def test_rows_land_in_the_bucket_once_and_read_back_as_the_source(
    s3: Warehouse, tmp_path: Path
) -> None:
    folder = landing(tmp_path, a=numbered(0, 50), b=numbered(50, 25))
    lf = Lakefeed()

    first = lf.ingest(str(folder), ".", dataset="ids", infer=True)

    assert first.status == "success", first.metrics
    assert rows(lf) == numbered(0, 75).to_pylist()
    table = lf.datasets.table(lf.datasets.get("ids"))
    assert table.metadata_location.startswith(s3.uri + "/")
    stored = s3.stored()
    data = [key for key in stored if "/data/" in key]
    # a and b are small: one data file holds both
    assert len(data) == 1 and all(key.startswith(f"{s3.bucket}/wh/") for key in stored)
    assert not (lf.home / "warehouse").exists()  # nothing went to the local default

    second = lf.ingest(str(folder), ".", dataset="ids")
    assert second.metrics["fileSummary"]["inputFileCount"] == 0
    pq.write_table(numbered(100, 5), folder / "a.parquet")  # a new version of a
    third = lf.ingest(str(folder), ".", dataset="ids")
    assert third.metrics["fileSummary"]["inputFileCount"] == 1
    assert rows(lf) == (numbered(0, 75).to_pylist() + numbered(100, 5).to_pylist())


def test_duckdb_reads_the_table_through_its_own_s3_client(s3: Warehouse, tmp_path: Path) -> None:
    folder = landing(tmp_path, a=numbered(0, 40), b=numbered(40, 10))
    lf = Lakefeed()
    lf.ingest(str(folder), ".", dataset="ids", infer=True)
    table = lf.datasets.table(lf.datasets.get("ids"))

    secret = duckdb_iceberg.s3_secret(s3.options)
    assert "URL_STYLE 'path'" in secret and "USE_SSL false" in secret
    read = duckdb_iceberg.scan(
        table.metadata_location, "SELECT id, name FROM t ORDER BY id", s3=s3.options
    )

    assert read.to_pylist() == rows(lf)
    lineage = duckdb_iceberg.scan(
        table.metadata_location,
        "SELECT count(DISTINCT _lakefeed.batch_id) AS n FROM t",
        s3=s3.options,
    )
    assert lineage.to_pylist() == [{"n": 1}]


def switch_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warehouse: Warehouse, **changes: str
) -> dict[str, str]:
    options = {**warehouse.options, **changes}
    Warehouse(warehouse.uri, options, warehouse.fs, warehouse.bucket).use(monkeypatch, tmp_path)
    return options


@pytest.mark.parametrize("server", S3_SERVERS)
def test_a_warehouse_that_refuses_or_does_not_answer_is_a_clear_error_without_secrets(
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RGW checks signatures: a wrong secret is refused. moto accepts any key, so there the
    endpoint is one nothing listens on."""
    warehouse = s3_warehouse(server)
    warehouse.use(monkeypatch, tmp_path)
    folder = landing(tmp_path, a=numbered(0, 10))
    good = Lakefeed()
    assert good.ingest(str(folder), ".", dataset="ids", infer=True).status == "success"
    snapshots = len(good.datasets.table(good.datasets.get("ids")).metadata.snapshots)
    stored = warehouse.stored()
    if server == "rgw":
        expected, shown = WarehouseAccessDenied, "s3.secret-access-key"
        switch_options(monkeypatch, tmp_path, warehouse, **{"s3.secret-access-key": WRONG_SECRET})
    else:
        expected, shown = WarehouseUnreachable, f"http://127.0.0.1:{free_port()}"
        switch_options(
            monkeypatch,
            tmp_path,
            warehouse,
            **{"s3.endpoint": shown, "s3.secret-access-key": WRONG_SECRET},
        )
    pq.write_table(numbered(10, 5), folder / "b.parquet")
    broken = Lakefeed()
    caplog.set_level(logging.DEBUG, logger="lakefeed")

    run = broken.ingest(str(folder), ".", dataset="ids")

    assert run.status == "failed"
    (error,) = run.metrics["statusSummary"]["errors"]
    assert error["code"] == expected.code, error
    assert f"s3://{warehouse.bucket}" in error["message"]
    assert shown in error["message"]  # the run's error: what happened, then the fix
    assert "LAKEFEED_WAREHOUSE_OPTIONS_FILE" in error["message"]
    with pytest.raises(expected) as creating:
        broken.datasets.create("other", good.datasets.get("ids").schema_id)
    assert [d.name for d in broken.datasets.list()] == ["ids"]  # nothing half-made
    cli = lakefeed(broken.home, "ingest", str(folder), ".", "--dataset", "ids")
    assert cli.returncode != 0 and expected.code in cli.stdout + cli.stderr
    everything = " ".join(
        [json.dumps(run.to_dict()), str(creating.value), cli.stdout, cli.stderr, caplog.text]
    )
    assert WRONG_SECRET not in everything

    # Nothing of the refused run is visible or stored, and its file lands once with good keys.
    assert warehouse.stored() == stored
    switch_options(monkeypatch, tmp_path, warehouse)
    fixed = Lakefeed()
    table = fixed.datasets.table(fixed.datasets.get("ids"))
    assert len(table.metadata.snapshots) == snapshots
    assert (
        fixed.ingest(str(folder), ".", dataset="ids").metrics["fileSummary"]["inputFileCount"] == 1
    )
    assert rows(fixed) == numbered(0, 15).to_pylist()


def test_an_endpoint_password_is_in_no_run_error_cli_output_or_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``s3.endpoint`` with ``user:password@`` in its URL, on a port nothing listens on: the
    run fails naming the endpoint, never its password (the vendor's error quotes the URL)."""
    password = "Sup3rS3cretPw"
    warehouse = s3_warehouse("moto")
    warehouse.use(monkeypatch, tmp_path)
    folder = landing(tmp_path, a=numbered(0, 10))
    assert Lakefeed().ingest(str(folder), ".", dataset="ids", infer=True).status == "success"
    port = free_port()
    endpoint = f"http://minio:{password}@127.0.0.1:{port}"
    switch_options(monkeypatch, tmp_path, warehouse, **{"s3.endpoint": endpoint})
    pq.write_table(numbered(10, 5), folder / "b.parquet")
    broken = Lakefeed()
    caplog.set_level(logging.DEBUG, logger="lakefeed")

    run = broken.ingest(str(folder), ".", dataset="ids")
    cli = lakefeed(broken.home, "ingest", str(folder), ".", "--dataset", "ids")

    assert run.status == "failed"
    (error,) = run.metrics["statusSummary"]["errors"]
    # (aiohttp refuses credentials in a URL before it connects: a WarehouseError as it is.)
    assert error["code"] in {WarehouseError.code, WarehouseUnreachable.code}, error
    assert f"(endpoint http://127.0.0.1:{port})" in error["message"]
    assert cli.returncode != 0 and error["code"] in cli.stdout + cli.stderr
    everything = " ".join([json.dumps(run.to_dict()), cli.stdout, cli.stderr, caplog.text])
    assert password not in everything


def test_a_dataset_the_warehouse_refuses_is_not_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = s3_warehouse("rgw")
    switch_options(monkeypatch, tmp_path, warehouse, **{"s3.secret-access-key": WRONG_SECRET})
    lf = Lakefeed()
    schema = lf.schemas.create_inferred_schema("ids", {"id": {"type": "integer"}})

    with pytest.raises(WarehouseAccessDenied) as refused:
        lf.datasets.create("ids", schema["$id"])

    assert WRONG_SECRET not in str(refused.value)
    assert "creating the table of dataset 'ids'" in str(refused.value)
    assert lf.datasets.list() == []
    assert warehouse.stored() == []


def test_without_keys_the_sdk_default_chain_signs_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Keyless: only the endpoint in the options, the keys from the environment variables the
    AWS SDK's default chain reads (no profile, no instance metadata here)."""
    import s3fs

    warehouse = s3_warehouse("rgw")
    s3fs.S3FileSystem.clear_instance_cache()
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    keyless = {"s3.endpoint": warehouse.options["s3.endpoint"]}
    Warehouse(warehouse.uri, keyless, warehouse.fs, warehouse.bucket).use(monkeypatch, tmp_path)
    lf = Lakefeed()
    schema = lf.schemas.create_inferred_schema("ids", {"id": {"type": "integer"}})
    with pytest.raises(WarehouseAccessDenied, match="Unable to locate credentials"):
        lf.datasets.create("ids", schema["$id"])

    s3fs.S3FileSystem.clear_instance_cache()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", warehouse.options["s3.access-key-id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", warehouse.options["s3.secret-access-key"])
    folder = landing(tmp_path, a=numbered(0, 10))
    try:
        run = Lakefeed().ingest(str(folder), ".", dataset="ids", infer=True)
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert run.status == "success", run.metrics
    assert any("/data/" in key for key in warehouse.stored())


def test_table_properties_cannot_redirect_the_warehouse(s3: Warehouse, tmp_path: Path) -> None:
    """pyiceberg lets a table's properties override its catalog's FileIO properties: a table
    whose metadata names another endpoint and keys must still be read with the operator's."""
    folder = landing(tmp_path, a=numbered(0, 10))
    lf = Lakefeed()
    lf.ingest(str(folder), ".", dataset="ids", infer=True)
    dataset = lf.datasets.get("ids")
    redirect = {
        "s3.endpoint": f"http://127.0.0.1:{free_port()}",
        "s3.access-key-id": "someone-else",
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
    }
    with lf.datasets.table(dataset).transaction() as tx:
        tx.set_properties(redirect)

    table = Lakefeed().datasets.table(dataset)

    assert table.metadata.properties["s3.endpoint"] == redirect["s3.endpoint"]  # stored, unused
    assert table.io.properties["s3.endpoint"] == s3.options["s3.endpoint"]
    assert type(table.io).__name__ == "FsspecFileIO"
    assert rows(Lakefeed()) == numbered(0, 10).to_pylist()


def test_pyarrows_file_io_when_the_options_choose_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``py-io-impl`` picks pyiceberg's pyarrow FileIO instead of fsspec's; writing, reading and
    removing a rolled-back batch's files go through it. (moto only: pyarrow's AWS SDK sends
    chunked uploads that Ceph RGW 16 refuses unless AWS_REQUEST_CHECKSUM_CALCULATION is
    ``when_required``, see docs/reference/configuration.md.)"""
    warehouse = s3_warehouse("moto")
    switch_options(
        monkeypatch,
        tmp_path,
        warehouse,
        **{"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO", "s3.region": "us-east-1"},
    )
    folder = landing(tmp_path, a=numbered(0, 10))
    lf = Lakefeed()
    assert lf.ingest(str(folder), ".", dataset="ids", infer=True).status == "success"
    table = lf.datasets.table(lf.datasets.get("ids"))
    assert type(table.io).__name__ == "PyArrowFileIO"
    assert rows(lf) == numbered(0, 10).to_pylist()
    prefix = f"{table.location()}/data/lakefeed-batch-aborted"
    for name in ("000001-000.parquet", "000002-000.parquet"):
        with table.io.new_output(f"{prefix}/{name}").create() as stream:
            stream.write(b"never committed")

    assert remove_batch_files(table, prefix) == 2
    assert not [key for key in warehouse.stored() if "lakefeed-batch-aborted" in key]


def test_the_warehouse_secret_is_in_no_repr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "distinctive-secret-9d1e7c"  # moto takes any key
    warehouse = s3_warehouse("moto")
    switch_options(monkeypatch, tmp_path, warehouse, **{"s3.secret-access-key": secret})
    folder = landing(tmp_path, a=numbered(0, 10))
    lf = Lakefeed()
    lf.ingest(str(folder), ".", dataset="ids", infer=True)
    table = lf.datasets.table(lf.datasets.get("ids"))
    target = DataFileTarget.of(
        table, batch_id="b", run_id="r", data_prefix=f"{table.location()}/data/x"
    )

    assert lf.settings.warehouse_options["s3.secret-access-key"] == secret
    assert target.io_properties["s3.secret-access-key"] == secret  # it travels to executors
    assert secret not in repr(lf.settings) and secret not in repr(target)
