"""The warehouse: where dataset tables keep their files (``LAKEFEED_WAREHOUSE``), reached with
its own pyiceberg FileIO properties (``LAKEFEED_WAREHOUSE_OPTIONS[_FILE]``), never with a
source connection's credentials.

A ``file://`` warehouse is a local folder. ``s3://``, ``gs://`` and ``abfs://`` warehouses are
written through pyiceberg's fsspec FileIO (s3fs, gcsfs, adlfs: the clients lakefeed's storage
plugins use, which S3-compatible servers such as Ceph RGW accept) unless the options choose
another ``py-io-impl``. With no credentials in the options, the cloud SDK's default chain
applies (environment, profile, instance or workload identity).

The options are the operator's configuration, read from the environment at start: no request
can change them, and tables cannot either — FileIO properties stored in a table's metadata are
ignored (:func:`without_file_io_properties`). Vendor errors become
:class:`~lakefeed.errors.WarehouseError`s here (:func:`warehouse_error`), with every secret of
the options removed.
"""

from __future__ import annotations

import errno
import functools
import re
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlparse

from lakefeed.errors import (
    LakefeedError,
    MissingDependency,
    WarehouseAccessDenied,
    WarehouseConfigError,
    WarehouseError,
    WarehouseNotFound,
    WarehouseUnreachable,
)
from lakefeed.secrets import redact
from lakefeed.specs import REDACTED

#: Object stores lakefeed writes tables to, by URI scheme.
OBJECT_STORE_SCHEMES = ("s3", "s3a", "gs", "gcs", "abfs", "abfss")
IO_IMPL = "py-io-impl"
FSSPEC_FILE_IO = "pyiceberg.io.fsspec.FsspecFileIO"
#: Name prefixes of pyiceberg FileIO properties: table properties with these names are not
#: passed to the table's FileIO (a table's metadata must not redirect the warehouse).
FILE_IO_PREFIXES = ("s3.", "client.", "gcs.", "adls.", "hdfs.", "hf.", "oss.", IO_IMPL)
#: Property names that hold secrets contain one of these.
_SECRET_WORDS = ("secret", "key", "token", "password", "credential", "connection-string", "sas")
#: Properties pyiceberg reads under a name it completes (``adls.sas-token.<account host>``).
_OPEN_PREFIXES = ("adls.sas-token.", "s3.signer.")
_FIX_OPTIONS = (
    "LAKEFEED_WAREHOUSE_OPTIONS_FILE (or LAKEFEED_WAREHOUSE_OPTIONS) holds the warehouse's "
    "FileIO properties"
)


def scheme_of(warehouse: str) -> str:
    scheme = urlparse(warehouse).scheme.lower()
    return scheme if len(scheme) > 1 else "file"  # C:\… is a local path


def file_io_properties(warehouse: str, options: Mapping[str, str]) -> dict[str, str]:
    """The FileIO properties the catalog is opened with: the options, checked, and for an
    object store the fsspec FileIO unless they name another. :class:`WarehouseConfigError`
    for a scheme lakefeed does not write to or an option pyiceberg does not know."""
    scheme = scheme_of(warehouse)
    if scheme != "file" and scheme not in OBJECT_STORE_SCHEMES:
        raise WarehouseConfigError(
            f"LAKEFEED_WAREHOUSE={warehouse!r} has the scheme {scheme!r}; lakefeed writes "
            "tables to file://, s3://, gs:// and abfs:// warehouses.",
            fix="Set LAKEFEED_WAREHOUSE to a file:// folder or an s3://bucket/prefix, "
            "gs://bucket/prefix or abfs://container@account.dfs.core.windows.net/prefix URI.",
        )
    if not urlparse(warehouse).netloc and scheme != "file":
        raise WarehouseConfigError(
            f"LAKEFEED_WAREHOUSE={warehouse!r} names no bucket or container.",
            fix=f"Set LAKEFEED_WAREHOUSE to {scheme}://BUCKET/PREFIX.",
        )
    unknown = sorted(name for name in options if not _known(name))
    if unknown:
        raise WarehouseConfigError(
            f"The warehouse options name properties pyiceberg's FileIO does not read: "
            f"{', '.join(repr(name) for name in unknown[:5])}.",
            fix="Use pyiceberg FileIO property names, e.g. s3.endpoint, s3.access-key-id, "
            "s3.secret-access-key, s3.region, gcs.service.host, adls.connection-string, "
            "adls.account-name, adls.account-key (docs/reference/configuration.md).",
        )
    if scheme == "file" and options:
        raise WarehouseConfigError(
            f"Warehouse options are set, but LAKEFEED_WAREHOUSE is the local folder "
            f"{warehouse!r}: the options would be ignored.",
            fix="Set LAKEFEED_WAREHOUSE to the object-store URI the options are for "
            "(s3://bucket/prefix, gs://…, abfs://…), or unset the options.",
        )
    properties = dict(options)
    if scheme != "file":
        properties.setdefault(IO_IMPL, FSSPEC_FILE_IO)
        if properties[IO_IMPL] == FSSPEC_FILE_IO:
            _check_installed(scheme, warehouse)
    return properties


