"""S3 source: the shared S3-protocol source (:mod:`lakefeed.storage.s3_protocol`) with an
access key pair, the machine's default credential chain, or an IAM role assumed with it; at
AWS or at a custom endpoint."""

from __future__ import annotations

import re
from typing import Any

from lakefeed.errors import InvalidAuthParams
from lakefeed.secrets import AuthParams
from lakefeed.storage.s3_protocol import S3ProtocolSource, s3_config, s3_filesystem
from lakefeed.storage.source import url_endpoint
from lakefeed_s3.spec import ACCESS_KEY, IAM_ROLE, SPEC

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class S3Files(S3ProtocolSource):
    spec = SPEC

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        region = auth.get("region")
        default = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
        return url_endpoint(auth.get("serviceUrl") or default)

    def endpoints(self, auth: AuthParams) -> list[tuple[str, int]]:
        endpoints = [self.endpoint(auth)]
        if auth.spec_name == IAM_ROLE:
            region = auth.get("region")
            default = f"sts.{region}.amazonaws.com" if region else "sts.amazonaws.com"
            endpoints.append(url_endpoint(auth.get("stsEndpoint") or default))
        return endpoints

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == IAM_ROLE and not _ROLE_ARN.match(str(auth["roleArn"])):
            raise InvalidAuthParams(
                f"roleArn {auth['roleArn']!r} is not the ARN of an IAM role.",
                fix="Copy the role's ARN from the IAM console: arn:aws:iam::ACCOUNT:role/NAME.",
            )

    def filesystem(self, auth: AuthParams) -> Any:
        endpoint, region = auth.get("serviceUrl"), auth.get("region")
        if auth.spec_name == ACCESS_KEY:
            return s3_filesystem(
                auth["s3AccessKey"],
                auth["s3SecretKey"],
                token=auth.get("s3SessionToken"),
                endpoint_url=endpoint,
                region=region,
            )
        session = None
        if auth.spec_name == IAM_ROLE:
            from lakefeed_s3.roles import assumed_role_session

            session = assumed_role_session(
                auth["roleArn"],
                external_id=auth.get("externalId"),
                sts_endpoint=auth.get("stsEndpoint"),
                region=region,
                config=s3_config(),
            )
        # No keys: the default chain's credentials (or the role's, assumed with them).
        return s3_filesystem(None, None, endpoint_url=endpoint, region=region, session=session)
