"""Azure Blob source: the shared Blob-API source (:mod:`lakefeed.storage.azure`) opened with a
connection string, a SAS URI or the machine's DefaultAzureCredential. A SAS URI becomes a
connection string with ``SharedAccessSignature`` so that account-level, container-level and
emulator URIs all work."""

from __future__ import annotations

from typing import Any

from lakefeed.errors import InvalidAuthParams
from lakefeed.secrets import AuthParams
from lakefeed.storage.azure import (
    AzureBlobApiSource,
    azure_filesystem,
    check_token_endpoint,
    connection_string_endpoints,
    default_credential_filesystem,
    is_path_style,
)
from lakefeed.storage.source import split_url, url_endpoint
from lakefeed_azure_blob.spec import DEFAULT_CREDENTIAL, SAS_URI, SPEC


def split_sas_uri(uri: str) -> tuple[str, str, str]:
    """``(blob endpoint, sas token, container or "")`` of a SAS URI."""
    parts = split_url(uri, "The SAS URI")
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.query:
        raise InvalidAuthParams(
            "The SAS URI must look like https://ACCOUNT.blob.core.windows.net/?sv=...&sig=... "
            "(scheme, host and a query with the signature).",
            fix="Copy the full 'Blob SAS URL' from the Azure portal or `az storage ... sas`.",
        )
    segments = [s for s in parts.path.split("/") if s]
    account_segments = 1 if is_path_style(parts.netloc) else 0
    endpoint_path = "/".join(segments[:account_segments])
    endpoint = f"{parts.scheme}://{parts.netloc}" + (f"/{endpoint_path}" if endpoint_path else "")
    container = segments[account_segments] if len(segments) > account_segments else ""
    return endpoint, parts.query, container


def sas_connection_string(uri: str) -> str:
    """The connection string a SAS URI is opened with."""
    endpoint, token, _ = split_sas_uri(uri)
    return f"BlobEndpoint={endpoint};SharedAccessSignature={token}"


class AzureBlobFiles(AzureBlobApiSource):
    spec = SPEC
    requires = (("adlfs", "lakefeed[azure]"), ("azure.identity", "lakefeed[azure]"))

    def filesystem(self, auth: AuthParams) -> Any:
        if auth.spec_name == DEFAULT_CREDENTIAL:
            return default_credential_filesystem(auth["serviceEndpoint"])
        return azure_filesystem(connection_string=self._connection_string(auth))

    def _connection_string(self, auth: AuthParams) -> str:
        if auth.spec_name == SAS_URI:
            return sas_connection_string(auth["sasUri"])
        return str(auth["connectionString"])

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == DEFAULT_CREDENTIAL:
            check_token_endpoint(auth["serviceEndpoint"], "serviceEndpoint")
        self.endpoint(auth)  # parses the SAS URI or connection string

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        return self.endpoints(auth)[0]

    def endpoints(self, auth: AuthParams) -> list[tuple[str, int]]:
        if auth.spec_name == DEFAULT_CREDENTIAL:
            return [url_endpoint(auth["serviceEndpoint"])]
        # From the very string the filesystem is opened with: a SAS token holding
        # ";BlobEndpoint=…" would otherwise point the SDK elsewhere than what is checked.
        return connection_string_endpoints(self._connection_string(auth))

    def root(self, auth: AuthParams, fs: Any) -> str:
        if auth.spec_name == SAS_URI:
            return split_sas_uri(auth["sasUri"])[2]
        return ""

    def test(self, auth: AuthParams, fs: Any) -> str:
        root = self.root(auth, fs)
        if root:
            # A container SAS may not list the account: check the container itself.
            items = fs.ls(root, detail=False)
            return f"listed container {root!r}: {len(items)} entries"
        return super().test(auth, fs)
