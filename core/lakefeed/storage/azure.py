"""Azure Storage through the Blob API, shared by Azure Blob Storage and ADLS Gen2 (adlfs reads
both through it).

:func:`azure_filesystem` builds an adlfs filesystem with bounded timeouts;
:func:`connection_string_endpoints` finds the endpoints a connection string points the Azure
SDK at; :class:`AzureBlobApiSource` lists containers one page of List Blobs at a time and reads
the listed version of a blob; :data:`CONNECTION_STRING_PARAM` is the ``connectionString``
param; :func:`default_credential_filesystem` opens an account with the machine's own identity.
adlfs and the Azure SDK are imported only when used (``pip install 'lakefeed[azure]'``),
so importing this module stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from lakefeed.errors import InvalidAuthParams
from lakefeed.specs import Param
from lakefeed.storage.entries import FileEntry, to_utc
from lakefeed.storage.object_store import PAGE_SIZE, ObjectStoreSource
from lakefeed.storage.source import split_url, url_endpoint
from lakefeed.storage.timeouts import storage_timeouts
from lakefeed.storage.versions import changed_while_reading

#: Where ``UseDevelopmentStorage=true`` points the Azure SDK (Azurite's Blob service).
DEVELOPMENT_STORAGE = "http://127.0.0.1:10000/devstoreaccount1"

#: Microsoft's own Blob service hosts (public cloud, Azure China, Azure US Government): the
#: only ones ``lakefeed serve`` sends the server's DefaultAzureCredential token to, unless its
#: operator lists another (:attr:`lakefeed.specs.AuthSpec.vendor_hosts`).
AZURE_BLOB_HOSTS = (
    "*.blob.core.windows.net",
    "*.blob.core.chinacloudapi.cn",
    "*.blob.core.usgovcloudapi.net",
)
#: The same for Data Lake Storage Gen2's dfs hosts, which lakefeed reads through the Blob API.
AZURE_DFS_HOSTS = tuple(host.replace(".blob.", ".dfs.") for host in AZURE_BLOB_HOSTS)

#: A storage account connection string, parsed by :func:`connection_string_endpoints`.
CONNECTION_STRING_PARAM = Param(
    "connectionString",
    "Connection string",
    "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...",
    required=True,
    secret=True,
)


def azure_filesystem(**kwargs: Any) -> Any:
    """An adlfs filesystem with the session's connect and read timeouts; never falls back to
    ambient credentials for the arguments given."""
    timeouts = storage_timeouts()
    return _bounded_filesystem_class()(
        skip_instance_cache=True,
        connection_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        # adlfs keeps the container listing only in its listings cache (turning it off breaks
        # ls("")); each session has its own instance, so the cache lives one session.
        **kwargs,
    )


def check_token_endpoint(url: str, param: str) -> None:
    """Raise :class:`InvalidAuthParams` unless ``url`` is an https account URL: the Azure SDK
    sends Microsoft Entra tokens over TLS only."""
    parts = split_url(url, param)
    if parts.scheme != "https" or not parts.netloc:
        raise InvalidAuthParams(
            f"{param} {url!r} is not an https URL: Microsoft Entra tokens are sent to the "
            "storage account over https only.",
            fix=f"Set {param} to https://ACCOUNT.blob.core.windows.net (or the account's "
            "dfs URL for ADLS Gen2).",
        )


def default_credential_filesystem(blob_endpoint: str) -> Any:
    """adlfs at ``blob_endpoint`` (``https://ACCOUNT.blob.core.windows.net``, or with the
    account in the path on an IP or ``localhost`` host), authenticated with azure-identity's
    ``DefaultAzureCredential``: the machine's own identity — a service principal from
    ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET`` (or a certificate),
    workload identity, managed identity, then the developer tools' logins. No I/O until the
    first request asks for a token."""
    from azure.identity.aio import DefaultAzureCredential

    parts = split_url(blob_endpoint.rstrip("/"), "serviceEndpoint")
    if is_path_style(parts.netloc):
        account = parts.path.strip("/").split("/")[0]
    else:
        account = parts.netloc.split(".")[0]
    return azure_filesystem(
        account_name=account,
        account_host=parts.netloc + parts.path,  # adlfs prefixes https://
        credential=DefaultAzureCredential(),  # adlfs closes it with the filesystem
    )


@functools.cache
def _bounded_filesystem_class() -> type:
    from adlfs import AzureBlobFileSystem

    class BoundedAzureBlobFileSystem(AzureBlobFileSystem):
        """adlfs, whose service client gets the timeouts too: adlfs passes them only to some
        calls, and listing through the client would wait the SDK's own 20 s and 60 s."""

        def do_connect(self) -> None:
            from azure.storage.blob.aio import BlobServiceClient

            super().do_connect()
            bounds = {k: v for k, v in self._timeout_kwargs.items() if k != "timeout"}
            if self.connection_string is not None:
                self.service_client = BlobServiceClient.from_connection_string(
                    self.connection_string, **bounds
                )
            elif self.credential is not None:
                self.service_client = BlobServiceClient(
                    account_url=self.account_url,
                    credential=self.credential,
                    retry_policy=_token_failures_final(),
                    **bounds,
                )

    return BoundedAzureBlobFileSystem


