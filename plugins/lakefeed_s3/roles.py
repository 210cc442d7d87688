"""An assumed IAM role as an aiobotocore session for s3fs: its credentials come from STS
``AssumeRole``, called with the credentials of the AWS default credential chain (environment,
shared files, container or instance metadata), when first needed and again before they
expire. Building the session does no I/O."""

from __future__ import annotations

import functools
from typing import Any

#: The session name the role's CloudTrail entries carry.
ROLE_SESSION_NAME = "lakefeed"


class _ChainCredentials:
    """The default chain's credentials, looked up on first use rather than when the
    filesystem is built (the lookup may ask a metadata service)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def get_frozen_credentials(self) -> Any:
        from botocore.exceptions import NoCredentialsError

        credentials = await self._session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return await credentials.get_frozen_credentials()


class _AssumedRoleProvider:
    """A credential provider that hands out the role's refreshable credentials."""

    METHOD = "assume-role"
    CANONICAL_NAME = "lakefeed-assume-role"

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    async def load(self) -> Any:
        return self._credentials


def assumed_role_session(
    role_arn: str,
    *,
    external_id: str | None,
    sts_endpoint: str | None,
    region: str | None,
    config: dict[str, Any],
) -> Any:
    """An ``AioSession`` whose credentials are ``role_arn``'s, assumed with ``external_id``
    (if any) at ``sts_endpoint`` (default: AWS STS of ``region``, global without one), the STS
    client built with ``config`` (botocore timeouts and retries)."""
    from aiobotocore.config import AioConfig
    from aiobotocore.credentials import (
        AioAssumeRoleCredentialFetcher,
        AioCredentialResolver,
        AioDeferredRefreshableCredentials,
    )
    from aiobotocore.session import AioSession

    chain = AioSession()  # botocore's default chain, as for any AWS SDK client
    # A custom STS endpoint still needs a signing region; AWS's own global endpoint does not.
    sts_region = (
        region or chain.get_config_variable("region") or ("us-east-1" if sts_endpoint else None)
    )
    create_sts_client = functools.partial(
        chain.create_client,
        endpoint_url=sts_endpoint or None,
        region_name=sts_region,
        config=AioConfig(**config),
    )
    extra: dict[str, Any] = {"RoleSessionName": ROLE_SESSION_NAME}
    if external_id:
        extra["ExternalId"] = external_id
    fetcher = AioAssumeRoleCredentialFetcher(
        create_sts_client, _ChainCredentials(chain), role_arn, extra_args=extra
    )
    credentials = AioDeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    role = AioSession()
    role.register_component(
        "credential_provider", AioCredentialResolver([_AssumedRoleProvider(credentials)])
    )
    return role
