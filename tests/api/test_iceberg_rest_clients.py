"""Real Iceberg clients against the REST catalog of a real server: pyiceberg's ``RestCatalog``
and DuckDB's ``ATTACH … (TYPE iceberg)`` find a dataset by name and read the rows lakefeed
reads. The client code is the how-to's (docs/how-to/query-engines.md), run as written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError, NoSuchTableError, UnauthorizedError

import duckdb_iceberg
from api_support import ORG, Server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema, profile_table

HOWTO = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "query-engines.md"
BLOCK = re.compile(
    r"<!-- test: tests/api/test_iceberg_rest_clients\.py -->\s*\n```python\n(?P<body>.*?)^```",
    re.M | re.S,
)
BLOCKS = [match["body"] for match in BLOCK.finditer(HOWTO.read_text(encoding="utf-8"))]
PYICEBERG_TOKEN, PYICEBERG_CREDENTIAL, DUCKDB_TOKEN, DUCKDB_CREDENTIAL = range(4)


@dataclass(frozen=True)
class Lake:
    lf: Lakefeed  # prod of ORG
    api_key: str
    secret: str
    token: str

    def expected(self, name: str = "profiles") -> pa.Table:
        """What lakefeed reads of the dataset."""
        return self.lf.datasets.read(self.lf.datasets.get(name))


@pytest.fixture(scope="module")
def lake(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Dataset "profiles": 30 rows in two commits (three data files); "Q1 sales.v2": empty."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    tenant = lf.schemas.tenant_id
    schema = create_profile_schema(lf.schemas)["$id"]
    first, second = (tmp_path_factory.mktemp(n) for n in ("first", "second"))
    pq.write_table(profile_table(12, tenant_id=tenant), first / "a.parquet")
    pq.write_table(profile_table(8, tenant_id=tenant, start=12), first / "b.parquet")
    pq.write_table(profile_table(10, tenant_id=tenant, start=20), second / "c.parquet")
    for folder in (first, second):
        assert lf.ingest(str(folder), ".", dataset="profiles", schema=schema).status == "success"
    lf.datasets.create("Q1 sales.v2", schema)
    api_key, secret = server.lf.auth.create_client(ORG)
    token = httpx.post(
        f"{server.url}/ims/token/v3",
        data={"client_id": api_key, "client_secret": secret, "grant_type": "client_credentials"},
    ).json()["access_token"]
    return Lake(lf, api_key, secret, token)


@pytest.fixture
def environment(server: Server, lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell variables the how-to's blocks read."""
    monkeypatch.setenv("SERVER", server.url)
    monkeypatch.setenv("TOKEN", lake.token)
    monkeypatch.setenv("API_KEY", lake.api_key)
    monkeypatch.setenv("CLIENT_SECRET", lake.secret)


