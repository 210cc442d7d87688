"""Vendor exceptions become lakefeed errors with secrets removed (pure logic)."""

from __future__ import annotations

import errno

import pytest

from lakefeed.errors import (
    HostKeyRejected,
    StorageAuthenticationFailed,
    StorageError,
    StorageNotFound,
    StoragePathInvalid,
    StoragePermissionDenied,
    StorageUnreachable,
)
from lakefeed.secrets import AuthParams, redact
from lakefeed.storage.errors import classify, translate


class AuthenticationException(Exception):
    """Same name as paramiko's."""


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError("bucket/key"), StorageNotFound),
        (PermissionError("Access Denied"), StoragePermissionDenied),
        (
            PermissionError(
                "The AWS Access Key Id you provided does not exist. InvalidAccessKeyId"
            ),
            StorageAuthenticationFailed,
        ),
        (OSError(errno.EIO, "SignatureDoesNotMatch"), StorageAuthenticationFailed),
        (AuthenticationException("Authentication failed."), StorageAuthenticationFailed),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), StorageUnreachable),
        (OSError(errno.EHOSTUNREACH, "No route"), StorageUnreachable),
        (TimeoutError("timed out"), StorageUnreachable),
        (Exception("host key for 127.0.0.1 not found in known_hosts"), HostKeyRejected),
        (OSError(errno.ENAMETOOLONG, "File name too long"), StoragePathInvalid),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory"), StorageNotFound),  # a.parquet/x
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), StorageNotFound),
        (ValueError("something else"), StorageError),
    ],
)
def test_classify(exc: Exception, expected: type) -> None:
    assert classify(exc) is expected


def test_translate_redacts_secrets_and_fragments() -> None:
    auth = AuthParams(
        "SAS URI Authentication",
        {"sasUri": "https://acct.blob.core.windows.net/?sv=2024&sig=AbCdEf0123456789%3D"},
        {"sasUri"},
    )
    exc = PermissionError("Server failed to authenticate: sig=AbCdEf0123456789%3D was wrong")
    error = translate(exc, action="listing 'c'", source="'az'", secrets=auth.secret_values())
    assert "AbCdEf0123456789" not in str(error)
    assert "********" in str(error)
    assert error.fix


def test_a_generic_storage_error_carries_its_cause_in_the_message() -> None:
    error = translate(OSError(5, "disk on fire"), action="listing 'x'", source="'raw'")
    assert type(error) is StorageError
    assert "disk on fire" in error.message and "below" not in str(error.fix)


def test_redact_longest_first() -> None:
    assert (
        redact("key=secret-long and secret", ["secret", "secret-long"])
        == "key=******** and ********"
    )
