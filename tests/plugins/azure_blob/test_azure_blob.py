"""Azure Blob plugin against Azurite: the contract suite with a connection string, SAS URIs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import InvalidAuthParams, StorageAuthenticationFailed
from lakefeed.testing.contract import ContractBackend, StorageContract, ensure_folder, put
from lakefeed_azure_blob.source import split_sas_uri
from tests_support import WRONG_AZURE_KEY, server_env

pytestmark = pytest.mark.servers


def connection_string(key: str | None = None, port: int | None = None) -> str:
    text = server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")
    if key is not None:
        text = text.replace(server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY"), key)
    if port is not None:
        text = text.replace("127.0.0.1:10000", f"127.0.0.1:{port}")
    return text


class TestAzureBlobContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        return ContractBackend(
            spec="azure-blob",
            auth_spec="ConnectionString",
            params={"connectionString": connection_string()},
            base="/lakefeed-blob",
            bad_params={"connectionString": connection_string(key=WRONG_AZURE_KEY)},
            unreachable_params={"connectionString": connection_string(port=1)},
            # Flat namespace: a folder exists only while a blob is in it.
            has_empty_folders=False,
        )


def sas_uri(container: str | None = None) -> str:
    from azure.storage.blob import (
        AccountSasPermissions,
        ContainerSasPermissions,
        ResourceTypes,
        generate_account_sas,
        generate_container_sas,
    )

    account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
    key = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY")
    expiry = datetime.now(UTC) + timedelta(hours=1)
    if container is None:
        token = generate_account_sas(
            account,
            key,
            ResourceTypes(service=True, container=True, object=True),
            AccountSasPermissions(read=True, list=True),
            expiry,
        )
        return f"http://127.0.0.1:10000/{account}?{token}"
    token = generate_container_sas(
        account,
        container,
        key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=expiry,
    )
    return f"http://127.0.0.1:10000/{account}/{container}?{token}"


@pytest.fixture
def container() -> str:
    name = f"sas-{uuid.uuid4().hex[:8]}"
    session = Lakefeed().session_for(
        "azure-blob", {"connectionString": connection_string()}, "ConnectionString"
    )
    ensure_folder(session.fs, name)
    put(session, {f"/{name}/in/a.parquet": b"PAR1", f"/{name}/in/b.parquet": b"PAR1"})
    return name


def sas_session(uri: str) -> Any:
    return Lakefeed().session_for("azure-blob", {"sasUri": uri}, "SAS URI Authentication")


def test_account_sas_uri_lists_files(container: str) -> None:
    session = sas_session(sas_uri())
    assert "listed" in session.test()
    assert [e.name for e in session.ls(f"/{container}/in")] == ["a.parquet", "b.parquet"]


def test_container_sas_uri_roots_relative_paths_at_the_container(container: str) -> None:
    session = sas_session(sas_uri(container))
    assert session.test() == f"listed container {container!r}: 1 entries"
    assert [e.path for e in session.ls("in")] == [
        f"{container}/in/a.parquet",
        f"{container}/in/b.parquet",
    ]


def test_tampered_sas_signature_is_an_auth_failure(container: str) -> None:
    uri = sas_uri(container)
    tampered = uri.replace("sig=", "sig=AAAA")
    with pytest.raises(StorageAuthenticationFailed) as caught:
        list(sas_session(tampered).ls("in"))
    assert "sig=AAAA" not in str(caught.value) and uri.split("sig=")[1][:20] not in str(
        caught.value
    )


def test_malformed_sas_uri_is_rejected_with_a_fix() -> None:
    with pytest.raises(InvalidAuthParams, match="SAS URI"):
        sas_session("not a uri").test()


def test_split_sas_uri_handles_public_and_emulator_hosts() -> None:
    assert split_sas_uri("https://acct.blob.core.windows.net/c1?sv=1&sig=x") == (
        "https://acct.blob.core.windows.net",
        "sv=1&sig=x",
        "c1",
    )
    assert split_sas_uri("http://127.0.0.1:10000/devstoreaccount1?sv=1&sig=x") == (
        "http://127.0.0.1:10000/devstoreaccount1",
        "sv=1&sig=x",
        "",
    )
