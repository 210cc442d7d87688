"""GCS source: s3fs against the XML API for HMAC keys; gcsfs for service accounts, anonymous
access and application default credentials."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from lakefeed.errors import InvalidAuthParams, StorageAuthenticationFailed, StorageError
from lakefeed.secrets import AuthParams
from lakefeed.storage import FileEntry, SourceType
from lakefeed.storage.entries import to_utc
from lakefeed.storage.errors import cause_chain
from lakefeed.storage.object_store import PAGE_SIZE
from lakefeed.storage.s3_protocol import S3ProtocolSource, s3_filesystem
from lakefeed.storage.source import url_endpoint
from lakefeed.storage.timeouts import storage_timeouts
from lakefeed.storage.versions import changed_while_reading
from lakefeed_gcs.spec import APPLICATION_DEFAULT, GOOGLE_XML_API, HMAC, SERVICE_ACCOUNT, SPEC

#: What the machine's own credentials are asked for: lakefeed only lists and reads sources.
READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"


def _is_s3(fs: Any) -> bool:
    return type(fs).__module__.startswith("s3fs")


def service_account_info(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAuthParams(
            f"serviceAccountKey is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            fix="Paste the whole content of the service account's JSON key file.",
        ) from None
    if not isinstance(info, dict):
        info = {}
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if info.get("type") != "service_account" or missing:
        raise InvalidAuthParams(
            "serviceAccountKey is not a service account key"
            + (f" (missing {', '.join(missing)})." if missing else "."),
            fix="Create a JSON key for the service account in the Google Cloud console.",
        )
    return info


def _gcs_entry(item: dict[str, Any]) -> FileEntry:
    return FileEntry(
        path=f"{item['bucket']}/{item['name']}",
        size=int(item.get("size", 0)),
        mtime=to_utc(item.get("updated")),
        etag=item.get("etag") or item.get("md5Hash"),
        version=str(item["generation"]) if item.get("generation") else None,
    )


class GcsFiles(S3ProtocolSource):
    spec = SPEC
    requires = (("gcsfs", "lakefeed[gcs]"), ("s3fs", "lakefeed[gcs]"))

    def filesystem(self, auth: AuthParams) -> Any:
        if auth.spec_name == HMAC:
            return s3_filesystem(
                auth["accessKeyId"], auth["secretAccessKey"], endpoint_url=auth["serviceUrl"]
            )
        endpoint = auth.get("serviceUrl")
        if endpoint:
            # A custom endpoint is an emulator or proxy: use the plain JSON-API client; the
            # default one probes bucket layouts over gRPC, which stalls against emulators.
            from gcsfs.core import GCSFileSystem
        else:
            from gcsfs import GCSFileSystem
        import aiohttp

        token: Any = "anon"
        project = auth.get("projectId")
        if auth.spec_name == SERVICE_ACCOUNT:
            token = service_account_info(auth["serviceAccountKey"])
            project = project or token.get("project_id")
        elif auth.spec_name == APPLICATION_DEFAULT:
            import google.auth

            # Reads GOOGLE_APPLICATION_CREDENTIALS or the gcloud login; on Google Cloud it may
            # ask the metadata server whether it runs there. The token comes at first use.
            token, default_project = google.auth.default(scopes=[READ_ONLY])
            project = project or default_project
        timeouts = storage_timeouts()
        return GCSFileSystem(
            token=token,
            project=project or "lakefeed",
            endpoint_url=endpoint or None,
            skip_instance_cache=True,
            use_listings_cache=False,
            # Per socket operation, not in total: a large read may take long, a stall may not.
            requests_timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=timeouts.connect, sock_read=timeouts.read
            ),
        )

    # Listing: the S3-protocol pages for HMAC keys, objects.list pages for the JSON API.

    def head(self, fs: Any, bucket: str, key: str) -> FileEntry | None:
        if _is_s3(fs):
            return super().head(fs, bucket, key)
        try:  # gcsfs quotes the path arguments itself (every character, "/" included)
            item = fs.call("GET", "b/{}/o/{}", bucket, key, json_out=True)
        except FileNotFoundError:
            return None
        return _gcs_entry(item)

    def pages(self, fs: Any, bucket: str, prefix: str, *, recursive: bool) -> Iterator[FileEntry]:
        if _is_s3(fs):
            yield from super().pages(fs, bucket, prefix, recursive=recursive)
            return
        params: dict[str, Any] = {"prefix": prefix, "maxResults": PAGE_SIZE}
        if not recursive:
            params["delimiter"] = "/"
        while True:
            page = fs.call("GET", "b/{}/o", bucket, json_out=True, **params)
            for item in page.get("items", []):
                if not item["name"].endswith("/"):
                    yield _gcs_entry(item)
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def prefix_exists(self, fs: Any, bucket: str, prefix: str) -> bool:
        if _is_s3(fs):
            return super().prefix_exists(fs, bucket, prefix)
        page = fs.call("GET", "b/{}/o", bucket, json_out=True, prefix=prefix, maxResults=1)
        return bool(page.get("items"))

    # Reads pinned to the listed generation (the S3 protocol's If-Match for HMAC keys).

    def pins_version(self, fs: Any, entry: FileEntry) -> bool:
        if _is_s3(fs):
            return super().pins_version(fs, entry)
        return bool(entry.version)

    def async_read(self, fs: Any) -> Callable[[FileEntry, int, int], Awaitable[bytes]] | None:
        return super().async_read(fs) if _is_s3(fs) else None  # JSON API: read_range, threads

    def read_range(self, fs: Any, entry: FileEntry, start: int, end: int) -> bytes:
        if _is_s3(fs):
            return super().read_range(fs, entry, start, end)
        if not entry.version:
            return SourceType.read_range(self, fs, entry, start, end)
        try:
            return bytes(fs.cat_file(entry.path, start=start, end=end, generation=entry.version))
        except FileNotFoundError as exc:
            # Without object versioning a generation is gone once the object is rewritten.
            try:
                current = self.stat(fs, entry)
            except Exception:
                current = None
            if current is not None:
                raise changed_while_reading(entry, current) from exc
            raise

    def translate_error(self, exc: BaseException) -> type[StorageError] | None:
        if any(type(e).__name__ == "DefaultCredentialsError" for e in cause_chain(exc)):
            return StorageAuthenticationFailed  # no application default credentials found
        return None

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == SERVICE_ACCOUNT:
            service_account_info(auth["serviceAccountKey"])

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        return url_endpoint(auth.get("serviceUrl") or GOOGLE_XML_API)

    def endpoints(self, auth: AuthParams) -> list[tuple[str, int]]:
        endpoints = [self.endpoint(auth)]
        if auth.spec_name == SERVICE_ACCOUNT:
            # The key names the URL its OAuth token is exchanged at.
            endpoints.append(
                url_endpoint(str(service_account_info(auth["serviceAccountKey"])["token_uri"]))
            )
        return endpoints

    def test(self, auth: AuthParams, fs: Any) -> str:
        if _is_s3(fs):
            return super().test(auth, fs)
        credentials = getattr(getattr(fs, "credentials", None), "credentials", None)
        if credentials is not None:
            # One token exchange, so bad keys fail now rather than after gcsfs's retries.
            import google.auth.transport.requests
            import requests

            with requests.Session() as http:
                credentials.refresh(google.auth.transport.requests.Request(http))
        return SourceType.test(self, auth, fs)
