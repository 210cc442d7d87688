"""Azure Blob's ``Default Azure Credential`` auth spec, through the environment-variable branch
of azure-identity's DefaultAzureCredential (a service principal with a client secret).

What is real and what is not: the CLI runs as a process whose environment holds the service
principal; azure-identity asks a local Microsoft Entra token endpoint (HTTPS, with a
certificate the process trusts) for a token with the very grant Entra ID would get; the Blob
requests carry that token to Azurite through a TLS terminator that records it, and Azurite
answers them. What no local server can show is Entra ID accepting the secret and Azure Storage
accepting the token: Azurite checks no Microsoft Entra token (it has no Entra ID to ask), so
the container is public.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from identity_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    STORAGE_SCOPE,
    TENANT_ID,
    EntraWorld,
    entra_world,
    lakefeed_with,
)
from lakefeed import Lakefeed
from lakefeed.errors import InvalidAuthParams, UnknownAuthSpec
from tests_support import server_env

pytestmark = pytest.mark.servers
AUTH = "Default Azure Credential"


def parquet(rows: int, start: int = 0) -> bytes:
    sink = io.BytesIO()
    ids = list(range(start, start + rows))
    pq.write_table(pa.table({"id": ids, "name": [f"n{i}" for i in ids]}), sink)
    return sink.getvalue()


@pytest.fixture
def entra(tmp_path: Path) -> Iterator[EntraWorld]:
    files = {"in/a.parquet": parquet(3), "in/2026/b.parquet": parquet(2, 100)}
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
    steps = [
        ("connections", "create", "az", "--spec", "azure-blob",
         "--auth", "default-azure-credential", "-p", f"serviceEndpoint={entra.account_url}"),
        ("ls", "az", f"/{entra.container}/in", "--recursive", "--json"),
        ("ingest", "az", f"/{entra.container}/in", "--dataset", "entra", "--infer", "--recursive",
         "--json"),
        ("connections", "show", "az", "--json"),
    ]  # fmt: skip
    results = [lakefeed_with(home, entra.environment, *step) for step in steps]
    for step, result in zip(steps, results, strict=True):
        assert result.returncode == 0, (step, result.stdout, result.stderr)
        assert CLIENT_SECRET not in result.stdout + result.stderr

    listed = sorted(item["path"] for item in json.loads(results[1].stdout)["items"])
    assert listed == [f"{entra.container}/in/2026/b.parquet", f"{entra.container}/in/a.parquet"]
    outcome = json.loads(results[2].stdout)["metrics"]["statusSummary"]["extensions"]["outcome"]
    assert outcome == "success"
    lf = Lakefeed(home=home)
    rows = lf.datasets.read(lf.datasets.get("entra")).column("id").to_pylist()
    assert sorted(rows) == [0, 1, 2, 100, 101]
    # The client-credentials grant Entra ID would get, and its token on every Blob request.
    paths = {path for path, _ in entra.tokens.grants}
    assert paths == {f"/{TENANT_ID}/oauth2/v2.0/token"}
    for _, grant in entra.tokens.grants:
        assert grant["grant_type"] == "client_credentials"
        assert (grant["client_id"], grant["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
        assert grant["scope"] == STORAGE_SCOPE
    assert entra.storage.requests
    assert entra.bearer_tokens() <= {f"Bearer {token}" for token in entra.tokens.tokens}
    # Nothing of the identity is stored with the connection.
    (shown,) = json.loads(results[3].stdout)["items"]
    assert shown["auth"] == {"specName": AUTH, "params": {"serviceEndpoint": entra.account_url}}


def test_a_refused_client_secret_fails_the_connection_without_showing_it(
    entra: EntraWorld, tmp_path: Path
) -> None:
    entra.tokens.refuse = True
    home = tmp_path / "home"
    created = lakefeed_with(
        home, entra.environment, "connections", "create", "az", "--spec", "azure-blob",
        "--auth", AUTH, "-p", f"serviceEndpoint={entra.account_url}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    tested = lakefeed_with(home, entra.environment, "connections", "test", "az")
    assert tested.returncode == 1
    assert "Error LF-2401: Authentication failed" in tested.stderr  # StorageAuthenticationFailed
    assert "AADSTS7000215" in tested.stderr
    assert CLIENT_SECRET not in tested.stdout + tested.stderr
    # Asked once: a refusal is final, not retried after the SDK's back-offs (15 s and more,
    # past the connection test's deadline). No token, no request to the storage.
    assert len(entra.tokens.grants) == 1
    assert not entra.storage.requests


def test_the_filesystem_gets_a_default_azure_credential() -> None:
    session = Lakefeed().session_for(
        "azure-blob", {"serviceEndpoint": "https://acct.blob.core.windows.net/"}, AUTH
    )
    fs = session.fs  # builds the credential; no request until a token is needed
    assert type(fs.credential).__name__ == "DefaultAzureCredential"
    assert (fs.account_name, fs.account_url) == ("acct", "https://acct.blob.core.windows.net")
    assert session.source_type.endpoints(session.auth) == [("acct.blob.core.windows.net", 443)]


def test_plain_http_endpoints_and_guessing_are_refused() -> None:
    lf = Lakefeed()
    with pytest.raises(InvalidAuthParams, match="https only"):
        lf.create_connection("az", "azure-blob", AUTH, {"serviceEndpoint": "http://127.0.0.1:1/a"})
    with pytest.raises(UnknownAuthSpec, match="only when named"):
        lf.create_connection(
            "az", "azure-blob", None, {"serviceEndpoint": "https://acct.blob.core.windows.net"}
        )
