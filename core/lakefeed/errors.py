"""Every failure lakefeed reports, one class per kind, each with a stable code.

A message says what was asked, what exists and how to fix it. The CLI prints ``str(error)``
without a traceback; the REST layer maps ``http_status`` and ``code`` to the Flow Service error
shape. Messages never contain secret values: storage errors pass through
:func:`lakefeed.secrets.redact` before they are raised.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LakefeedError(Exception):
    """Base class. ``code`` is stable across releases; ``fix`` is one sentence of advice."""

    code: ClassVar[str] = "LF-1000"
    http_status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, *, fix: str | None = None, **details: Any) -> None:
        self.message = message
        self.fix = fix
        self.details = details
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            **({"details": self.details} if self.details else {}),
        }


# --- configuration and plugins ---------------------------------------------------------------


class PluginError(LakefeedError):
    code = "LF-1900"
    http_status = 500
    title = "Plugin failed"


class MissingDependency(LakefeedError):
    code = "LF-1901"
    http_status = 500
    title = "Optional dependency not installed"


# --- specs and validation --------------------------------------------------------------------


class UnknownConnectionSpec(LakefeedError):
    code = "LF-1413"
    title = "Unknown connection spec"


class UnknownAuthSpec(LakefeedError):
    code = "LF-1415"
    title = "Auth spec not found for connection spec"


class InvalidAuthParams(LakefeedError):
    code = "LF-1304"
    title = "Invalid auth params"


class InvalidRequest(LakefeedError):
    code = "LF-1001"
    title = "Invalid request"


# --- stored resources ------------------------------------------------------------------------


class ConnectionNotFound(LakefeedError):
    code = "LF-1101"
    http_status = 404
    title = "Connection not found"


class ConnectionNameTaken(LakefeedError):
    code = "LF-1102"
    http_status = 409
    title = "Connection name already used"


class SecretKeyError(LakefeedError):
    code = "LF-1950"
    http_status = 500
    title = "Secrets cannot be decrypted"


class ResourceNotFound(LakefeedError):
    """A schema, dataset, source or target connection, flow, run or batch that does not exist
    (or belongs to another org or sandbox)."""

    code = "LF-1104"
    http_status = 404
    title = "Resource not found"


class SchemaNotFound(ResourceNotFound):
    code = "LF-1201"
    title = "Schema not found"


class InvalidSchema(LakefeedError):
    code = "LF-1202"
    title = "Invalid schema"


class NameTaken(LakefeedError):
    code = "LF-1103"
    http_status = 409
    title = "Name already used"


class ResourceInUse(LakefeedError):
    code = "LF-1418"
    title = "Resource is used by another resource"


class InvalidFlow(LakefeedError):
    """A source connection, target connection or flow whose parts do not fit together."""

    code = "LF-1307"
    title = "Invalid flow"


class RunInProgress(LakefeedError):
    code = "LF-1444"
    http_status = 409
    title = "A run of this flow is in progress"


class RunCancelled(LakefeedError):
    """A run abandoned before its commit because its process is stopping."""

    code = "LF-1511"
    http_status = 503
    title = "Run cancelled"


class InvalidSchedule(InvalidFlow):
    """``scheduleParams`` that break a scheduling rule; the subclasses carry the Flow Service
    code of the rule."""

    code = "LF-1397"
    title = "Invalid schedule"


class StartTimeInPast(InvalidSchedule):
    code = "LF-1360"
    title = "Start time is in the past"


class IntervalNotAllowed(InvalidSchedule):
    code = "LF-1361"
    title = "Interval is not allowed with frequency once"


class IntervalTooSmall(InvalidSchedule):
    code = "LF-1362"
    title = "Interval is below the minimum"


class BackfillNotAllowed(InvalidSchedule):
    code = "LF-1364"
    title = "Backfill is not allowed with frequency once"


class ScheduleLocked(InvalidSchedule):
    code = "LF-1366"
    title = "Start time has passed: update not allowed"


class InvalidRunParams(InvalidFlow):
    code = "LF-1384"
    title = "Invalid run params"


class InvalidRunWindow(InvalidRunParams):
    code = "LF-1381"
    title = "Window end is before window start"


class RunNotSupported(InvalidFlow):
    code = "LF-1386"
    title = "Run creation is not supported for the flow's frequency"


class RunNotRetriggerable(InvalidFlow):
    code = "LF-1387"
    title = "Run is not in a re-triggerable state"


class FlowDisabled(InvalidFlow):
    code = "LF-1388"
    title = "Flow is disabled"


class DatasetError(LakefeedError):
    """The Iceberg table behind a dataset cannot be read or written."""

    code = "LF-3000"
    http_status = 500
    title = "Dataset error"


# --- storage ---------------------------------------------------------------------------------


class StorageError(LakefeedError):
    """Base for failures talking to a storage backend; the vendor exception is ``__cause__``."""

    code = "LF-2000"
    http_status = 502
    title = "Storage error"


class StorageNotFound(StorageError):
    code = "LF-2404"
    http_status = 404
    title = "Path not found"


class StoragePermissionDenied(StorageError):
    code = "LF-2403"
    http_status = 403
    title = "Permission denied"


class StorageAuthenticationFailed(StorageError):
    code = "LF-2401"
    http_status = 401
    title = "Authentication failed"


class StorageUnreachable(StorageError):
    code = "LF-2503"
    http_status = 503
    title = "Storage unreachable"


class HostKeyRejected(StorageError):
    code = "LF-2495"
    http_status = 400
    title = "Host key rejected"


class NotParquet(StorageError):
    code = "LF-2415"
    http_status = 422
    title = "Not a Parquet file"


class CorruptParquet(StorageError):
    code = "LF-2422"
    http_status = 422
    title = "Corrupt Parquet file"


class SchemaMismatch(LakefeedError):
    """A source file whose columns cannot be conformed to the target schema."""

    code = "LF-2425"
    http_status = 422
    title = "File does not match the target schema"


# --- REST API --------------------------------------------------------------------------------


class AuthenticationRequired(LakefeedError):
    """No bearer token, or one that is unknown or expired."""

    code = "LF-2001"
    http_status = 401
    title = "Unauthorized"


class Forbidden(LakefeedError):
    """A valid token used with another client's API key, another org, or a sandbox the
    client may not use."""

    code = "LF-2120"
    http_status = 403
    title = "Forbidden"


class MissingHeader(LakefeedError):
    code = "LF-2105"
    title = "Required header missing"


class SandboxNotFound(LakefeedError):
    code = "LF-2101"
    http_status = 404
    title = "Sandbox not found"


class PreconditionRequired(LakefeedError):
    """PATCH without ``If-Match``."""

    code = "LF-1403"
    title = "The header 'If-Match' is missing"


class PreconditionFailed(LakefeedError):
    """PATCH with an ``If-Match`` that is not the resource's current etag."""

    code = "LF-1404"
    http_status = 412
    title = "Version not matching"


class PayloadTooLarge(LakefeedError):
    code = "LF-1600"
    http_status = 413
    title = "Request body too large"


class NotAcceptable(LakefeedError):
    """An ``Accept`` header that names no representation the route has (Schema Registry
    lookups need ``version=1``)."""

    code = "LF-1406"
    http_status = 406
    title = "Not acceptable"
