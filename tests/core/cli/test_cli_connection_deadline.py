"""``lakefeed connections test`` against an endpoint that accepts connections and never
answers: every backend gives up at the deadline (``--timeout``, ``LAKEFEED_CONNECT_TIMEOUT``)
with a clear error, instead of waiting for its vendor client's retries."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result

from faultproxy import SilentServer
from lakefeed import Lakefeed

RunCli = Callable[..., Result]
KEY = base64.b64encode(b"k" * 64).decode()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _short_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Longer than the deadlines below, so that the deadline, not a read, ends each test; short
    # enough that the clients still waiting in the background give up soon after.
    monkeypatch.setenv("LAKEFEED_READ_TIMEOUT", "5")


def connection(silent: SilentServer, backend: str) -> tuple[str, str | None, dict[str, Any]]:
    """(spec, auth spec, params) of a connection to the silent server."""
    url = silent.url
    return {
        "s3": ("amazon-s3", None, {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": url}),
        "gcs": (
            "google-cloud",
            "Anonymous Access for google-cloud",
            {"serviceUrl": url, "bucketName": "b"},
        ),
        "gcs-hmac": (
            "google-cloud",
            "Basic Authentication for google-cloud",
            {"accessKeyId": "a", "secretAccessKey": "s", "serviceUrl": url},
        ),
        "azure": (
            "azure-blob",
            "ConnectionString",
            {
                "connectionString": "DefaultEndpointsProtocol=http;AccountName=acct;"
                f"AccountKey={KEY};BlobEndpoint={url}/acct;"
            },
        ),
        "adls": (
            "adls-gen2",
            "Account Key Authentication for adls-gen2",
            {"url": f"{url}/acct", "accountKey": KEY},
        ),
        "sftp": (
            "sftp",
            "Basic Authentication for sftp",
            {"host": silent.host, "port": silent.port, "userName": "u", "password": "p"},
        ),
    }[backend]


@pytest.mark.parametrize("backend", ["s3", "gcs", "gcs-hmac", "azure", "adls", "sftp"])
def test_a_stalled_endpoint_fails_the_test_at_the_deadline(
    run_cli: RunCli, lf: Lakefeed, silent: SilentServer, backend: str
) -> None:
    spec, auth_spec, params = connection(silent, backend)
    lf.create_connection("stalled", spec, auth_spec, params)
    failed = run_cli("connections", "test", "stalled", "--timeout", "1", code=1)
    assert "LF-2504" in failed.stderr, failed.stderr
    assert f"at 127.0.0.1:{silent.port} did not answer within 1 s" in failed.stderr
    assert "LAKEFEED_CONNECT_TIMEOUT" in failed.stderr
    assert silent.accepted >= 1  # it got as far as the endpoint


def test_the_deadline_comes_from_the_environment(
    run_cli: RunCli, lf: Lakefeed, silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEFEED_CONNECT_TIMEOUT", "0.5")
    spec, _, params = connection(silent, "s3")
    failed = run_cli(
        "connections", "create", "stalled", "--spec", spec, "--test",
        *(f"-p{name}={value}" for name, value in params.items()),
        code=1,
    )  # fmt: skip
    assert "LF-2504" in failed.stderr and "within 0.5 s" in failed.stderr, failed.stderr
    assert "stalled" not in run_cli("connections", "list").stdout  # a failed --test stores none
    monkeypatch.setenv("LAKEFEED_CONNECT_TIMEOUT", "later")
    refused = run_cli("connections", "list", code=1)
    assert "LAKEFEED_CONNECT_TIMEOUT='later'" in refused.stderr


@pytest.mark.parametrize(("timeout", "code"), [("nan", 2), ("inf", 2), ("1e10", 2)])
def test_a_deadline_that_is_no_number_of_seconds_is_refused(
    run_cli: RunCli, lf: Lakefeed, silent: SilentServer, timeout: str, code: int
) -> None:
    """Not a traceback from the clock (NaN, or beyond threading.TIMEOUT_MAX)."""
    spec, _, params = connection(silent, "s3")
    lf.create_connection("stalled", spec, None, params)
    refused = run_cli("connections", "test", "stalled", "--timeout", timeout, code=code)
    assert "at most 86400" in refused.stderr or "<=86400" in refused.stderr, refused.stderr
    assert silent.accepted == 0


def test_a_deadline_over_a_day_in_the_environment_is_refused(
    run_cli: RunCli, lf: Lakefeed, silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _, params = connection(silent, "s3")
    lf.create_connection("stalled", spec, None, params)
    monkeypatch.setenv("LAKEFEED_CONNECT_TIMEOUT", "99999999999999999999")
    refused = run_cli("connections", "test", "stalled", code=1)
    assert "LAKEFEED_CONNECT_TIMEOUT='99999999999999999999'" in refused.stderr
    assert "at most 86400" in refused.stderr and silent.accepted == 0
