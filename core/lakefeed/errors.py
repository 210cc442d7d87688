"""Every failure lakefeed reports, one class per kind, each with a stable code.

A message says what was asked, what exists and how to fix it. The CLI prints ``str(error)``
without a traceback; the REST layer maps ``http_status`` and ``code`` to the Flow Service error
shape. Messages never contain secret values: storage errors pass through
:func:`lakefeed.secrets.redact` before they are raised.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar


class LakefeedError(Exception):
    """Base class. ``code`` is stable across releases; ``fix`` is one sentence of advice."""

    code: ClassVar[str] = "LF-1000"
    http_status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    #: For the failure of one source file during a run: True when it says nothing about the
    #: file version itself (the network, the server, access, the file changing, lakefeed's own
    #: side), so the next run tries the file again; False when the same bytes would fail the
    #: same way, so the version fails for good (ledgered) until it changes.
    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, fix: str | None = None, **details: Any) -> None:
        self.message = message
        self.fix = fix
        self.details = details
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message

    def with_message(self, message: str) -> LakefeedError:
        """The same error (class, fix, details, cause) saying ``message``."""
        other = copy.copy(self)
        other.message = message
        other.args = (message,)
        return other

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            **({"details": self.details} if self.details else {}),
        }


#: How much of a value from the caller a message quotes.
QUOTED_CHARS = 200


def quoted(text: str) -> str:
    """``text``, from the caller (a header, a query parameter), as a message quotes it: in
    quotes, cut at :data:`QUOTED_CHARS` characters with an ellipsis, so an answer never echoes
    kilobytes of input back."""
    return repr(text if len(text) <= QUOTED_CHARS else text[: QUOTED_CHARS - 1] + "…")


# --- configuration and plugins ---------------------------------------------------------------


class PluginError(LakefeedError):
    code = "LF-1900"
    http_status = 500
    title = "Plugin failed"


class MissingDependency(LakefeedError):
    """A plugin's SDK is not installed where lakefeed runs: to a REST client, a spec this
    server cannot serve (400, naming the package to install there), never a 500."""

    code = "LF-1901"
    http_status = 400
    title = "Optional dependency not installed"


# --- specs and validation --------------------------------------------------------------------


class UnknownConnectionSpec(LakefeedError):
    code = "LF-1413"
    title = "Unknown connection spec"


class UnknownFormat(LakefeedError):
    """No installed format has that name, ``data.format`` value or ``fileType``."""

    code = "LF-1414"
    title = "Unknown file format"


class InvalidFormatOption(LakefeedError):
    """A format property (source connection ``data.properties``, explore's query, ``--option``)
    that the format does not take, or a value it does not accept."""

    code = "LF-1416"
    title = "Invalid format option"


class UnknownAuthSpec(LakefeedError):
    code = "LF-1415"
    title = "Auth spec not found for connection spec"


class InvalidAuthParams(LakefeedError):
    code = "LF-1304"
    title = "Invalid auth params"


class InvalidRequest(LakefeedError):
    code = "LF-1001"
    title = "Invalid request"


class InvalidText(InvalidRequest):
    """A name, title or description that is too long or holds control characters."""

    code = "LF-1002"
    title = "Invalid name or description"


class InvalidContinuationToken(InvalidRequest):
    """A ``continuationToken`` lakefeed did not issue, one that was changed, one of another
    collection, or one sent with parameters of another listing."""

    code = "LF-1452"
    title = "Invalid continuationToken"


class UnsupportedQueryParameter(InvalidRequest):
    """A query parameter a Catalog list does not know, or a documented filter lakefeed cannot
    honour: refused, naming it, never ignored."""

    code = "LF-1003"
    title = "Unsupported query parameter"


class ApiNotOffered(LakefeedError):
    """A documented Platform API lakefeed does not implement (Batch Ingestion, Schema
    Registry descriptors and unions, batched Catalog requests)."""

    code = "LF-1108"
    http_status = 404
    title = "API not offered by lakefeed"


class RouteNotFound(LakefeedError):
    """A path no route serves: a path segment that must be one of a few words (a Schema
    Registry container or kind, …) is another; the message names the valid ones."""

    code = "LF-1109"
    http_status = 404
    title = "No such route"


class MethodNotOffered(LakefeedError):
    """A method a route does not take where the Platform API takes it (``POST
    /catalog/batches``): the message says how lakefeed does the same."""

    code = "LF-1110"
    http_status = 405
    title = "Method not allowed"


class CatalogReadOnly(MethodNotOffered):
    """A write through the Iceberg REST catalog (create, commit, drop, rename, register):
    lakefeed's datasets are written by flows, so the catalog only reads."""

    code = "LF-1111"
    title = "The Iceberg REST catalog is read-only"


class DatasetSchemaFixed(InvalidRequest):
    """A dataset update that would change its schema: its table was created from it."""

    code = "LF-1204"
    title = "A dataset's schema cannot change"


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


class SecretKeyFileMalformed(SecretKeyError):
    """A line of the secret key file is not a Fernet key, or the file holds no key."""

    code = "LF-1951"
    title = "Secret key file malformed"


class SecretKeyFileMissing(SecretKeyError):
    """``lakefeed keys`` found no key file to rotate, retire or read."""

    code = "LF-1952"
    title = "Secret key file missing"


class SecretKeyFileUnwritable(SecretKeyError):
    """The key file (or its backup) cannot be written; it is left as it was."""

    code = "LF-1953"
    title = "Secret key file cannot be written"


class SecretsUnreadable(SecretKeyError):
    """``lakefeed keys retire`` found stored secrets that no key of the key file opens, so
    it retires nothing."""

    code = "LF-1954"
    title = "Stored secrets open with no key"


class KeyRotationRefused(SecretKeyError):
    """``lakefeed keys rotate`` or ``retire`` refused because of the key file's staged key:
    no key staged (and no ``--new-key``), ``--new-key`` while one is, or stored secrets sealed
    with the staged key already (another machine rotated: this copy of the file is stale)."""

    code = "LF-1955"
    title = "Key rotation refused"


class KeyRotationRunning(SecretKeyError):
    """Another ``lakefeed keys rotate`` or ``retire`` holds the database's rotation lock
    (PostgreSQL), on this machine or another."""

    code = "LF-1956"
    title = "Another key rotation is running"


class WarehouseConfigError(LakefeedError):
    """``LAKEFEED_WAREHOUSE`` or its options cannot be used: a scheme lakefeed does not write
    to, options that are not a JSON object of FileIO properties, an unreadable options file."""

    code = "LF-1970"
    http_status = 500
    title = "Warehouse configuration error"


class DatabaseBehind(LakefeedError):
    """The database schema is older than this lakefeed's (or not made yet), and
    ``LAKEFEED_DATABASE_AUTO_UPGRADE=0`` forbids upgrading it at start."""

    code = "LF-1960"
    http_status = 503
    title = "Database schema needs an upgrade"


class DatabaseAhead(LakefeedError):
    """The database schema is at a revision this lakefeed does not know: a newer one
    upgraded it."""

    code = "LF-1961"
    http_status = 503
    title = "Database schema is newer than lakefeed"


class DatabaseUnrecognised(LakefeedError):
    """The database has lakefeed's table names but no schema revision, and not the tables and
    columns of lakefeed 0.1.0 (the release before revisions were recorded)."""

    code = "LF-1962"
    http_status = 503
    title = "Database schema not recognised"


class DatabaseUnreachable(LakefeedError):
    """The database ``LAKEFEED_DATABASE_URL`` names cannot be opened: its server refuses or
    does not answer, the user or password is wrong, the database does not exist (or, for
    SQLite, the file cannot be opened). Names host, port and database, never the password."""

    code = "LF-1963"
    http_status = 503
    title = "Database unreachable"


class DatabaseUrlInvalid(LakefeedError):
    """``LAKEFEED_DATABASE_URL`` is not a URL lakefeed can open: not a URL, an unknown scheme
    (``postgres://``), a port that is not a number, a driver that is not installed."""

    code = "LF-1964"
    http_status = 500
    title = "Database URL invalid"


class IcebergCatalogUnavailable(LakefeedError):
    """``GET /readyz``: the Iceberg catalog (``LAKEFEED_ICEBERG_CATALOG_URL``, the control-plane
    database by default) cannot be opened or does not answer."""

    code = "LF-1965"
    http_status = 503
    title = "Iceberg catalog unavailable"


class ReadinessCheckTimedOut(LakefeedError):
    """``GET /readyz``: the control-plane database or the Iceberg catalog did not answer in
    time (a server that hangs, packets dropped)."""

    code = "LF-1966"
    http_status = 503
    title = "Readiness check timed out"


class ExecutorConfigError(LakefeedError):
    """``LAKEFEED_EXECUTOR`` (or ``--executor``) names no executor lakefeed has, or the Dask
    executor lacks what it needs: ``distributed`` installed, ``LAKEFEED_EXECUTOR_KEY``."""

    code = "LF-1980"
    http_status = 500
    title = "Executor configuration error"


class ExecutorUnavailable(LakefeedError):
    """The Dask scheduler an executor names does not answer, or has no workers: nothing was
    converted, and the run's files are tried again by the next run."""

    code = "LF-1981"
    http_status = 503
    title = "Executor unavailable"
    transient = True


class ConversionWorkerLost(LakefeedError):
    """The process converting a file died (killed, out of memory) on every attempt: the file
    fails for this run only and is tried again by the next one."""

    code = "LF-1982"
    http_status = 500
    title = "Conversion worker lost"
    transient = True


class InternalError(LakefeedError):
    """A failure lakefeed did not foresee (a bug, or a broken database file): the CLI reports
    it as this, without a traceback unless ``LAKEFEED_DEBUG`` is set."""

    code = "LF-1999"
    http_status = 500
    title = "Internal error"


class ResourceNotFound(LakefeedError):
    """A schema, dataset, source or target connection, flow, run or batch that does not exist
    (or belongs to another org or sandbox)."""

    code = "LF-1104"
    http_status = 404
    title = "Resource not found"


class NamespaceNotFound(ResourceNotFound):
    """An Iceberg REST catalog namespace that is not the sandbox's own."""

    code = "LF-1105"
    title = "Namespace not found"


class TableNotFound(ResourceNotFound):
    """An Iceberg REST catalog table that names no dataset of the sandbox."""

    code = "LF-1106"
    title = "Table not found"


class SchemaNotFound(ResourceNotFound):
    code = "LF-1201"
    title = "Schema not found"


class InvalidSchema(LakefeedError):
    code = "LF-1202"
    title = "Invalid schema"


class ReservedColumnName(InvalidSchema):
    """A schema or source file with a column named like the lineage column lakefeed adds to
    every dataset's table."""

    code = "LF-1203"
    title = "Reserved column name"


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
    transient = True


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
    transient = True  # the target failed, not the source file being written


class WarehouseError(DatasetError):
    """The warehouse (``LAKEFEED_WAREHOUSE``) failed to read or write a table's files, for a
    reason none of the subclasses names; the vendor exception is ``__cause__``."""

    code = "LF-3100"
    http_status = 502
    title = "Warehouse error"


class WarehouseAccessDenied(WarehouseError):
    """The warehouse refused its credentials, or they may not read or write there."""

    code = "LF-3101"
    title = "Warehouse access denied"


class WarehouseNotFound(WarehouseError):
    """The warehouse's bucket or container does not exist."""

    code = "LF-3104"
    title = "Warehouse bucket not found"


class WarehouseUnreachable(WarehouseError):
    """The warehouse's endpoint did not answer (refused, unresolvable, timed out)."""

    code = "LF-3105"
    title = "Warehouse unreachable"


class MaintenanceConflict(DatasetError):
    """Table maintenance gave way to another writer: a compaction whose input files another
    commit removed meanwhile, or a commit still refused after its retries. Nothing changed."""

    code = "LF-3001"
    http_status = 409
    title = "Maintenance conflict"


class CommitOutcomeUnknown(DatasetError):
    """A batch's commit failed after the catalog was asked to record it, and the table could
    not be read again to see whether it did (the catalog's database dropped the connection and
    is still away). The batch's data files are kept; recovery settles the batch from the
    table's snapshots once the catalog answers."""

    code = "LF-3003"
    http_status = 503
    title = "Commit outcome unknown"


class MaintenanceNotSupported(DatasetError):
    """A table whose layout the maintenance commands do not handle (partitioned, or with
    delete files: lakefeed writes neither, another engine may have)."""

    code = "LF-3002"
    http_status = 400
    title = "Maintenance not supported"
    transient = False


# --- storage ---------------------------------------------------------------------------------


class StorageError(LakefeedError):
    """Base for failures talking to a storage backend; the vendor exception is ``__cause__``.

    Raised itself for a failure none of the subclasses describes, and then not transient: an
    unexplained failure reading a file is not retried until the file changes (or the run is
    asked to retry failed files). Each subclass says whether its failure is transient."""

    code = "LF-2000"
    http_status = 502
    title = "Storage error"


class StorageNotFound(StorageError):
    code = "LF-2404"
    http_status = 404
    title = "Path not found"
    transient = True  # gone since it was listed: nothing to record, a new upload is new


class StoragePermissionDenied(StorageError):
    code = "LF-2403"
    http_status = 403
    title = "Permission denied"
    transient = True  # access is fixed without changing the file


class StorageAuthenticationFailed(StorageError):
    code = "LF-2401"
    http_status = 401
    title = "Authentication failed"
    transient = True


class StorageUnreachable(StorageError):
    """Connection refused or reset, DNS failure, timeout: the network between us and it."""

    code = "LF-2503"
    http_status = 503
    title = "Storage unreachable"
    transient = True


class StorageTimeout(StorageUnreachable):
    """The endpoint accepted the connection but gave no answer in time (a stalled server, or
    something that is not the storage service)."""

    code = "LF-2504"
    http_status = 504
    title = "Storage timed out"


class StorageServerError(StorageError):
    """The backend answered with a server error (HTTP 5xx) or throttled the request (429,
    ``SlowDown``)."""

    code = "LF-2502"
    http_status = 502
    title = "Storage server error"
    transient = True


class StoragePathInvalid(StorageError):
    """A path the backend refuses as a name (too long, bytes it does not allow): the
    caller's input, not the storage, is at fault."""

    code = "LF-2400"
    http_status = 400
    title = "Invalid path"


class NoFilesMatch(LakefeedError):
    """A glob that matches no file, asked for by a person (``lakefeed ls``/``inspect``): a
    typo, not an empty result. A flow's glob matching nothing is just nothing new."""

    code = "LF-2405"
    http_status = 404
    title = "No files match the pattern"


class LinkOutsideRoot(StorageError):
    """A symbolic link (or a path through one) in a local-files connection that leads outside
    the connection's root folder: lakefeed follows links only to files and folders inside
    it. Where the link leads is not said: it may name a folder the caller must not learn of."""

    code = "LF-2406"
    http_status = 403
    title = "Link leads outside the root folder"
    transient = True  # fixed by moving the link or the root, not by changing the file


class HostKeyRejected(StorageError):
    code = "LF-2495"
    http_status = 400
    title = "Host key rejected"
    transient = True


class NotParquet(StorageError):
    code = "LF-2415"
    http_status = 422
    title = "Not a Parquet file"


class CorruptParquet(StorageError):
    code = "LF-2422"
    http_status = 422
    title = "Corrupt Parquet file"


class MalformedFile(StorageError):
    """A file whose bytes are not what its format expects (a format plugin's failure; Parquet
    raises :class:`NotParquet` and :class:`CorruptParquet`)."""

    code = "LF-2416"
    http_status = 422
    title = "File does not match its format"


class EmptyFile(MalformedFile):
    """A file (or archive member) with no bytes, or only blank lines: nothing to read, not even
    a header (Flow Service batch error 106). A header without rows is not empty."""

    code = "LF-2418"
    title = "Empty file"


class UndecodableText(MalformedFile):
    """A text file whose bytes are not text in its encoding (the ``encoding`` property)."""

    code = "LF-2419"
    title = "Text not in its encoding"


class CorruptCompressedFile(StorageError):
    """A compressed file or archive that cannot be decompressed: truncated, damaged, or not
    compressed the way ``compressionType`` (or the file name's extension) says."""

    code = "LF-2417"
    http_status = 422
    title = "Corrupt compressed file"


class FileChangedWhileReading(StorageError):
    """A file that is no longer the version its listing saw (rewritten, replaced) by the time
    or while it is read. Neither corrupt nor failed for good: the next run takes its new
    version."""

    code = "LF-2409"
    http_status = 409
    title = "File changed while reading"
    transient = True


class SchemaMismatch(LakefeedError):
    """A source file whose columns cannot be conformed to the target schema."""

    code = "LF-2425"
    http_status = 422
    title = "File does not match the target schema"


# --- Data Prep mappings ----------------------------------------------------------------------


class MappingError(LakefeedError):
    """A mapping set that cannot be compiled or applied: bad expression syntax, an unknown
    function, a destination not in the schema, or source columns the expressions cannot use.
    ``details["problems"]`` lists every problem found. (A value that fails a function in one
    row is not this error: it is a row failure, code ``MAPPER-3700-400``.)"""

    code = "LF-1470"
    title = "Invalid mapping"


# --- REST API --------------------------------------------------------------------------------


class AuthenticationRequired(LakefeedError):
    """No bearer token, or one that is unknown or expired."""

    code = "LF-2001"
    http_status = 401
    title = "Unauthorized"


class MetricsTokenRequired(AuthenticationRequired):
    """``GET /metrics`` on a server with a metrics token (``LAKEFEED_METRICS_TOKEN``, ``lakefeed
    serve --metrics-token-file``), without ``Authorization: Bearer`` and that token."""

    code = "LF-2002"
    title = "Metrics token required"


class ConsoleSignInRequired(AuthenticationRequired):
    """A console page or action without a valid session cookie (never signed in, signed out,
    or the session's token expired). Pages redirect to ``/console/sign-in``; actions answer
    401."""

    code = "LF-2003"
    title = "Sign in to the console"


class ConsoleRequestRefused(LakefeedError):
    """A console action whose form lacks the session's CSRF token, or that another site's page
    sent (its ``Origin`` is not this server): refused, nothing changed."""

    code = "LF-2004"
    http_status = 403
    title = "Console request refused"


class TooManyAttempts(LakefeedError):
    """Too many failed token requests for one client id or from one address: refused, even
    with the right secret, for ``retry_after`` seconds (the ``Retry-After`` header)."""

    code = "LF-2429"
    http_status = 429
    title = "Too many failed attempts"

    def __init__(self, message: str, *, retry_after: int, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


class Forbidden(LakefeedError):
    """A valid token used with another client's API key, another org, or a sandbox the
    client may not use."""

    code = "LF-2120"
    http_status = 403
    title = "Forbidden"


class EndpointForbidden(Forbidden):
    """``lakefeed serve``: a connection's endpoint resolves to an address the server keeps
    callers away from (loopback, link-local, private, unspecified) and the operator has not
    allowed it with ``LAKEFEED_ALLOW_ENDPOINTS``."""

    code = "LF-2121"
    title = "Endpoint not allowed"


class AmbientCredentialsForbidden(Forbidden):
    """``lakefeed serve``: a connection's auth spec acts with the server's own cloud identity
    (an ambient auth spec: a default credential chain, an assumed role, managed identity) and
    the operator has not enabled that with ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1``."""

    code = "LF-2122"
    title = "Ambient credentials not allowed"


class AmbientEndpointForbidden(AmbientCredentialsForbidden):
    """``lakefeed serve``: a connection with an ambient auth spec names an endpoint that would
    receive the server's own identity (its token, or requests signed with its keys) and that
    is neither one of the vendor's own endpoints nor listed in ``LAKEFEED_ALLOW_ENDPOINTS``."""

    code = "LF-2123"
    title = "Endpoint not allowed for ambient credentials"


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


class RangeNotSatisfiable(LakefeedError):
    """A download's ``Range`` header that asks for no byte of the file (details: ``size``)."""

    code = "LF-1616"
    http_status = 416
    title = "Range not satisfiable"
