"""The endpoint policy of ``lakefeed serve`` as logic: allow-list entries, which addresses are
refused, resolution at connect time (DNS rebinding), and the endpoints plugins report."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest

from lakefeed.config import Settings
from lakefeed.errors import EndpointForbidden, InvalidRequest, StorageUnreachable
from lakefeed.plugins import get_plugins
from lakefeed.storage.endpoints import AllowedEndpoint, EndpointPolicy
from lakefeed.storage.source import url_endpoint

KEY = base64.b64encode(b"k" * 64).decode()


def allowed(policy: EndpointPolicy, host: str, port: int, *, connecting: bool = True) -> bool:
    try:
        policy.check([(host, port)], source="'probe'", connecting=connecting)
    except EndpointForbidden:
        return False
    return True


def test_settings_read_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = Settings.load(tmp_path)
    assert (loaded.allow_endpoints, loaded.connect_timeout, loaded.read_timeout) == ((), 30, 60)
    monkeypatch.setenv("LAKEFEED_ALLOW_ENDPOINTS", " 127.0.0.1:5000, ,minio.internal")
    monkeypatch.setenv("LAKEFEED_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("LAKEFEED_READ_TIMEOUT", "7")
    loaded = Settings.load(tmp_path)
    assert loaded.allow_endpoints == ("127.0.0.1:5000", "minio.internal")
    assert (loaded.connect_timeout, loaded.read_timeout) == (2.5, 7)
    for bad in ("0", "-1", "soon", "inf", "nan"):
        monkeypatch.setenv("LAKEFEED_READ_TIMEOUT", bad)
        with pytest.raises(InvalidRequest, match="LAKEFEED_READ_TIMEOUT"):
            Settings.load(tmp_path)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "localhost",
        "LocalHost.",
        "db.localhost",
        "169.254.169.254",
        "fd00:ec2::254",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "::",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "fe80::1",
        "224.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.1",
        "127.1",
    ],
)
def test_non_public_addresses_are_refused(host: str) -> None:
    assert not allowed(EndpointPolicy(), host, 443)
    assert not allowed(EndpointPolicy(), host, 443, connecting=False)


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", ""])
def test_public_addresses_pass(host: str) -> None:
    assert allowed(EndpointPolicy(), host, 443)


def test_allow_list_entries() -> None:
    policy = EndpointPolicy(
        ["127.0.0.1:5000", "minio.internal", "10.0.0.0/8", "[::1]:10000", "fd00::/8", "Azurite"]
    )
    assert allowed(policy, "127.0.0.1", 5000)
    assert allowed(policy, "::ffff:127.0.0.1", 5000)  # the same address, IPv4-mapped
    assert not allowed(policy, "127.0.0.1", 5001)  # another port
    assert allowed(policy, "localhost", 5000)  # a name is checked by its addresses
    assert allowed(policy, "10.200.0.1", 22) and not allowed(policy, "172.16.0.1", 22)
    assert allowed(policy, "::1", 10000) and not allowed(policy, "::1", 10001)
    assert allowed(policy, "fd12::1", 443)
    assert allowed(policy, "azurite", 10000)  # names: any port, case-insensitive
    assert not allowed(policy, "192.168.1.1", 443)
    assert [entry.text for entry in policy.allowed] == [
        "127.0.0.1:5000", "minio.internal", "10.0.0.0/8", "[::1]:10000", "fd00::/8", "Azurite",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "entry",
    ["", "a b", "host:", "host:0", "h:65536", "[::1", "[::1]x", "10.0.0.0/33", "1.2.3.4/8", "a/b"],
)
def test_bad_allow_list_entries_are_refused(entry: str) -> None:
    with pytest.raises(InvalidRequest, match="LAKEFEED_ALLOW_ENDPOINTS"):
        AllowedEndpoint.parse(entry)


def test_the_refusal_names_the_endpoint_and_the_fix() -> None:
    with pytest.raises(EndpointForbidden) as refused:
        EndpointPolicy().check([("169.254.169.254", 80)], source="'landing'", connecting=True)
    error = refused.value
    assert error.code == "LF-2121" and error.http_status == 403
    assert "169.254.169.254:80 of 'landing' is a link-local address" in error.message
    assert "LAKEFEED_ALLOW_ENDPOINTS=169.254.169.254:80" in str(error.fix)
    assert "--allow-endpoint 169.254.169.254:80" in str(error.fix)


def test_resolution_happens_at_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name that resolved to a public address when the connection was stored
    is checked again against what it resolves to when a session connects; every address
    must pass, and a name that does not resolve is not connected to."""
    answers: dict[str, list[str]] = {"drop.example": ["8.8.8.8"]}

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    policy = EndpointPolicy()
    assert allowed(policy, "drop.example", 443, connecting=False)  # stored
    answers["drop.example"] = ["8.8.8.8", "127.0.0.1"]
    assert not allowed(policy, "drop.example", 443)  # one loopback answer refuses it
    answers["drop.example"] = ["169.254.169.254"]
    assert not allowed(policy, "drop.example", 443)
    del answers["drop.example"]
    assert allowed(policy, "drop.example", 443, connecting=False)  # stored: checked later
    with pytest.raises(StorageUnreachable, match="does not resolve"):
        policy.check([("drop.example", 443)], source="'x'", connecting=True)


