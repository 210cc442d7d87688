"""Where lakefeed keeps its state: ``LAKEFEED_HOME`` (default ``~/.lakefeed``)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

#: Every environment variable lakefeed reads: its settings, the plugin switches and the CLI's
#: ``--server`` defaults (docs/reference/configuration.md). Tests and the reliability suite
#: clear them all, so a caller's shell never points them at other state.
ENVIRONMENT = (
    "LAKEFEED_HOME",
    "LAKEFEED_DATABASE_URL",
    "LAKEFEED_SECRET_KEY_FILE",
    "LAKEFEED_ICEBERG_CATALOG_URL",
    "LAKEFEED_WAREHOUSE",
    "LAKEFEED_LOCAL_ROOTS",
    "LAKEFEED_ALLOW_ENDPOINTS",
    "LAKEFEED_CONNECT_TIMEOUT",
    "LAKEFEED_READ_TIMEOUT",
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
    #: Where Iceberg tables keep their data and metadata files (a URI).
    warehouse: str
    #: Folders that local-files connections may read when used over REST
    #: (``LAKEFEED_LOCAL_ROOTS``); empty: none, local-files is refused over REST.
    local_roots: tuple[str, ...] = ()
    #: Endpoints that connections may reach over REST although they resolve to loopback,
    #: link-local, private or unspecified addresses (``LAKEFEED_ALLOW_ENDPOINTS``): hosts,
    #: ``host:port`` or CIDR networks; see :mod:`lakefeed.storage.endpoints`.
    allow_endpoints: tuple[str, ...] = ()
    #: Seconds a connection test may take in all (``LAKEFEED_CONNECT_TIMEOUT``).
    connect_timeout: float = 30.0
    #: Seconds a storage read may wait for data before it fails (``LAKEFEED_READ_TIMEOUT``).
    read_timeout: float = 60.0

    @classmethod
    def load(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        """Settings from arguments, then environment (``LAKEFEED_HOME``,
        ``LAKEFEED_DATABASE_URL``, ``LAKEFEED_SECRET_KEY_FILE``, ``LAKEFEED_ICEBERG_CATALOG_URL``,
        ``LAKEFEED_WAREHOUSE``, ``LAKEFEED_LOCAL_ROOTS``, ``LAKEFEED_ALLOW_ENDPOINTS``,
        ``LAKEFEED_CONNECT_TIMEOUT``, ``LAKEFEED_READ_TIMEOUT``), then defaults."""
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
            connect_timeout=_seconds("LAKEFEED_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_seconds("LAKEFEED_READ_TIMEOUT", cls.read_timeout),
        )


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
