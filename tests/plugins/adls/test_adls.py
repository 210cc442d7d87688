"""ADLS Gen2 plugin against Azurite through the Blob API (what Azurite can emulate: see
docs/reference/plugins.md). Account key via the account URL, and connection string."""

from __future__ import annotations

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import InvalidAuthParams
from lakefeed.testing.contract import ContractBackend, StorageContract, ensure_folder, put
from lakefeed_adls.source import parse_account_url
from tests_support import WRONG_AZURE_KEY, server_env

pytestmark = pytest.mark.servers
AUTH = "Account Key Authentication for adls-gen2"


def account_url(port: int = 10000) -> str:
    return f"http://127.0.0.1:{port}/{server_env('LAKEFEED_TEST_AZURE_ACCOUNT_NAME')}"


class TestAdlsContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        key = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY")
        return ContractBackend(
            spec="adls-gen2",
            auth_spec=AUTH,
            params={"url": account_url(), "accountKey": key},
            base="/lakefeed-adls",
            bad_params={"url": account_url(), "accountKey": WRONG_AZURE_KEY},
            unreachable_params={"url": account_url(port=1), "accountKey": key},
            has_empty_folders=False,  # Azurite has no hierarchical namespace
        )


def test_abfs_urls_and_connection_string_variant() -> None:
    lf = Lakefeed()
    session = lf.session_for(
        "adls-gen2",
        {"connectionString": server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")},
        "Connection String Authentication for adls-gen2",
    )
    ensure_folder(session.fs, "lake")
    put(session, {"/lake/raw/x.parquet": b"PAR1"})
    account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
    for url in ("abfs://lake/raw", f"abfss://lake@{account}.dfs.core.windows.net/raw"):
        assert [e.path for e in session.ls(url)] == ["lake/raw/x.parquet"]


def test_account_url_parsing() -> None:
    assert parse_account_url("https://acct.dfs.core.windows.net") == (
        "acct",
        "https",
        "https://acct.blob.core.windows.net",
    )
    assert parse_account_url("http://127.0.0.1:10000/devstoreaccount1/") == (
        "devstoreaccount1",
        "http",
        "http://127.0.0.1:10000/devstoreaccount1",
    )
    with pytest.raises(InvalidAuthParams, match=r"dfs\.core\.windows\.net"):
        parse_account_url("acct")


def test_service_principal_maps_to_adlfs_credentials() -> None:
    session = Lakefeed().session_for(
        "adls-gen2",
        {
            "url": "https://acct.dfs.core.windows.net",
            "servicePrincipalId": "app-id",
            "servicePrincipalKey": "app-secret",
            "tenant": "contoso.onmicrosoft.com",
        },
        "Basic Authentication for adls-gen2",
    )
    fs = session.fs  # builds the client; no network until first use
    assert (fs.account_name, fs.client_id, fs.tenant_id) == (
        "acct",
        "app-id",
        "contoso.onmicrosoft.com",
    )