#: The fsspec filesystem each object store needs, and the extra that installs it.
_CLIENTS = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "abfs": ("adlfs", "azure")}


def _check_installed(scheme: str, warehouse: str) -> None:
    import importlib.util

    module, extra = _CLIENTS[{"s3a": "s3", "gcs": "gs", "abfss": "abfs"}.get(scheme, scheme)]
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(
            f"The warehouse {warehouse!r} is written with {module}, which is not installed.",
            fix=f"pip install 'lakefeed[{extra}]'",
        )


def is_file_io_property(name: str) -> bool:
    return name.startswith(FILE_IO_PREFIXES)


def without_file_io_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """``properties`` (a table's) without FileIO properties: only the operator's options say
    where the warehouse is and how to sign in."""
    return {k: v for k, v in properties.items() if not is_file_io_property(k)}


@functools.cache
def _known_names() -> frozenset[str]:
    import pyiceberg.io

    names = {
        value
        for name, value in vars(pyiceberg.io).items()
        if name.isupper() and isinstance(value, str) and is_file_io_property(value)
    }
    return frozenset(names)


def _known(name: str) -> bool:
    return name in _known_names() or name.startswith(_OPEN_PREFIXES)


def secret_values(properties: Mapping[str, str]) -> list[str]:
    """The secret values among ``properties`` and the fragments of them vendors echo
    (``AccountKey=…`` of a connection string, the password of an endpoint URL's
    ``user:password@``), for :func:`~lakefeed.secrets.redact`."""
    values: list[str] = []
    for name, value in properties.items():
        if "://" in str(value):
            password = urlparse(str(value)).password
            if password:
                values += [password, unquote(password)]
        if not any(word in name.lower() for word in _SECRET_WORDS):
            continue
        text = str(value)
        values.append(text)
        for part in text.replace("?", ";").replace("&", ";").split(";"):
            _, sep, tail = part.partition("=")
            if sep and len(tail) >= 6:
                values.append(tail)
    return values


#: A URL's scheme and ``userinfo@`` (to the last ``@`` before its path: a password may hold one).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#'\"<>]*)@")
#: Schemes whose ``name@`` is a container, not a user (``abfs://container@account…``).
_CONTAINER_SCHEMES = ("abfs://", "abfss://", "wasb://", "wasbs://")


def without_userinfo(url: str) -> str:
    """``url`` (an option's value) without the ``user:password@`` of an endpoint URL."""
    return _USERINFO.sub(lambda m: m[1] if _is_userinfo(m) else m[0], url)


