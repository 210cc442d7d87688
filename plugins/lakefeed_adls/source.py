"""ADLS Gen2 source: the shared Blob-API source (:mod:`lakefeed.storage.azure`). adlfs speaks
the Blob API to the account, which works against real accounts (hierarchical namespace on) and
against Azurite (which has no DFS endpoint)."""

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
from lakefeed_adls.spec import ACCOUNT_KEY, CONNECTION_STRING, DEFAULT_CREDENTIAL, SPEC


def parse_account_url(url: str) -> tuple[str, str, str]:
    """``(account name, scheme, blob endpoint)`` of an ADLS account URL."""
    parts = split_url(url, "The ADLS Gen2 url")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidAuthParams(
            f"The ADLS Gen2 url {url!r} is not an account URL.",
            fix="Use https://ACCOUNT.dfs.core.windows.net.",
        )
    if is_path_style(parts.netloc):
        account = parts.path.strip("/").split("/")[0]
        endpoint = f"{parts.scheme}://{parts.netloc}/{account}"
    else:
        account = parts.netloc.split(".")[0]
        # The Blob endpoint of the same account: adlfs reads through the Blob API.
        endpoint = f"{parts.scheme}://{parts.netloc.replace('.dfs.', '.blob.')}"
    if not account:
        raise InvalidAuthParams(
            f"No account name in the ADLS Gen2 url {url!r}.",
            fix="Use https://ACCOUNT.dfs.core.windows.net.",
        )
    return account, parts.scheme, endpoint


class AdlsGen2Files(AzureBlobApiSource):
    spec = SPEC
    requires = (("adlfs", "lakefeed[azure]"), ("azure.identity", "lakefeed[azure]"))

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == DEFAULT_CREDENTIAL:
            check_token_endpoint(auth["url"], "url")
        self.endpoint(auth)  # parses the account URL or connection string

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        if auth.spec_name == CONNECTION_STRING:
            return connection_string_endpoints(auth["connectionString"])[0]
        return url_endpoint(parse_account_url(auth["url"])[2])

    def endpoints(self, auth: AuthParams) -> list[tuple[str, int]]:
        connection_string = self._connection_string(auth)
        if connection_string is not None:
            return connection_string_endpoints(connection_string)
        if auth.spec_name == DEFAULT_CREDENTIAL:
            return [self.endpoint(auth)]  # the URL's own host, not the account's default
        # A service principal reaches the account by name, wherever the url points.
        account = parse_account_url(auth["url"])[0]
        return [self.endpoint(auth), url_endpoint(f"https://{account}.blob.core.windows.net")]

    def _connection_string(self, auth: AuthParams) -> str | None:
        """The connection string the filesystem is opened with, if it is opened with one."""
        if auth.spec_name == CONNECTION_STRING:
            return str(auth["connectionString"])
        if auth.spec_name == ACCOUNT_KEY:
            account, scheme, endpoint = parse_account_url(auth["url"])
            return (
                f"DefaultEndpointsProtocol={scheme};AccountName={account};"
                f"AccountKey={auth['accountKey']};BlobEndpoint={endpoint};"
            )
        return None

    def filesystem(self, auth: AuthParams) -> Any:
        connection_string = self._connection_string(auth)
        if connection_string is not None:
            return azure_filesystem(connection_string=connection_string)
        if auth.spec_name == DEFAULT_CREDENTIAL:
            return default_credential_filesystem(parse_account_url(auth["url"])[2])
        account = parse_account_url(auth["url"])[0]
        return azure_filesystem(
            account_name=account,
            client_id=auth["servicePrincipalId"],
            client_secret=auth["servicePrincipalKey"],
            tenant_id=auth["tenant"],
        )
