"""S3 source: s3fs, with listing paged through ListObjectsV2 so memory stays at one page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from lakefeed.secrets import AuthParams
from lakefeed.storage import FileEntry
from lakefeed.storage.entries import to_utc
from lakefeed.storage.object_store import PAGE_SIZE, ObjectStoreSource
from lakefeed.storage.source import url_endpoint
from lakefeed_s3.spec import SPEC


def s3_filesystem(
    key: str,
    secret: str,
    *,
    token: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Any:
    """An s3fs filesystem with bounded timeouts and retries (no ambient credentials used)."""
    import s3fs

    client_kwargs: dict[str, Any] = {}
    if region:
        client_kwargs["region_name"] = region
    return s3fs.S3FileSystem(
        key=key,
        secret=secret,
        token=token,
        endpoint_url=endpoint_url or None,
        client_kwargs=client_kwargs,
        config_kwargs={
            "connect_timeout": 10,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        },
        skip_instance_cache=True,
        use_listings_cache=False,
    )


class S3ProtocolSource(ObjectStoreSource):
    """Shared by every S3-protocol backend: paged listing and bucket/folder roots."""

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

    def test(self, auth: AuthParams, fs: Any) -> str:
        bucket = str(auth.get("bucketName") or "")
        if bucket:
            prefix = str(auth.get("folderPath") or "").strip("/")
            fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
            return f"listed bucket {bucket!r}"
        buckets = fs.call_s3("list_buckets").get("Buckets", [])
        return f"listed {len(buckets)} buckets"


class S3Files(S3ProtocolSource):
    spec = SPEC

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        region = auth.get("region")
        default = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
        return url_endpoint(auth.get("serviceUrl") or default)

    def filesystem(self, auth: AuthParams) -> Any:
        return s3_filesystem(
            auth["s3AccessKey"],
            auth["s3SecretKey"],
            token=auth.get("s3SessionToken"),
            endpoint_url=auth.get("serviceUrl"),
            region=auth.get("region"),
        )