def redact_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``********@``."""
    return _USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@" if _is_userinfo(m) else m[0], text)


def _is_userinfo(match: re.Match[str]) -> bool:
    return ":" in match[2] or not match[1].lower().startswith(_CONTAINER_SCHEMES)


# --- errors ---------------------------------------------------------------------------------

_ACCESS_MARKERS = (
    "AccessDenied",
    "ACCESS_DENIED",
    "Forbidden",
    "InvalidAccessKeyId",
    "INVALID_ACCESS_KEY_ID",
    "SignatureDoesNotMatch",
    "SIGNATURE_DOES_NOT_MATCH",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
    "InvalidClientTokenId",
    "ExpiredToken",
    "NoCredentialsError",
    "Unable to locate credentials",
    "invalid_grant",
    "Anonymous caller does not have",
)
_ACCESS_TYPES = {"ClientAuthenticationError", "RefreshError", "NoCredentialsError"}
_NOT_FOUND_MARKERS = (
    "NoSuchBucket",
    "NO_SUCH_BUCKET",
    "The specified bucket does not exist",
    "ContainerNotFound",
    "The specified container does not exist",
)
_UNREACHABLE_MARKERS = (
    "NETWORK_CONNECTION",
    "Could not connect",
    "Cannot connect to host",
    "Connection refused",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Failed to establish a new connection",
    "Unable to connect",
    "No route to host",
    "Connection reset",
    "timed out",
)
_UNREACHABLE_TYPES = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ClientConnectorError",
    "ServiceRequestError",
    "ServerTimeoutError",
    "ReadTimeoutError",
}
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 5:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _describe(chain: Iterable[BaseException]) -> str:
    parts = []
    for item in chain:
        message = str(item).strip()
        if message and message != "None":
            parts.append(f"{type(item).__name__}: {message}")
    return " <- ".join(parts[:2])


def _status(exc: BaseException) -> int | None:
    for attribute in ("status_code", "status", "code"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value < 600:
            return value
    return None


def _kind(chain: list[BaseException], text: str) -> type[WarehouseError]:
    names = {type(e).__name__ for e in chain}
    statuses = {_status(e) for e in chain}
    if any(marker in text for marker in _NOT_FOUND_MARKERS):
        return WarehouseNotFound
    if (
        names & _ACCESS_TYPES
        or statuses & {401, 403}
        or any(isinstance(e, PermissionError) for e in chain)
        or any(marker in text for marker in _ACCESS_MARKERS)
    ):
        return WarehouseAccessDenied
    if (
        names & _UNREACHABLE_TYPES
        or any(
            isinstance(e, socket.timeout | TimeoutError | ConnectionError | socket.gaierror)
            or (isinstance(e, OSError) and e.errno in _UNREACHABLE_ERRNOS)
            for e in chain
        )
        or any(marker in text for marker in _UNREACHABLE_MARKERS)
    ):
        return WarehouseUnreachable
    return WarehouseError


def raised_by_warehouse(exc: BaseException) -> bool:
    """Whether the warehouse's client raised ``exc``: not the catalog's database, nor
    pyiceberg's own checks (no such table, a commit that lost a race), nor lakefeed."""
    return not any(
        isinstance(e, LakefeedError)
        or type(e).__module__.startswith(("sqlalchemy", "pyiceberg.exceptions"))
        for e in _chain(exc)
    )


def warehouse_error(
    exc: BaseException, *, action: str, properties: Mapping[str, str], location: str
) -> LakefeedError:
    """``exc``, raised by the warehouse's client while ``action`` at ``location``, as a
    :class:`WarehouseError` naming the warehouse, its endpoint and the fix; the secrets of
    ``properties`` (the FileIO's) are removed from the vendor's words. A lakefeed error is
    returned as it is."""
    if isinstance(exc, LakefeedError):
        return exc
    chain = _chain(exc)
    detail = redact(_describe(chain) or type(exc).__name__, secret_values(properties))
    detail = redact_userinfo(detail)  # the vendor's words quote the endpoint URL too
    if len(detail) > 400:
        detail = detail[:400] + "…"
    cls = _kind(chain, detail)
    parsed = urlparse(location)
    if not parsed.netloc:  # a local folder: no credentials, no endpoint
        return cls(
            f"{cls.title} while {action} in the warehouse folder: {detail}",
            fix="Check that the warehouse folder (LAKEFEED_WAREHOUSE) exists, is writable by "
            "this user and has room.",
        )
    where = f"{parsed.scheme}://{parsed.netloc}"
    endpoint = next(
        (properties[k] for k in ("s3.endpoint", "gcs.service.host") if properties.get(k)), None
    )
    at = f" (endpoint {without_userinfo(endpoint)})" if endpoint else ""
    fixes = {
        WarehouseAccessDenied: (
            f"Check the warehouse credentials: {_FIX_OPTIONS} (e.g. s3.access-key-id and "
            "s3.secret-access-key); without keys the cloud SDK's default chain is used. They "
            "must allow listing, reading, writing and deleting under LAKEFEED_WAREHOUSE."
        ),
        WarehouseNotFound: (
            "Create the bucket or container, or fix LAKEFEED_WAREHOUSE; lakefeed does not "
            "create it."
        ),
        WarehouseUnreachable: (
            f"Check the warehouse endpoint ({_FIX_OPTIONS}, e.g. s3.endpoint) and that the "
            "store is running and reachable from this machine."
        ),
        WarehouseError: (
            f"Check LAKEFEED_WAREHOUSE and the warehouse options ({_FIX_OPTIONS}); the "
            "store's own error is quoted."
        ),
    }
    return cls(
        redact_userinfo(f"{cls.title} while {action} in the warehouse {where}{at}: {detail}"),
        fix=fixes[cls],
    )
