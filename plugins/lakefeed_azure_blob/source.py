"""Azure Blob source over adlfs. A SAS URI becomes a connection string with
``SharedAccessSignature`` so that account-level, container-level and emulator URIs all work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from lakefeed.errors import InvalidAuthParams
from lakefeed.secrets import AuthParams
from lakefeed.storage import FileEntry
from lakefeed.storage.entries import to_utc
from lakefeed.storage.object_store import PAGE_SIZE, ObjectStoreSource
from lakefeed.storage.source import url_endpoint
from lakefeed_azure_blob.spec import SPEC


def sync(loop: Any, coroutine_function: Any) -> Any:
    """Run an adlfs-client coroutine on the filesystem's event loop."""
    from fsspec.asyn import sync as fsspec_sync

    return fsspec_sync(loop, coroutine_function)


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


class AzureListing(ObjectStoreSource):
    """Paged List Blobs through adlfs's async client (Blob and ADLS Gen2 alike)."""

    def head(self, fs: Any, bucket: str, key: str) -> FileEntry | None:
        from azure.core.exceptions import ResourceNotFoundError

        async def properties() -> Any:
            async with fs.service_client.get_blob_client(bucket, key) as blob:
                return await blob.get_blob_properties()

        try:
            props = sync(fs.loop, properties)
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

        while (items := sync(fs.loop, next_page)) is not None:
            for item in items:
                # walk_blobs yields BlobPrefix (sub-folders) beside blobs; markers end in "/"
                if hasattr(item, "size") and not item.name.endswith("/"):
                    yield _entry(bucket, item)

    def prefix_exists(self, fs: Any, bucket: str, prefix: str) -> bool:
        async def any_blob() -> bool:
            async with fs.service_client.get_container_client(bucket) as container:
                async for _ in container.list_blobs(name_starts_with=prefix, results_per_page=1):
                    return True
            return False

        return bool(sync(fs.loop, any_blob))


def _entry(container: str, blob: Any) -> FileEntry:
    return FileEntry(
        path=f"{container}/{blob.name}",
        size=int(blob.size),
        mtime=to_utc(blob.last_modified),
        etag=str(blob.etag).strip('"') if blob.etag else None,
        version=getattr(blob, "version_id", None),
    )


class AzureBlobFiles(AzureListing):
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
