"""Vendor exceptions become lakefeed storage errors at this boundary, cause chained."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

from lakefeed.errors import (
    HostKeyRejected,
    LakefeedError,
    StorageAuthenticationFailed,
    StorageError,
    StorageNotFound,
    StoragePermissionDenied,
    StorageUnreachable,
)
from lakefeed.secrets import redact

# Substrings that vendors put in auth failures they raise as PermissionError or generic errors.
_AUTH_MARKERS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "invalid_grant",
    "Authentication failed",
    "AuthenticationException",
    "NoCredentialsError",
    "Unable to locate credentials",
)
_UNREACHABLE_MARKERS = (
    "Could not connect to the endpoint",
    "Cannot connect to host",
    "Connection refused",
    "Name or service not known",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "timed out",
    "Unable to connect",
    "No route to host",
)
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
}


def classify(exc: BaseException) -> type[StorageError]:
    """Pick the lakefeed error class for a vendor exception (generic rules, any backend)."""
    text = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ in ("BadHostKeyException",) or "not found in known_hosts" in text:
        return HostKeyRejected
    if any(marker in text for marker in _AUTH_MARKERS) or type(exc).__name__ in (
        "AuthenticationException",
        "ClientAuthenticationError",
        "BadAuthenticationType",
        "PasswordRequiredException",
        "RefreshError",
    ):
        return StorageAuthenticationFailed
    if isinstance(exc, FileNotFoundError) or type(exc).__name__ in (
        "ResourceNotFoundError",
        "NoSuchBucket",
        "NoSuchKey",
    ):
        return StorageNotFound
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return StoragePermissionDenied
    if (
        isinstance(exc, socket.timeout | TimeoutError | ConnectionError | socket.gaierror)
        or (isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS)
        or type(exc).__name__
        in (
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ClientConnectorError",
            "ServiceRequestError",
            "NoValidConnectionsError",
            "SSHException",
            "ServerTimeoutError",
        )
        or any(marker in text for marker in _UNREACHABLE_MARKERS)
    ):
        return StorageUnreachable
    return StorageError


_FIXES: dict[type[StorageError], str] = {
    StorageNotFound: "Check the path: `lakefeed ls CONNECTION /` shows what exists.",
    StoragePermissionDenied: "Grant the connection's identity list and read access to this path.",
    StorageAuthenticationFailed: (
        "Check the connection's credentials and update them if they were rotated or expired."
    ),
    StorageUnreachable: "Check the host or endpoint, the port and that the server is running.",
    HostKeyRejected: (
        "Add the server's host key to the known-hosts file, or set the connection's "
        "knownHosts parameter to the right key."
    ),
    StorageError: "See the cause below; retry if the backend was briefly unavailable.",
}


def translate(
    exc: BaseException,
    *,
    action: str,
    source: str,
    secrets: Iterable[str] = (),
    error_class: type[StorageError] | None = None,
) -> LakefeedError:
    """Turn ``exc`` into a lakefeed error; secret values are removed from the message.

    :param action: what was being done, e.g. ``"listing 'bucket/data'"``.
    :param source: the connection or spec name, for the message.
    """
    if isinstance(exc, LakefeedError):
        return exc
    cls = error_class or classify(exc)
    detail = redact(f"{type(exc).__name__}: {exc}".strip().rstrip(":"), secrets)
    if len(detail) > 400:
        detail = detail[:400] + "…"
    return cls(f"{cls.title} while {action} on {source}: {detail}", fix=_FIXES[cls])
