"""Which failures of a file are transient (the next run tries it again) and which make the
file version fail for good: network, server and access failures are transient; what the bytes
themselves cause, or what no class explains, is not (pure logic)."""

from __future__ import annotations

import errno

import pytest

from lakefeed.errors import (
    CorruptParquet,
    DatasetError,
    FileChangedWhileReading,
    HostKeyRejected,
    LakefeedError,
    NotParquet,
    RunCancelled,
    SchemaMismatch,
    StorageAuthenticationFailed,
    StorageError,
    StorageNotFound,
    StoragePermissionDenied,
    StorageServerError,
    StorageUnreachable,
)
from lakefeed.storage.errors import classify, translate


class ClientError(Exception):
    """Shaped like botocore's: the HTTP status is in ``response``."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"An error occurred ({code}) when calling the GetObject operation")
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


class HttpResponseError(Exception):
    """Shaped like Azure's: ``status_code``."""

    def __init__(self, status_code: int) -> None:
        super().__init__("Operation returned an invalid status")
        self.status_code = status_code


class ServerDisconnectedError(Exception):
    """Same name as aiohttp's."""


def wrapped(cause: BaseException) -> OSError:
    """As s3fs raises it: a bare OSError whose cause is the vendor error."""
    try:
        raise cause
    except BaseException as exc:
        error = OSError(errno.EIO, "")
        error.__cause__ = exc
        return error


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ClientError(500, "InternalError"), StorageServerError),
        (ClientError(503, "SlowDown"), StorageServerError),
        (wrapped(ClientError(503, "ServiceUnavailable")), StorageServerError),
        (HttpResponseError(502), StorageServerError),
        (HttpResponseError(429), StorageServerError),
        (OSError("We encountered an internal error. InternalError"), StorageServerError),
        (ServerDisconnectedError("Server disconnected"), StorageUnreachable),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), StorageUnreachable),
        (TimeoutError(), StorageUnreachable),
        (ValueError("Nanosecond resolution temporal type is not convertible"), StorageError),
        (HttpResponseError(400), StorageError),
    ],
)
def test_server_and_network_failures_are_told_apart(exc: BaseException, expected: type) -> None:
    assert classify(exc) is expected


@pytest.mark.parametrize(
    "cls",
    [
        StorageUnreachable,
        StorageServerError,
        StorageNotFound,
        StoragePermissionDenied,
        StorageAuthenticationFailed,
        HostKeyRejected,
        FileChangedWhileReading,
        DatasetError,
        RunCancelled,
    ],
)
def test_failures_outside_the_file_are_transient(cls: type[LakefeedError]) -> None:
    assert cls.transient


@pytest.mark.parametrize(
    "cls", [StorageError, NotParquet, CorruptParquet, SchemaMismatch, LakefeedError]
)
def test_failures_of_the_file_itself_are_permanent(cls: type[LakefeedError]) -> None:
    assert not cls.transient


def test_an_unexplained_error_reading_a_file_is_permanent_and_says_what_happened() -> None:
    error = translate(
        ValueError("Nanosecond resolution temporal type 1700000000123456789 is not convertible"),
        action="reading '/in/n.parquet'",
        source="'raw'",
    )
    assert type(error) is StorageError and not error.transient
    assert "1700000000123456789" in error.message
    busy = translate(ClientError(503, "SlowDown"), action="reading 'k'", source="'s3'")
    assert busy.code == "LF-2502" and busy.transient and "next run" in str(busy.fix)
