"""S3's ambient auth specs: the AWS default credential chain (its environment-variable and
shared-file branches, against Ceph RGW, which checks signatures) and an IAM role assumed
through moto's STS with the chain's credentials. Nothing of the machine's credentials is
stored with the connection or shown."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestion_suite import IngestSource, Scenario, expected_ids
from lakefeed import Lakefeed
from lakefeed.errors import (
    InvalidAuthParams,
    StorageAuthenticationFailed,
    StorageUnreachable,
    UnknownAuthSpec,
)
from tests_support import server_env

pytestmark = pytest.mark.servers

CHAIN = "Default Credential Chain"
ROLE = "IAMRole Based"
ROLE_ARN = "arn:aws:iam::123456789012:role/lakefeed-reader"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A machine with no AWS identity but what a test gives it: no AWS_* variables, empty
    credential and config files, no instance metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield monkeypatch


def rgw() -> dict[str, str]:
    return {"serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT")}


def role_params(**extra: Any) -> dict[str, Any]:
    moto = server_env("LAKEFEED_TEST_S3_ENDPOINT")
    return {"roleArn": ROLE_ARN, "serviceUrl": moto, "stsEndpoint": moto, **extra}


def ingest_twice(scenario: Scenario) -> None:
    """Two files, one run: both land; a third file, a second run: only it lands."""
    scenario.put("a.parquet", scenario.profiles(10, 0))
    scenario.put("b.parquet", scenario.profiles(5, 100))
    flow = scenario.flow()
    first = scenario.lf.run_flow(flow)
    assert first.status == "success", first.metrics
    scenario.put("c.parquet", scenario.profiles(3, 200))
    second = scenario.lf.run_flow(flow)
    assert second.status == "success", second.metrics
    assert scenario.ids() == expected_ids((0, 10), (100, 5), (200, 3))


def test_default_chain_signs_with_the_environment_keys(
    aws_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = server_env("LAKEFEED_TEST_RGW_SECRET_KEY")
    aws_env.setenv("AWS_ACCESS_KEY_ID", server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"))
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", secret)
    source = IngestSource("amazon-s3", CHAIN, rgw(), f"/ambient-{uuid.uuid4().hex[:8]}")
    scenario = Scenario(tmp_path / "home", source)

    ingest_twice(scenario)

    stored = scenario.lf.connection(scenario.connection.id)
    assert stored.auth.spec_name == CHAIN and dict(stored.auth) == rgw()
    assert secret not in str(stored.to_dict())


def test_default_chain_with_wrong_environment_keys_fails_without_showing_them(
    aws_env: pytest.MonkeyPatch,
) -> None:
    """RGW checks signatures: the keys really come from the environment."""
    aws_env.setenv("AWS_ACCESS_KEY_ID", server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"))
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-from-the-environment")
    session = Lakefeed().session_for("amazon-s3", rgw(), "default-credential-chain")
    with pytest.raises(StorageAuthenticationFailed) as failure:
        session.test()
    assert "SignatureDoesNotMatch" in str(failure.value)
    assert "wrong-secret-from-the-environment" not in str(failure.value.to_dict())


def test_default_chain_reads_the_shared_credentials_file(
    aws_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aws-credentials").write_text(
        "[default]\n"
        f"aws_access_key_id = {server_env('LAKEFEED_TEST_RGW_ACCESS_KEY')}\n"
        f"aws_secret_access_key = {server_env('LAKEFEED_TEST_RGW_SECRET_KEY')}\n"
    )
    lf = Lakefeed()
    conn = lf.create_connection("chain-file", "amazon-s3", "default", rgw())
    assert "listed" in lf.session(conn).test()


def test_without_any_credentials_the_chain_fails_clearly(aws_env: pytest.MonkeyPatch) -> None:
    session = Lakefeed().session_for("amazon-s3", rgw(), CHAIN)
    with pytest.raises(StorageAuthenticationFailed, match="Unable to locate credentials"):
        session.test()


def test_an_ambient_spec_is_used_only_when_named(aws_env: pytest.MonkeyPatch) -> None:
    """Params that only the default chain takes do not pick it by elimination."""
    lf = Lakefeed()
    with pytest.raises(UnknownAuthSpec, match="only when named"):
        lf.create_connection("guess", "amazon-s3", None, {"roleArn": ROLE_ARN})
    with pytest.raises(InvalidAuthParams, match="s3AccessKey"):
        lf.create_connection("guess", "amazon-s3", None, rgw())  # Access Key, keys missing


def caller_arn(session: Any) -> tuple[str, str]:
    """(ARN, access key id) of the identity the session's S3 filesystem signs with, as moto's
    STS GetCallerIdentity sees it."""
    import botocore.session
    from fsspec.asyn import sync

    async def frozen() -> Any:
        credentials = await session.fs.session.get_credentials()
        return await credentials.get_frozen_credentials()

    keys = sync(session.fs.loop, frozen)
    sts = botocore.session.get_session().create_client(
        "sts",
        endpoint_url=server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        region_name="us-east-1",
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        aws_session_token=keys.token,
    )
    return str(sts.get_caller_identity()["Arn"]), str(keys.access_key)


def test_iam_role_is_assumed_with_the_chain_credentials(
    aws_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    aws_env.setenv("AWS_ACCESS_KEY_ID", "base-identity-key")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "base-identity-secret")
    params = role_params(externalId="partner-7")
    source = IngestSource("amazon-s3", "iam-role", params, f"/role-{uuid.uuid4().hex[:8]}")
    scenario = Scenario(tmp_path / "home", source)

    ingest_twice(scenario)

    arn, key = caller_arn(scenario.session)
    assert arn == "arn:aws:sts::123456789012:assumed-role/lakefeed-reader/lakefeed"
    assert key != "base-identity-key"
    stored = scenario.lf.connection(scenario.connection.id)
    assert stored.auth.spec_name == ROLE and stored.auth["externalId"] == "partner-7"
    assert "base-identity-secret" not in str(stored.to_dict())


def test_iam_role_needs_its_sts_endpoint(aws_env: pytest.MonkeyPatch) -> None:
    """The role's credentials come from STS: with STS unreachable, nothing is read."""
    aws_env.setenv("AWS_ACCESS_KEY_ID", "base-identity-key")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "base-identity-secret")
    session = Lakefeed().session_for(
        "amazon-s3", role_params(stsEndpoint="http://127.0.0.1:1"), ROLE
    )
    with pytest.raises(StorageUnreachable) as failure:
        session.test()
    assert "base-identity-secret" not in str(failure.value.to_dict())


def test_iam_role_endpoints_and_arn_are_checked() -> None:
    lf = Lakefeed()
    with pytest.raises(InvalidAuthParams, match="not the ARN of an IAM role"):
        lf.session_for("amazon-s3", {"roleArn": "lakefeed-reader"}, ROLE)
    session = lf.session_for("amazon-s3", {"roleArn": ROLE_ARN, "region": "eu-west-1"}, ROLE)
    assert session.source_type.endpoints(session.auth) == [
        ("s3.eu-west-1.amazonaws.com", 443),
        ("sts.eu-west-1.amazonaws.com", 443),
    ]
    custom = lf.session_for("amazon-s3", role_params(), ROLE)
    moto = server_env("LAKEFEED_TEST_S3_ENDPOINT").removeprefix("http://")
    host, port = moto.split(":")
    assert custom.source_type.endpoints(custom.auth) == [(host, int(port))] * 2
