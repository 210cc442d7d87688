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


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes (vendors wrap: s3fs puts botocore's ClientError in
    ``__cause__`` of a bare PermissionError)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 5:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe(exc: BaseException) -> str:
    """``Type: message`` of the most informative exception in the chain."""
    parts = []
    for item in _chain(exc):
        message = str(item).strip()
        if message and message != "None":
            parts.append(f"{type(item).__name__}: {message}")
    return " <- ".join(parts[:2]) or type(exc).__name__


_AUTH_TYPES = {
    "AuthenticationException",
    "ClientAuthenticationError",
    "BadAuthenticationType",
    "PasswordRequiredException",
    "RefreshError",
}
_NOT_FOUND_TYPES = {"ResourceNotFoundError", "NoSuchBucket", "NoSuchKey"}
_UNREACHABLE_TYPES = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ClientConnectorError",
    "ServiceRequestError",
    "NoValidConnectionsError",
    "SSHException",
    "ServerTimeoutError",
}


def classify(exc: BaseException) -> type[StorageError]:
    """Pick the lakefeed error class for a vendor exception (generic rules, any backend)."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    text = describe(exc)
    if "BadHostKeyException" in names or "not found in known_hosts" in text:
        return HostKeyRejected
    if names & _AUTH_TYPES or any(marker in text for marker in _AUTH_MARKERS):
        return StorageAuthenticationFailed
    if isinstance(exc, FileNotFoundError) or names & _NOT_FOUND_TYPES:
        return StorageNotFound
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return StoragePermissionDenied
    unreachable_os_error = any(
        isinstance(e, socket.timeout | TimeoutError | ConnectionError | socket.gaierror)
        or (isinstance(e, OSError) and e.errno in _UNREACHABLE_ERRNOS)
        for e in chain
    )
    if (
        unreachable_os_error
        or names & _UNREACHABLE_TYPES
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
    detail = redact(describe(exc), secrets)
    if len(detail) > 400:
        detail = detail[:400] + "…"
    return cls(f"{cls.title} while {action} on {source}: {detail}", fix=_FIXES[cls])