def _token_failures_final() -> Any:
    """The storage SDK's default retries (an exponential back-off from 15 s, 3 retries),
    except that a credential that cannot get a token fails at once: the SDK would ask again
    after each back-off (a minute and a half for a refused client secret, past a connection
    test's deadline), and a refusal by Microsoft Entra ID is no transient failure."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.storage.blob.aio import ExponentialRetry

    class TokenFailuresFinal(ExponentialRetry):
        def increment(
            self, settings: Any, request: Any, response: Any = None, error: Any = None
        ) -> bool:
            if isinstance(error, ClientAuthenticationError):
                return False
            return bool(super().increment(settings, request, response, error))

    return TokenFailuresFinal()


def is_path_style(host: str) -> bool:
    """Whether URLs on ``host`` put the account in the path, not the host name: emulators and
    IP endpoints (``http://127.0.0.1:10000/ACCOUNT``)."""
    name = host.split(":")[0]
    return name in ("localhost",) or name.replace(".", "").isdigit()


def connection_string_endpoints(connection_string: str) -> list[tuple[str, int]]:
    """The Blob endpoints of a connection string, primary first, found exactly as the Azure
    SDK finds them (keys in any case, the last of a repeated key wins,
    ``UseDevelopmentStorage=true``, a secondary endpoint), so that what lakefeed checks is
    what the SDK contacts. A malformed string is :class:`InvalidAuthParams`."""
    malformed = InvalidAuthParams(
        "The connection string is malformed: it must be KEY=VALUE pairs separated by ';'.",
        fix="Copy the full connection string from the storage account's Access keys page.",
    )
    pairs = [part.split("=", 1) for part in connection_string.rstrip(";").split(";")]
    if any(len(pair) != 2 for pair in pairs):
        raise malformed
    fields = {key.upper(): value for key, value in pairs}
    if fields.get("USEDEVELOPMENTSTORAGE") == "true":
        return [url_endpoint(DEVELOPMENT_STORAGE)]
    primary = fields.get("BLOBENDPOINT")
    if primary is None and {"DEFAULTENDPOINTSPROTOCOL", "ACCOUNTNAME", "ENDPOINTSUFFIX"} <= set(
        fields
    ):
        primary = (
            f"{fields['DEFAULTENDPOINTSPROTOCOL']}://{fields['ACCOUNTNAME']}.blob."
            f"{fields['ENDPOINTSUFFIX']}"
        )
    if not primary:
        if "ACCOUNTNAME" not in fields:
            raise InvalidAuthParams(
                "The connection string has neither BlobEndpoint nor AccountName.",
                fix="Copy the full connection string from the storage account's Access keys page.",
            )
        suffix = fields.get("ENDPOINTSUFFIX", "core.windows.net")
        primary = f"https://{fields['ACCOUNTNAME']}.blob.{suffix}"
    endpoints = [url_endpoint(primary)]
    if fields.get("BLOBSECONDARYENDPOINT"):
        endpoints.append(url_endpoint(fields["BLOBSECONDARYENDPOINT"]))
    return endpoints


class AzureBlobApiSource(ObjectStoreSource):
    """Shared by every source that reads an Azure Storage account through the Blob API (Blob
    Storage, ADLS Gen2): paged List Blobs through adlfs's async client, and reads pinned to the
    listed blob. Subclasses set ``spec`` and build the filesystem with
    :func:`azure_filesystem`."""

    def head(self, fs: Any, bucket: str, key: str) -> FileEntry | None:
        from azure.core.exceptions import ResourceNotFoundError

        async def properties() -> Any:
            async with fs.service_client.get_blob_client(bucket, key) as blob:
                return await blob.get_blob_properties()

        try:
            props = _sync(fs.loop, properties)
        except ResourceNotFoundError:
            return None
        return _entry(bucket, props)

    def pages(self, fs: Any, bucket: str, prefix: str, *, recursive: bool) -> Iterator[FileEntry]:
        container = fs.service_client.get_container_client(bucket)
        if recursive:
            listing = container.list_blobs(name_starts_with=prefix, results_per_page=PAGE_SIZE)
        else:
            listing = container.walk_blobs(
                name_starts_with=prefix, delimiter="/", results_per_page=PAGE_SIZE
            )
        pager = listing.by_page()

        async def next_page() -> list[Any] | None:
            try:
                page = await pager.__anext__()
            except StopAsyncIteration:
                return None
            return [item async for item in page]

        while (items := _sync(fs.loop, next_page)) is not None:
            for item in items:
                # walk_blobs yields BlobPrefix (sub-folders) beside blobs; markers end in "/"
                if hasattr(item, "size") and not item.name.endswith("/"):
                    yield _entry(bucket, item)

    # Reads pinned to the listed blob: its version id where listed, else If-Match on its etag.

    def pins_version(self, fs: Any, entry: FileEntry) -> bool:
        return bool(entry.version or entry.etag)

    def read_range(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        if not self.pins_version(fs, entry):
            return super().read_range(fs, entry, start, end)
        if start >= end:
            return b""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        container, _, key = entry.path.partition("/")
        pin: dict[str, Any] = (
            {"version_id": entry.version}
            if entry.version
            else {"etag": f'"{entry.etag}"', "match_condition": MatchConditions.IfNotModified}
        )

        async def download() -> bytes:
            async with fs.service_client.get_blob_client(container, key) as blob:
                stream = await blob.download_blob(offset=start, length=end - start, **pin)
                return bytes(await stream.readall())

        try:
            return bytes(_sync(fs.loop, download))
        except ResourceModifiedError as exc:
            raise changed_while_reading(entry) from exc

    def prefix_exists(self, fs: Any, bucket: str, prefix: str) -> bool:
        async def any_blob() -> bool:
            async with fs.service_client.get_container_client(bucket) as container:
                async for _ in container.list_blobs(name_starts_with=prefix, results_per_page=1):
                    return True
            return False

        return bool(_sync(fs.loop, any_blob))


def _sync(loop: Any, coroutine_function: Any) -> Any:
    """Run an adlfs-client coroutine on the filesystem's event loop."""
    from fsspec.asyn import sync

    return sync(loop, coroutine_function)


def _entry(container: str, blob: Any) -> FileEntry:
    return FileEntry(
        path=f"{container}/{blob.name}",
        size=int(blob.size),
        mtime=to_utc(blob.last_modified),
        etag=str(blob.etag).strip('"') if blob.etag else None,
        version=getattr(blob, "version_id", None),
    )
