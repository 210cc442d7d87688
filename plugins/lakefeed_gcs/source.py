"""GCS source: s3fs against the XML API for HMAC keys; gcsfs for service accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lakefeed.errors import InvalidAuthParams
from lakefeed.secrets import AuthParams
from lakefeed.storage import FileEntry, SourceType
from lakefeed.storage.source import url_endpoint
from lakefeed_gcs.spec import GOOGLE_XML_API, HMAC, SERVICE_ACCOUNT, SPEC
from lakefeed_s3.source import S3ProtocolSource, s3_filesystem


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
        token: Any = "anon"
        project = auth.get("projectId")
        if auth.spec_name == SERVICE_ACCOUNT:
            token = service_account_info(auth["serviceAccountKey"])
            project = project or token.get("project_id")
        return GCSFileSystem(
            token=token,
            project=project or "lakefeed",
            endpoint_url=endpoint or None,
            skip_instance_cache=True,
            use_listings_cache=False,
            requests_timeout=60,
        )

    def list_files(self, fs: Any, path: str, *, recursive: bool) -> Iterator[FileEntry]:
        if _is_s3(fs):
            return super().list_files(fs, path, recursive=recursive)
        return SourceType.list_files(self, fs, path, recursive=recursive)

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == SERVICE_ACCOUNT:
            service_account_info(auth["serviceAccountKey"])

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        return url_endpoint(auth.get("serviceUrl") or GOOGLE_XML_API)

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