def run_block(index: int, **given: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = dict(given)
    exec(compile(BLOCKS[index], f"query-engines.md block {index + 1}", "exec"), namespace)
    return namespace


def by_id(table: pa.Table) -> list[dict[str, Any]]:
    # DuckDB's Arrow schema differs in ways that do not matter (nullability, list item
    # names, the time zone's spelling); the values must not.
    return sorted(table.to_pylist(), key=lambda row: row["_id"])


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """iceberg and avro loaded offline from PyPI's packages; the how-to loads httpfs, from
    the same folder (duckdb-ext-httpfs)."""
    return duckdb_iceberg.connect()


def test_the_how_to_has_the_blocks_this_module_runs() -> None:
    assert len(BLOCKS) == 4, f"{HOWTO.name}: expected 4 marked python blocks, found {len(BLOCKS)}"


# -- pyiceberg ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("environment")
def test_pyiceberg_finds_the_dataset_by_name_and_reads_its_rows(lake: Lake) -> None:
    found = run_block(PYICEBERG_TOKEN)
    catalog = found["catalog"]
    assert catalog.list_namespaces() == [("prod",)]
    assert catalog.list_tables("prod") == [("prod", "Q1 sales.v2"), ("prod", "profiles")]
    rows, expected = found["rows"], lake.expected()
    assert rows.num_rows == expected.num_rows == 30
    assert rows.sort_by("_id").equals(expected.sort_by("_id"))
    assert len(found["table"].snapshots()) == 2
    assert catalog.load_table(("prod", "Q1 sales.v2")).scan().to_arrow().num_rows == 0


@pytest.mark.usefixtures("environment")
def test_pyiceberg_exchanges_the_client_credentials(lake: Lake) -> None:
    rows = run_block(PYICEBERG_CREDENTIAL)["rows"]
    assert sorted(rows["_id"].to_pylist()) == sorted(lake.expected()["_id"].to_pylist())


def test_pyiceberg_loads_a_renamed_dataset_under_its_new_name(server: Server, lake: Lake) -> None:
    catalog = RestCatalog("lakefeed", uri=f"{server.url}/iceberg", token=lake.token)
    schema = lake.lf.datasets.get("profiles").schema_id
    dataset = lake.lf.datasets.create("draft", schema)
    try:
        assert catalog.table_exists(("prod", "draft"))
        lake.lf.update_dataset(dataset.id, name="final")
        table = catalog.load_table(("prod", "final"))
        assert table.metadata_location == lake.lf.datasets.table(dataset).metadata_location
        assert not catalog.table_exists(("prod", "draft"))
        with pytest.raises(NoSuchTableError, match="NoSuchTableException"):
            catalog.load_table(("prod", "draft"))
    finally:
        lake.lf.delete_dataset(dataset.id)


def test_pyiceberg_errors_are_the_clients_own(server: Server, lake: Lake) -> None:
    uri = f"{server.url}/iceberg"
    with pytest.raises(UnauthorizedError, match="NotAuthorizedException"):
        RestCatalog("lakefeed", uri=uri, token="not-a-token")
    server.lf.auth.create_sandbox(ORG, "qa")
    qa_only, _ = server.lf.auth.create_client(ORG, ("qa",))
    token, _ = server.lf.auth.issue_token(qa_only)
    with pytest.raises(ForbiddenError, match="may not use sandbox 'prod'"):
        RestCatalog("lakefeed", uri=uri, token=token, warehouse="prod")
    catalog = RestCatalog("lakefeed", uri=uri, token=lake.token)
    with pytest.raises(NoSuchTableError):
        catalog.load_table(("prod", "missing"))
    with pytest.raises(NotImplementedError):  # not advertised: refused before any request
        catalog.create_table(("prod", "new"), schema=pa.schema([("a", pa.int32())]))


# -- DuckDB ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("environment")
def test_duckdb_attaches_the_warehouse_and_reads_the_rows_lakefeed_reads(lake: Lake) -> None:
    with duckdb_connection() as con:
        found = run_block(DUCKDB_TOKEN, con=con)
        assert found["count"] == (30,)
        assert found["empty"] == (0,)
        assert by_id(found["rows"]) == by_id(lake.expected())
        tables = {(row[1], row[2]) for row in con.sql("SHOW ALL TABLES").fetchall()}
        assert tables == {("prod", "profiles"), ("prod", "Q1 sales.v2")}


@pytest.mark.usefixtures("environment")
def test_duckdb_exchanges_the_client_credentials() -> None:
    with duckdb_connection() as con:
        assert run_block(DUCKDB_CREDENTIAL, con=con)["count"] == (30,)


@pytest.mark.usefixtures("environment")
def test_duckdb_writes_are_refused_naming_flows(lake: Lake) -> None:
    with duckdb_connection() as con:
        run_block(DUCKDB_TOKEN, con=con)
        for statement in (
            "CREATE TABLE lakefeed.prod.fresh (a INTEGER)",
            "INSERT INTO lakefeed.prod.profiles SELECT * FROM lakefeed.prod.profiles LIMIT 1",
            "DROP TABLE lakefeed.prod.profiles",
        ):
            with pytest.raises(duckdb.Error, match="read-only") as refused:
                con.execute(statement)
            assert "405" in str(refused.value) and "flow" in str(refused.value)
    assert lake.expected().num_rows == 30
    assert [d.name for d in lake.lf.datasets.list()] == ["profiles", "Q1 sales.v2"]
