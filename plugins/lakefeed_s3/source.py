"""S3 source: the shared S3-protocol source (:mod:`lakefeed.storage.s3_protocol`) with an
access key pair, at AWS or at a custom endpoint."""

from __future__ import annotations

from typing import Any

from lakefeed.secrets import AuthParams
from lakefeed.storage.s3_protocol import S3ProtocolSource, s3_filesystem
from lakefeed.storage.source import url_endpoint
from lakefeed_s3.spec import SPEC


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
