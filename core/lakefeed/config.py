"""Where lakefeed keeps its state: ``LAKEFEED_HOME`` (default ``~/.lakefeed``)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

#: Every environment variable lakefeed reads: its settings, the plugin switches and the CLI's
#: ``--server`` defaults (docs/reference/configuration.md). Tests and the reliability suite
#: clear them all, so a caller's shell never points them at other state.
ENVIRONMENT = (
    "LAKEFEED_HOME",
    "LAKEFEED_DATABASE_URL",
    "LAKEFEED_DATABASE_AUTO_UPGRADE",
    "LAKEFEED_SECRET_KEY_FILE",
    "LAKEFEED_ICEBERG_CATALOG_URL",
    "LAKEFEED_WAREHOUSE",
    "LAKEFEED_WAREHOUSE_OPTIONS",
    "LAKEFEED_WAREHOUSE_OPTIONS_FILE",
    "LAKEFEED_LOCAL_ROOTS",
    "LAKEFEED_ALLOW_ENDPOINTS",
    "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS",
    "LAKEFEED_METRICS_TOKEN",
    "LAKEFEED_CONNECT_TIMEOUT",
    "LAKEFEED_READ_TIMEOUT",
    "LAKEFEED_EXECUTOR",
    "LAKEFEED_EXECUTOR_KEY",
    "LAKEFEED_SCHEDULE_MINUTE_MINIMUM",
    "LAKEFEED_LOAD_PLUGINS",
    "LAKEFEED_DISABLE_PLUGINS",
    "LAKEFEED_TRACE_PLUGINS",
    "LAKEFEED_SERVER",
    "LAKEFEED_API_KEY",
    "LAKEFEED_CLIENT_SECRET",
    "LAKEFEED_ORG",
    "LAKEFEED_SANDBOX",
    "LAKEFEED_DEBUG",
)

#: What lakefeed creates is its owner's alone: the home holds the secret key, the database
#: (sealed credentials, token hashes) and the warehouse.
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_folder(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (whatever the umask: it only
    ever removes bits). Folders that exist are left as they are."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its folder: 0700 if missing)."""
    make_private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key_file: Path
    #: SQLAlchemy URL of the Iceberg SQL catalog; the control-plane database by default.
    iceberg_catalog_url: str
    #: Where Iceberg tables keep their data and metadata files (a URI: ``file://``, ``s3://``,
    #: ``gs://``, ``abfs://``).
    warehouse: str
    #: Folders that local-files connections may read when used over REST
    #: (``LAKEFEED_LOCAL_ROOTS``); empty: none, local-files is refused over REST.
    local_roots: tuple[str, ...] = ()
    #: Endpoints that connections may reach over REST although they resolve to loopback,
    #: link-local, private or unspecified addresses (``LAKEFEED_ALLOW_ENDPOINTS``): hosts,
    #: ``host:port`` or CIDR networks; see :mod:`lakefeed.storage.endpoints`.
    allow_endpoints: tuple[str, ...] = ()
    #: Whether connections over REST may act with the server's own cloud identity: auth specs
    #: marked ambient (``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS``; off by default).
    allow_ambient_credentials: bool = False
    #: The bearer token ``GET /metrics`` requires (``LAKEFEED_METRICS_TOKEN``); None: it
    #: answers anyone who reaches it. Never shown: it is a secret.
    metrics_token: str | None = field(default=None, repr=False)
    #: Seconds a connection test may take in all (``LAKEFEED_CONNECT_TIMEOUT``).
    connect_timeout: float = 30.0
    #: Seconds a storage read may wait for data before it fails (``LAKEFEED_READ_TIMEOUT``).
    read_timeout: float = 60.0
    #: Upgrade an older database schema when the database is opened
    #: (``LAKEFEED_DATABASE_AUTO_UPGRADE``); False: refuse to start, operators run
    #: ``lakefeed db upgrade``.
    database_auto_upgrade: bool = True
    #: The warehouse's own pyiceberg FileIO properties (``LAKEFEED_WAREHOUSE_OPTIONS_FILE``,
    #: then ``LAKEFEED_WAREHOUSE_OPTIONS`` over it): endpoint, region, credentials. Never
    #: shown: they hold secrets. Empty: the cloud SDK's default credential chain.
    warehouse_options: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    #: What converts a batch's files (``LAKEFEED_EXECUTOR``): ``inprocess``, ``processes``,
    #: ``processes:N`` or ``dask://HOST:PORT`` (see :mod:`lakefeed.flows.executors`).
    executor: str = "inprocess"

    @classmethod
    def load(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        """Settings from arguments, then environment (``LAKEFEED_HOME``,
        ``LAKEFEED_DATABASE_URL``, ``LAKEFEED_SECRET_KEY_FILE``, ``LAKEFEED_ICEBERG_CATALOG_URL``,
        ``LAKEFEED_WAREHOUSE``, ``LAKEFEED_LOCAL_ROOTS``, ``LAKEFEED_ALLOW_ENDPOINTS``,
        ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS``, ``LAKEFEED_METRICS_TOKEN``,
        ``LAKEFEED_CONNECT_TIMEOUT``, ``LAKEFEED_READ_TIMEOUT``,
        ``LAKEFEED_DATABASE_AUTO_UPGRADE``, ``LAKEFEED_EXECUTOR``), then defaults."""
        root = Path(home or os.environ.get("LAKEFEED_HOME") or Path.home() / ".lakefeed")
        root = root.expanduser().resolve()
        database_url = (
            os.environ.get("LAKEFEED_DATABASE_URL") or f"sqlite:///{root / 'lakefeed.db'}"
        )
        key_file = Path(os.environ.get("LAKEFEED_SECRET_KEY_FILE") or root / "secret.key")
        catalog_url = os.environ.get("LAKEFEED_ICEBERG_CATALOG_URL") or database_url
        warehouse = os.environ.get("LAKEFEED_WAREHOUSE") or (root / "warehouse").as_uri()
        local_roots = os.environ.get("LAKEFEED_LOCAL_ROOTS", "").split(os.pathsep)
        allow_endpoints = os.environ.get("LAKEFEED_ALLOW_ENDPOINTS", "").split(",")
        return cls(
            home=root,
            database_url=database_url,
            secret_key_file=key_file,
            iceberg_catalog_url=catalog_url,
            warehouse=warehouse,
            local_roots=tuple(os.path.expanduser(r.strip()) for r in local_roots if r.strip()),
            allow_endpoints=tuple(e.strip() for e in allow_endpoints if e.strip()),
            allow_ambient_credentials=_switch(
                "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS", cls.allow_ambient_credentials
            ),
            metrics_token=os.environ.get("LAKEFEED_METRICS_TOKEN", "").strip() or None,
            connect_timeout=_seconds("LAKEFEED_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_seconds("LAKEFEED_READ_TIMEOUT", cls.read_timeout),
            database_auto_upgrade=_switch(
                "LAKEFEED_DATABASE_AUTO_UPGRADE", cls.database_auto_upgrade
            ),
            warehouse_options=_warehouse_options(),
            executor=os.environ.get("LAKEFEED_EXECUTOR", "").strip() or cls.executor,
        )


#: The most characters read from a configuration file (a token, warehouse options): a far
#: longer one (``/dev/zero`` named by mistake) is refused instead of read whole.
MAX_CONFIG_FILE_CHARS = 1024 * 1024


class ConfigFileTooLong(Exception):
    """A text longer than the bound it was read with (``limit`` characters)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def read_bounded(handle: TextIO, limit: int) -> str:
    """At most ``limit`` characters of ``handle``, whole; :class:`ConfigFileTooLong` when it
    holds more (``/dev/zero`` named by mistake is refused instead of read forever)."""
    text = handle.read(limit + 1)
    if len(text) > limit:
        raise ConfigFileTooLong(limit)
    return text


def read_config_file(path: str | os.PathLike[str], limit: int = MAX_CONFIG_FILE_CHARS) -> str:
    """The UTF-8 text of the file at ``path`` (``~`` expanded), at most ``limit`` characters;
    raises ``OSError``, ``UnicodeDecodeError`` or :class:`ConfigFileTooLong`."""
    with Path(path).expanduser().open(encoding="utf-8") as handle:
        return read_bounded(handle, limit)


def unreadable(exc: BaseException) -> str:
    """Why :func:`read_config_file` failed, without the file's content."""
    if isinstance(exc, ConfigFileTooLong):
        return f"it is longer than {exc.limit:,} characters"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "it is not UTF-8 text"


def metrics_token_from_file(path: str | os.PathLike[str]) -> str:
    """The metrics token in the file at ``path`` (``lakefeed serve --metrics-token-file``): its
    text without surrounding whitespace. A file that cannot be read, or holds no token, is
    :class:`InvalidRequest`; the message never quotes the file's content."""
    from lakefeed.errors import InvalidRequest

    fix = "Point --metrics-token-file at a UTF-8 file this user can read that holds the token."
    try:
        token = read_config_file(path).strip()
    except (OSError, UnicodeDecodeError, ConfigFileTooLong) as exc:
        raise InvalidRequest(
            f"The metrics token file {str(path)!r} cannot be read: {unreadable(exc)}.", fix=fix
        ) from None
    if not token:
        raise InvalidRequest(f"The metrics token file {str(path)!r} is empty.", fix=fix)
    return token


def _seconds(variable: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``variable``."""
    from lakefeed.errors import InvalidRequest
    from lakefeed.storage.timeouts import MAX_SECONDS

    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_SECONDS:
        raise InvalidRequest(
            f"{variable}={raw!r} is not a number of seconds greater than 0 and at most "
            f"{MAX_SECONDS:g}.",
            fix=f"Set {variable} to a number of seconds such as {default:g}, or unset it.",
        )
    return value


_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def _switch(variable: str, default: bool) -> bool:
    """An on/off setting from the environment variable ``variable`` (unset or empty: the
    default)."""
    from lakefeed.errors import InvalidRequest

    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if raw.lower() in _ON:
        return True
    if raw.lower() in _OFF:
        return False
    raise InvalidRequest(
        f"{variable}={raw!r} is neither on nor off.",
        fix=f"Set {variable} to 1 or 0 (true/false, yes/no, on/off), or unset it.",
    )


def _warehouse_options() -> dict[str, str]:
    """The JSON object in the file ``LAKEFEED_WAREHOUSE_OPTIONS_FILE`` names (secrets stay out
    of the process environment), then the one in ``LAKEFEED_WAREHOUSE_OPTIONS`` over it. Which
    names are FileIO properties is checked when the warehouse is opened
    (:func:`lakefeed.datasets.warehouse.file_io_properties`)."""
    from lakefeed.errors import WarehouseConfigError

    options: dict[str, str] = {}
    path = os.environ.get("LAKEFEED_WAREHOUSE_OPTIONS_FILE", "").strip()
    if path:
        try:
            text = read_config_file(path)
        except (OSError, UnicodeDecodeError, ConfigFileTooLong) as exc:
            raise WarehouseConfigError(
                f"LAKEFEED_WAREHOUSE_OPTIONS_FILE={path!r} cannot be read: {unreadable(exc)}.",
                fix="Point LAKEFEED_WAREHOUSE_OPTIONS_FILE at a JSON file this user can read, "
                "or unset it.",
            ) from None
        options.update(_options_object(text, f"The warehouse options file {path!r}"))
    raw = os.environ.get("LAKEFEED_WAREHOUSE_OPTIONS", "").strip()
    if raw:
        options.update(_options_object(raw, "LAKEFEED_WAREHOUSE_OPTIONS"))
    return options


def _options_object(text: str, where: str) -> dict[str, str]:
    """A JSON object of strings (numbers and booleans written as pyiceberg reads them). Errors
    never quote the text: it holds secrets."""
    from lakefeed.errors import WarehouseConfigError

    fix = (
        'Give a JSON object of FileIO properties, e.g. {"s3.endpoint": "https://…", '
        '"s3.access-key-id": "…", "s3.secret-access-key": "…"}.'
    )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WarehouseConfigError(
            f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}).", fix=fix
        ) from None
    if not isinstance(value, dict):
        raise WarehouseConfigError(
            f"{where} is a JSON {type(value).__name__}, not an object.", fix=fix
        )
    options = {}
    for key, item in value.items():
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int | float):
            item = str(item)
        elif not isinstance(item, str):
            raise WarehouseConfigError(
                f"{where}: the value of {key!r} is a JSON {type(item).__name__}, not a string.",
                fix=fix,
            )
        options[key] = item
    return options
