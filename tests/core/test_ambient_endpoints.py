"""Where ``lakefeed serve`` lets a connection send the server's own identity: an ambient auth
spec reaches only its vendor's endpoints (:attr:`AuthSpec.vendor_hosts`, port 443) and those
the operator lists in ``LAKEFEED_ALLOW_ENDPOINTS``; the check compares names and looks nothing
up. Every bundled ambient auth spec, through its plugin's own ``endpoints()``."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import AmbientCredentialsForbidden, AmbientEndpointForbidden
from lakefeed.specs import AuthSpec
from lakefeed.storage.endpoints import EndpointPolicy, vendor_host

ROLE = "arn:aws:iam::123456789012:role/reader"
EVIL = "https://evil.example.com"
CHAIN = ("amazon-s3", "Default Credential Chain")
IAM_ROLE = ("amazon-s3", "IAMRole Based")
BLOB = ("azure-blob", "Default Azure Credential")
ADLS = ("adls-gen2", "Default Azure Credential for adls-gen2")
GCS = ("google-cloud", "Application Default Credentials for google-cloud")


@pytest.fixture(autouse=True)
def no_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ambient check happens before any network call: a name lookup fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"name looked up: {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def check(spec: tuple[str, str], params: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    """The ambient check of a ``lakefeed serve`` session for these params."""
    lf = Lakefeed().confined(EndpointPolicy(allowed, ambient_credentials=True))
    lf.session_for(spec[0], params, spec[1]).check_credentials()


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        (CHAIN, {}),  # s3.amazonaws.com
        (CHAIN, {"region": "eu-west-1"}),
        (CHAIN, {"serviceUrl": "https://s3.eu-west-1.amazonaws.com"}),
        (CHAIN, {"serviceUrl": "https://s3.cn-north-1.amazonaws.com.cn"}),
        (CHAIN, {"serviceUrl": "https://my.bucket.s3.us-east-1.amazonaws.com"}),
        (IAM_ROLE, {"roleArn": ROLE}),  # sts.amazonaws.com
        (IAM_ROLE, {"roleArn": ROLE, "stsEndpoint": "https://sts.eu-west-1.amazonaws.com"}),
        (BLOB, {"serviceEndpoint": "https://acct.blob.core.windows.net"}),
        (BLOB, {"serviceEndpoint": "https://acct.blob.core.chinacloudapi.cn/"}),
        (ADLS, {"url": "https://acct.dfs.core.windows.net"}),
        (ADLS, {"url": "https://acct.dfs.core.usgovcloudapi.net"}),
        (GCS, {}),  # storage.googleapis.com
        (GCS, {"serviceUrl": "https://storage.googleapis.com"}),
    ],
)
def test_the_vendors_own_endpoints_pass(spec: tuple[str, str], params: dict[str, Any]) -> None:
    check(spec, params)


@pytest.mark.parametrize(
    ("spec", "params", "endpoint"),
    [
        (CHAIN, {"serviceUrl": EVIL}, "evil.example.com:443"),
        (CHAIN, {"serviceUrl": "http://s3.amazonaws.com"}, "s3.amazonaws.com:80"),
        # Customers' own hosts under amazonaws.com (an API gateway sees every header).
        (
            CHAIN,
            {"serviceUrl": "https://abc123.execute-api.us-east-1.amazonaws.com"},
            "abc123.execute-api.us-east-1.amazonaws.com:443",
        ),
        (
            CHAIN,
            {"serviceUrl": "https://s3-lb-1.us-east-1.elb.amazonaws.com"},
            "s3-lb-1.us-east-1.elb.amazonaws.com:443",
        ),
        (IAM_ROLE, {"roleArn": ROLE, "stsEndpoint": EVIL}, "evil.example.com:443"),
        (IAM_ROLE, {"roleArn": ROLE, "serviceUrl": EVIL}, "evil.example.com:443"),
        (BLOB, {"serviceEndpoint": EVIL}, "evil.example.com:443"),
        (
            BLOB,
            {"serviceEndpoint": "https://acct.blob.core.windows.net.evil.example.com"},
            "acct.blob.core.windows.net.evil.example.com:443",
        ),
        (
            BLOB,
            {"serviceEndpoint": "https://acct.blob.core.windows.net:8443"},
            "acct.blob.core.windows.net:8443",
        ),
        (ADLS, {"url": "https://evil.example.com/acct"}, "evil.example.com:443"),
        (GCS, {"serviceUrl": EVIL}, "evil.example.com:443"),
        (GCS, {"serviceUrl": "http://storage.googleapis.com"}, "storage.googleapis.com:80"),
        (GCS, {"serviceUrl": "http://127.0.0.1:4443"}, "127.0.0.1:4443"),
    ],
)
def test_other_endpoints_are_refused_before_any_lookup(
    spec: tuple[str, str], params: dict[str, Any], endpoint: str
) -> None:
    with pytest.raises(AmbientEndpointForbidden) as refused:
        check(spec, params)
    error = refused.value
    assert (error.code, error.http_status) == ("LF-2123", 403)
    assert f"The endpoint {endpoint} of" in str(error)
    assert "this server's own cloud identity" in str(error)
    assert f"LAKEFEED_ALLOW_ENDPOINTS={endpoint}" in (error.fix or "")


def test_endpoints_the_operator_lists_pass() -> None:
    check(GCS, {"serviceUrl": EVIL}, ("evil.example.com",))
    check(GCS, {"serviceUrl": "http://127.0.0.1:4443"}, ("127.0.0.1",))
    check(GCS, {"serviceUrl": "http://localhost:4443"}, ("127.0.0.0/8",))
    check(BLOB, {"serviceEndpoint": "https://blob.internal:10000/acct"}, ("blob.internal:10000",))
    check(IAM_ROLE, {"roleArn": ROLE, "stsEndpoint": "https://[::1]:5000"}, ("[::1]:5000",))
    with pytest.raises(AmbientEndpointForbidden, match=r"evil\.example\.com:443"):
        check(GCS, {"serviceUrl": EVIL}, ("evil.example.com:8443",))  # another port
    with pytest.raises(AmbientEndpointForbidden, match=r"evil\.example\.com:443"):
        check(GCS, {"serviceUrl": EVIL}, ("0.0.0.0/0",))  # networks admit addresses only


def test_without_the_switch_the_auth_spec_is_refused_first() -> None:
    lf = Lakefeed().confined(EndpointPolicy(["evil.example.com"]))
    session = lf.session_for(GCS[0], {"serviceUrl": EVIL}, GCS[1])
    with pytest.raises(AmbientCredentialsForbidden) as refused:
        session.check_credentials()
    assert refused.value.code == "LF-2122"


def test_auth_specs_that_are_not_ambient_are_not_concerned() -> None:
    keys = {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": EVIL}
    Lakefeed().confined(EndpointPolicy()).session_for(
        "amazon-s3", keys, "Access Key"
    ).check_credentials()
    policy = EndpointPolicy()
    plain = AuthSpec("Keys", "Keys", "", ())
    policy.check_credentials(plain, source="'x'", endpoints=[("evil.example.com", 443)])


def test_a_plugin_without_vendor_hosts_reaches_only_listed_endpoints() -> None:
    ambient = AuthSpec("Machine identity", "Ambient", "", (), ambient=True)
    policy = EndpointPolicy(["files.internal"], ambient_credentials=True)
    policy.check_credentials(ambient, source="'x'", endpoints=[("files.internal", 443)])
    with pytest.raises(AmbientEndpointForbidden, match=r"\(none declared; port 443\)"):
        policy.check_credentials(ambient, source="'x'", endpoints=[("cloud.example", 443)])
    with pytest.raises(AmbientEndpointForbidden, match=r"\(no host\)"):
        policy.check_credentials(ambient, source="'x'", endpoints=[("", 443)])


def test_vendor_host_patterns() -> None:
    patterns = ("storage.example.com", "*.blob.example.net", "s3.*.example.org")
    assert vendor_host("STORAGE.example.com.", patterns)
    assert vendor_host("a.b.blob.example.net", patterns)  # a leading *. spans labels
    assert vendor_host("s3.eu-1.example.org", patterns)
    assert not vendor_host("s3.a.b.example.org", patterns)  # an inner * stays in one label
    assert not vendor_host("blob.example.net", patterns)
    assert not vendor_host("x.storage.example.com", patterns)
    assert not vendor_host("storage.example.com.evil", patterns)
    assert not vendor_host("127.0.0.1", ("*",))


def test_the_specs_publish_their_vendor_hosts() -> None:
    lf = Lakefeed()
    for spec, auth in (CHAIN, IAM_ROLE, BLOB, ADLS, GCS):
        schema = lf.connection_spec(spec).auth_spec(auth).json_schema()
        assert schema["x-ambient"] is True
        assert schema["x-vendor-hosts"], (spec, auth)
    gcs = lf.connection_spec(GCS[0]).auth_spec(GCS[1]).json_schema()
    assert gcs["x-vendor-hosts"] == ["storage.googleapis.com", "*.storage.googleapis.com"]
    keys = lf.connection_spec("amazon-s3").auth_spec("Access Key").json_schema()
    assert "x-vendor-hosts" not in keys