def endpoints(spec: str, auth_spec: str, params: dict[str, Any]) -> list[tuple[str, int]]:
    source_type = get_plugins().source_type(spec)
    return source_type.endpoints(source_type.auth_params(params, auth_spec))


def test_plugins_report_every_endpoint_they_contact() -> None:
    s3 = {"s3AccessKey": "a", "s3SecretKey": "s"}
    assert endpoints("amazon-s3", "Access Key", s3) == [("s3.amazonaws.com", 443)]
    custom = {**s3, "serviceUrl": "http://minio:9000"}
    assert endpoints("amazon-s3", "Access Key", custom) == [("minio", 9000)]
    key = (
        '{"type": "service_account", "client_email": "a@b", "private_key": "k", '
        '"token_uri": "https://token.example:8443/t"}'
    )
    assert endpoints(
        "google-cloud",
        "Service Account Authentication for google-cloud",
        {"serviceAccountKey": key},
    ) == [("storage.googleapis.com", 443), ("token.example", 8443)]
    sftp = {"host": "sftp.example", "port": 2222, "userName": "u", "password": "p"}
    assert endpoints("sftp", "Basic Authentication for sftp", sftp) == [("sftp.example", 2222)]
    principal = {
        "url": "https://acct.dfs.core.windows.net",
        "servicePrincipalId": "i",
        "servicePrincipalKey": "k",
        "tenant": "t",
    }
    assert endpoints("adls-gen2", "Basic Authentication for adls-gen2", principal) == [
        ("acct.blob.core.windows.net", 443),
        ("acct.blob.core.windows.net", 443),
    ]
    assert endpoints("local-files", "Local Path", {"rootPath": "/tmp"}) == []


@pytest.mark.parametrize(
    "connection_string",
    [
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};"
        "EndpointSuffix=core.windows.net",
        f"AccountName=acct;AccountKey={KEY}",
        f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={KEY}",
        f"AccountName=acct;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/acct;",
        f"AccountName=acct;AccountKey={KEY};blobendpoint=http://10.0.0.1:10000/acct",
        f"BlobEndpoint=https://a.example;AccountName=acct;AccountKey={KEY};"
        "BlobEndpoint=http://127.0.0.1:1/x",
        f"AccountName=acct;AccountKey={KEY};BLOBENDPOINT=",
        f"AccountName=u@127.0.0.1:10000/x#;AccountKey={KEY}",
        "UseDevelopmentStorage=true",
        f"BlobEndpoint=https://a.example;BlobSecondaryEndpoint=b.example;AccountKey={KEY}",
    ],
)
def test_azure_connection_strings_point_where_the_sdk_connects(connection_string: str) -> None:
    """The endpoint lakefeed checks is the one the Azure SDK itself derives."""
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(connection_string)
    reported = endpoints("azure-blob", "ConnectionString", {"connectionString": connection_string})
    assert reported[0] == url_endpoint(client.primary_endpoint)


@pytest.mark.parametrize(
    "url", ["https://[", "https://[::1/x", "https://h:port", "https://h:70000"]
)
def test_a_url_python_cannot_split_is_invalid_auth_params(url: str) -> None:
    from lakefeed.errors import InvalidAuthParams
    from lakefeed.storage.source import split_url

    with pytest.raises(InvalidAuthParams, match="The SAS URI is not a valid URL") as raised:
        split_url(url + "?sig=SECRET", "The SAS URI")
    assert "SECRET" not in str(raised.value) and "SECRET" not in (raised.value.fix or "")
    with pytest.raises(InvalidAuthParams):
        url_endpoint(url)


def test_split_url_keeps_good_urls() -> None:
    from lakefeed.storage.source import split_url

    parts = split_url(" https://[::1]:8443/a?b=c ")
    assert (parts.hostname, parts.port, parts.path, parts.query) == ("::1", 8443, "/a", "b=c")
    assert url_endpoint("http://h") == ("h", 80) and url_endpoint("h:9000") == ("h", 9000)
