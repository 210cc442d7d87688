"""ADLS Gen2's ``Default Azure Credential for adls-gen2`` auth spec, through the
environment-variable branch of azure-identity's DefaultAzureCredential, against Azurite's Blob
API. What is proven and what is not: as for Azure Blob
(``tests/plugins/azure_blob/test_azure_blob_ambient.py``): the grant sent to a local Microsoft
Entra token endpoint and its token on every storage request are real; Entra ID accepting the
secret and the storage checking the token are not (Azurite checks no token)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from identity_support import CLIENT_SECRET, TENANT_ID, EntraWorld, entra_world, lakefeed_with
from lakefeed import Lakefeed
from lakefeed.errors import InvalidAuthParams
from tests_support import server_env

pytestmark = pytest.mark.servers
AUTH = "Default Azure Credential for adls-gen2"


def parquet(ids: list[int]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": ids}), sink)
    return sink.getvalue()


@pytest.fixture
def entra(tmp_path: Path) -> Iterator[EntraWorld]:
    files = {"raw/2026/a.parquet": parquet([1, 2]), "raw/2026/b.parquet": parquet([3])}
    with entra_world(
        tmp_path,
        server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING"),
        server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME"),
        files,
    ) as world:
        yield world


def test_service_principal_from_the_environment_lists_and_ingests(
    entra: EntraWorld, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
    abfs = f"abfss://{entra.container}@{account}.dfs.core.windows.net/raw"
    steps = [
        ("connections", "create", "lake", "--spec", "adls-gen2", "--auth", "default-azure",
         "-p", f"url={entra.account_url}"),
        ("ls", "lake", abfs, "--recursive", "--json"),
        ("ingest", "lake", f"/{entra.container}/raw", "--dataset", "lake", "--infer", "-r",
         "--json"),
    ]  # fmt: skip
    results = [lakefeed_with(home, entra.environment, *step) for step in steps]
    for step, result in zip(steps, results, strict=True):
        assert result.returncode == 0, (step, result.stdout, result.stderr)
        assert CLIENT_SECRET not in result.stdout + result.stderr

    listed = [item["path"] for item in json.loads(results[1].stdout)["items"]]
    assert sorted(listed) == [f"{entra.container}/raw/2026/{n}.parquet" for n in ("a", "b")]
    lf = Lakefeed(home=home)
    assert sorted(lf.datasets.read(lf.datasets.get("lake")).column("id").to_pylist()) == [1, 2, 3]
    assert {path for path, _ in entra.tokens.grants} == {f"/{TENANT_ID}/oauth2/v2.0/token"}
    assert entra.storage.requests
    assert entra.bearer_tokens() <= {f"Bearer {token}" for token in entra.tokens.tokens}
    connection = lf.connection("lake")
    assert (connection.auth.spec_name, dict(connection.auth)) == (AUTH, {"url": entra.account_url})


def test_the_account_url_is_the_only_endpoint_and_needs_https() -> None:
    lf = Lakefeed()
    session = lf.session_for("adls-gen2", {"url": "https://acct.dfs.core.windows.net"}, AUTH)
    fs = session.fs  # builds the credential; no request until a token is needed
    assert type(fs.credential).__name__ == "DefaultAzureCredential"
    assert fs.account_url == "https://acct.blob.core.windows.net"
    assert session.source_type.endpoints(session.auth) == [("acct.blob.core.windows.net", 443)]
    with pytest.raises(InvalidAuthParams, match="https only"):
        lf.session_for("adls-gen2", {"url": "http://127.0.0.1:10000/devstoreaccount1"}, AUTH)
