"""The S3 protocol, shared by every backend that speaks it (Amazon S3 and S3-compatible stores,
GCS through its XML API with HMAC keys).

:func:`s3_filesystem` builds an s3fs filesystem with bounded timeouts and retries;
:class:`S3ProtocolSource` lists through ``ListObjectsV2`` one page at a time and reads the
listed version of an object; :data:`BUCKET_PARAM` and :data:`FOLDER_PARAM` are the connection
params its :meth:`S3ProtocolSource.root` reads. s3fs is imported only when a filesystem is built
(``pip install 'lakefeed[s3]'``), so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar

from lakefeed.secrets import AuthParams
from lakefeed.specs import Param
from lakefeed.storage.entries import FileEntry, to_utc
from lakefeed.storage.object_store import PAGE_SIZE, ObjectStoreSource
from lakefeed.storage.timeouts import storage_timeouts
from lakefeed.storage.versions import changed_while_reading

#: Attempts of one request by botocore (throttling, 5xx, timeouts), and by s3fs around it.
BOTOCORE_ATTEMPTS = 2
S3FS_ATTEMPTS = 2

#: The bucket relative paths start in; :meth:`S3ProtocolSource.root` reads it.
BUCKET_PARAM = Param(
    "bucketName",
    "Bucket",
    "Bucket that relative paths and explore start in (optional).",
)
#: The folder inside that bucket relative paths start in.
FOLDER_PARAM = Param(
    "folderPath",
    "Folder",
    "Folder inside the bucket that relative paths start in (needs bucketName).",
)


def s3_config() -> dict[str, Any]:
    """botocore client settings: the session's connect and read timeouts, bounded retries."""
    timeouts = storage_timeouts()
    return {
        "connect_timeout": timeouts.connect,
        "read_timeout": timeouts.read,
        "retries": {"max_attempts": BOTOCORE_ATTEMPTS, "mode": "standard"},
    }


def s3_filesystem(
    key: str | None,
    secret: str | None,
    *,
    token: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    session: Any = None,
) -> Any:
    """An s3fs filesystem with the session's connect and read timeouts and bounded retries
    (:func:`s3_config`): a stalled read fails after at most
    ``S3FS_ATTEMPTS**2 * BOTOCORE_ATTEMPTS`` read timeouts (s3fs nests its retries).

    With ``key`` and ``secret`` only those keys are used, never ambient credentials. Without
    them, the credentials are ``session``'s (an ``aiobotocore`` session), else botocore's
    default chain: environment, shared credentials and config files, container and instance
    metadata — the machine's own identity (an ambient auth spec's)."""
    import s3fs

    client_kwargs: dict[str, Any] = {}
    if region:
        client_kwargs["region_name"] = region
    fs = s3fs.S3FileSystem(
        key=key,
        secret=secret,
        token=token,
        endpoint_url=endpoint_url or None,
        client_kwargs=client_kwargs,
        config_kwargs=s3_config(),
        session=session,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = S3FS_ATTEMPTS
    return fs


class S3ProtocolSource(ObjectStoreSource):
    """Shared by every S3-protocol backend: paged listing, bucket/folder roots
    (:data:`BUCKET_PARAM`, :data:`FOLDER_PARAM`) and reads pinned to the listed version.
    Subclasses set ``spec`` and build the filesystem, usually with :func:`s3_filesystem`."""

    requires: ClassVar[tuple[tuple[str, str], ...]] = (("s3fs", "lakefeed[s3]"),)

    def root(self, auth: AuthParams, fs: Any) -> str:
        bucket = str(auth.get("bucketName") or "").strip("/")
        folder = str(auth.get("folderPath") or "").strip("/")
        return f"{bucket}/{folder}" if bucket and folder else bucket

    def prefix_exists(self, fs: Any, bucket: str, prefix: str) -> bool:
        """True for a folder that holds only a folder marker (an empty folder)."""
        page = fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
        return bool(page.get("KeyCount") or page.get("Contents"))

    def head(self, fs: Any, bucket: str, key: str) -> FileEntry | None:
        try:
            head = fs.call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return None
        return FileEntry(
            path=f"{bucket}/{key}",
            size=int(head["ContentLength"]),
            mtime=to_utc(head.get("LastModified")),
            etag=str(head.get("ETag", "")).strip('"') or None,
            version=head.get("VersionId"),
        )

    def pages(self, fs: Any, bucket: str, prefix: str, *, recursive: bool) -> Iterator[FileEntry]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}
        if not recursive:
            kwargs["Delimiter"] = "/"
        while True:
            page = fs.call_s3("list_objects_v2", **kwargs)
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue  # folder marker object
                yield FileEntry(
                    path=f"{bucket}/{item['Key']}",
                    size=int(item["Size"]),
                    mtime=to_utc(item.get("LastModified")),
                    etag=str(item.get("ETag", "")).strip('"') or None,
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    # Reads pinned to the listed version: VersionId when the listing has one (the old version
    # stays readable on a versioned bucket), else If-Match on the ETag (412 once rewritten).

    def pins_version(self, fs: Any, entry: FileEntry) -> bool:
        return bool(_version_id(entry) or entry.etag)

    def read_range(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        if not self.pins_version(fs, entry):
            return super().read_range(fs, entry, start, end)
        from fsspec.asyn import sync

        return bytes(sync(fs.loop, self._read_pinned, fs, entry, start, end))

    def async_read(self, fs: Any) -> Callable[[FileEntry, int, int], Awaitable[bytes]] | None:
        if not hasattr(fs, "_call_s3"):
            return None  # a subclass's filesystem of another kind

        async def read(entry: FileEntry, start: int, end: int) -> bytes:
            if not self.pins_version(fs, entry):
                return bytes(await fs._cat_file(entry.path, start=start, end=end))
            return await self._read_pinned(fs, entry, start, end)

        return read

    async def _read_pinned(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        bucket, _, key = entry.path.partition("/")
        version = _version_id(entry)
        pin = {"VersionId": version} if version else {"IfMatch": f'"{entry.etag}"'}
        try:
            response = await fs._call_s3(
                "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", **pin
            )
            try:
                return bytes(await response["Body"].read())
            finally:
                response["Body"].close()
        except Exception as exc:
            if _precondition_failed(exc):
                raise changed_while_reading(entry) from exc
            raise

    def test(self, auth: AuthParams, fs: Any) -> str:
        bucket = str(auth.get("bucketName") or "")
        if bucket:
            prefix = str(auth.get("folderPath") or "").strip("/")
            fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
            return f"listed bucket {bucket!r}"
        buckets = fs.call_s3("list_buckets").get("Buckets", [])
        return f"listed {len(buckets)} buckets"


def _version_id(entry: FileEntry) -> str | None:
    """The entry's S3 version id; "null" (versioning suspended, or the object written before
    it was enabled) is no pin: the next write replaces the null version."""
    return entry.version if entry.version and entry.version != "null" else None


def _precondition_failed(exc: BaseException) -> bool:
    """Whether S3 answered 412: the object is no longer the ETag an If-Match named."""
    from lakefeed.storage.errors import cause_chain, http_status

    return any(
        http_status(e) == 412
        or getattr(e, "response", {}).get("Error", {}).get("Code") == "PreconditionFailed"
        for e in cause_chain(exc)
    )
