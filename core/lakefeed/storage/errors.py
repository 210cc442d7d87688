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
    StoragePathInvalid,
    StoragePermissionDenied,
    StorageServerError,
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
    "Connection reset",
    "Connection aborted",
    "Server disconnected",
    "Broken pipe",
)
# Error codes and phrases of server failures and throttling (S3, Azure, GCS, HTTP).
_SERVER_MARKERS = (
    "InternalError",
    "InternalServerError",
    "Internal Server Error",
    "ServiceUnavailable",
    "Service Unavailable",
    "SlowDown",
    "Slow Down",
    "Throttl",
    "TooManyRequests",
    "Too Many Requests",
    "RequestLimitExceeded",
    "ServerBusy",
    "OperationTimedOut",
    "Bad Gateway",
    "Gateway Timeout",
    "backendError",
    "rateLimitExceeded",
)
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
}


def cause_chain(exc: BaseException) -> list[BaseException]:
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
    for item in cause_chain(exc):
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
#: Names a filesystem refuses: too long, or bytes it does not allow in one.
_PATH_INVALID_ERRNOS = {errno.ENAMETOOLONG, errno.EILSEQ}
#: Paths that lead to nothing: through a file (a.parquet/x), or round a loop of links.
_NOT_FOUND_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP}
_UNREACHABLE_TYPES = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ClientConnectorError",
    "ServiceRequestError",
    "NoValidConnectionsError",
    "SSHException",
    "ServerTimeoutError",
    "ReadTimeoutError",
    "ReadTimeout",
    "ResponseStreamingError",
    "IncompleteReadError",
    "IncompleteRead",
    "ServerDisconnectedError",
    "ClientPayloadError",
    "ContentLengthError",
    "ClientOSError",
    "ClientConnectionError",
    "RemoteDisconnected",
    "ProtocolError",
    "ChunkedEncodingError",
    "ServiceResponseError",
    "ConnectionClosedError",
}


def http_status(exc: BaseException) -> int | None:
    """The HTTP status a vendor exception carries (Azure ``status_code``, aiohttp ``status``,
    gcsfs ``code``, botocore ``response``), if any."""
    for attribute in ("status_code", "status", "code"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def classify(exc: BaseException) -> type[StorageError]:
    """Pick the lakefeed error class for a vendor exception (generic rules, any backend)."""
    chain = cause_chain(exc)
    names = {type(e).__name__ for e in chain}
    text = describe(exc)
    if "BadHostKeyException" in names or "not found in known_hosts" in text:
        return HostKeyRejected
    if names & _AUTH_TYPES or any(marker in text for marker in _AUTH_MARKERS):
        return StorageAuthenticationFailed
    if (
        isinstance(exc, FileNotFoundError)
        or names & _NOT_FOUND_TYPES
        or (isinstance(exc, OSError) and exc.errno in _NOT_FOUND_ERRNOS)
    ):
        return StorageNotFound
    if any(isinstance(e, OSError) and e.errno in _PATH_INVALID_ERRNOS for e in chain):
        return StoragePathInvalid
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return StoragePermissionDenied
    statuses = {http_status(e) for e in chain} - {None}
    if any(s >= 500 or s == 429 for s in statuses if s is not None) or any(
        marker in text for marker in _SERVER_MARKERS
    ):
        return StorageServerError
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
    StorageServerError: "The backend failed or throttled the request; the next run tries again.",
    HostKeyRejected: (
        "Add the server's host key to the known-hosts file, or set the connection's "
        "knownHosts parameter to the right key."
    ),
    StoragePathInvalid: "Give a shorter path, with only characters the storage allows in names.",
    # The backend's own words are in the message itself (secrets removed), not elsewhere.
    StorageError: (
        "The backend's error is quoted in the message; retry if the backend was briefly "
        "unavailable, otherwise check the connection's settings and the path."
    ),
}


def translate(
    exc: BaseException,
    *,
    action: str,
    source: str,
    secrets: Iterable[str] = (),
    error_class: type[StorageError] | None = None,
    remote_text: bool = True,
) -> LakefeedError:
    """Turn ``exc`` into a lakefeed error; secret values are removed from the message.

    :param action: what was being done, e.g. ``"listing 'bucket/data'"``.
    :param source: the connection or spec name, for the message.
    :param remote_text: False (``lakefeed serve``): errors that are not a storage service's
        verdict on the request (unreachable, timed out, server errors, unexplained failures)
        name only the exception types, never what the endpoint sent (banners, pages).
    """
    if isinstance(exc, LakefeedError):
        return exc
    cls = error_class or classify(exc)
    if not remote_text and not issubclass(cls, _VERDICTS):
        kinds = " <- ".join(dict.fromkeys(type(e).__name__ for e in cause_chain(exc)))
        return cls(
            f"{cls.title} while {action} on {source}: {kinds} (what the endpoint sent is "
            "not shown by this server).",
            fix=_HIDDEN_FIX if cls is StorageError else _FIXES.get(cls, _HIDDEN_FIX),
        )
    detail = redact(describe(exc), secrets)
    if len(detail) > 400:
        detail = detail[:400] + "…"
    return cls(f"{cls.title} while {action} on {source}: {detail}", fix=_FIXES[cls])


#: The storage's own verdicts on a request: ``lakefeed serve`` passes on their vendor text,
#: which names the bucket, key or credential problem; other errors' it does not.
_VERDICTS = (
    StorageAuthenticationFailed,
    StoragePermissionDenied,
    StorageNotFound,
    StoragePathInvalid,
    HostKeyRejected,
)
_HIDDEN_FIX = (
    "Retry if the backend was briefly unavailable; otherwise check the connection's endpoint "
    "and settings (`lakefeed connections test` on the server's machine shows the backend's "
    "own error)."
)
