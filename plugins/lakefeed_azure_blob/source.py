"""Azure Blob source over adlfs. A SAS URI becomes a connection string with
``SharedAccessSignature`` so that account-level, container-level and emulator URIs all work."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lakefeed.errors import InvalidAuthParams
from lakefeed.secrets import AuthParams
from lakefeed.storage import SourceType
from lakefeed.storage.source import url_endpoint
from lakefeed_azure_blob.spec import SPEC


def azure_filesystem(**kwargs: Any) -> Any:
    """An adlfs filesystem with bounded timeouts; never falls back to ambient credentials
    for the arguments given."""
    from adlfs import AzureBlobFileSystem

    return AzureBlobFileSystem(
        skip_instance_cache=True,
        connection_timeout=10,
        read_timeout=60,
        # adlfs keeps the container listing only in its listings cache (turning it off breaks
        # ls("")); each session has its own instance, so the cache lives one session.
        **kwargs,
    )


def _is_path_style(host: str) -> bool:
    """Emulators and IP endpoints put the account in the path, not the host name."""
    name = host.split(":")[0]
    return name in ("localhost",) or name.replace(".", "").isdigit()


def split_sas_uri(uri: str) -> tuple[str, str, str]:
    """``(blob endpoint, sas token, container or "")`` of a SAS URI."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.query:
        raise InvalidAuthParams(
            "The SAS URI must look like https://ACCOUNT.blob.core.windows.net/?sv=...&sig=... "
            "(scheme, host and a query with the signature).",
            fix="Copy the full 'Blob SAS URL' from the Azure portal or `az storage ... sas`.",
        )
    segments = [s for s in parts.path.split("/") if s]
    account_segments = 1 if _is_path_style(parts.netloc) else 0
    endpoint_path = "/".join(segments[:account_segments])
    endpoint = f"{parts.scheme}://{parts.netloc}" + (f"/{endpoint_path}" if endpoint_path else "")
    container = segments[account_segments] if len(segments) > account_segments else ""
    return endpoint, parts.query, container


def connection_string_endpoint(connection_string: str) -> tuple[str, int]:
    """The Blob endpoint a connection string points at (explicit, or account + suffix)."""
    fields = dict(
        part.split("=", 1)
        for part in connection_string.strip().strip(";").split(";")
        if "=" in part
    )
    if fields.get("BlobEndpoint"):
        return url_endpoint(fields["BlobEndpoint"])
    if not fields.get("AccountName"):
        raise InvalidAuthParams(
            "The connection string has neither BlobEndpoint nor AccountName.",
            fix="Copy the full connection string from the storage account's Access keys page.",
        )
    suffix = fields.get("EndpointSuffix", "core.windows.net")
    scheme = fields.get("DefaultEndpointsProtocol", "https")
    return url_endpoint(f"{scheme}://{fields['AccountName']}.blob.{suffix}")


class AzureBlobFiles(SourceType):
    spec = SPEC
    requires = (("adlfs", "lakefeed[azure]"),)

    def filesystem(self, auth: AuthParams) -> Any:
        if auth.spec_name == "SAS URI Authentication":
            endpoint, token, _ = split_sas_uri(auth["sasUri"])
            connection_string = f"BlobEndpoint={endpoint};SharedAccessSignature={token}"
            return azure_filesystem(connection_string=connection_string)
        return azure_filesystem(connection_string=auth["connectionString"])

    def check_params(self, auth: AuthParams) -> None:
        self.endpoint(auth)  # parses the SAS URI or connection string

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        if auth.spec_name == "SAS URI Authentication":
            return url_endpoint(split_sas_uri(auth["sasUri"])[0])
        return connection_string_endpoint(auth["connectionString"])

    def root(self, auth: AuthParams, fs: Any) -> str:
        if auth.spec_name == "SAS URI Authentication":
            return split_sas_uri(auth["sasUri"])[2]
        return ""

    def test(self, auth: AuthParams, fs: Any) -> str:
        root = self.root(auth, fs)
        if root:
            # A container SAS may not list the account: check the container itself.
            items = fs.ls(root, detail=False)
            return f"listed container {root!r}: {len(items)} entries"
        return super().test(auth, fs)
