"""Where lakefeed keeps its state: ``LAKEFEED_HOME`` (default ``~/.lakefeed``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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

    @classmethod
    def load(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        """Settings from arguments, then environment (``LAKEFEED_HOME``,
        ``LAKEFEED_DATABASE_URL``, ``LAKEFEED_SECRET_KEY_FILE``, ``LAKEFEED_ICEBERG_CATALOG_URL``,
        ``LAKEFEED_WAREHOUSE``, ``LAKEFEED_LOCAL_ROOTS``), then defaults."""
        root = Path(home or os.environ.get("LAKEFEED_HOME") or Path.home() / ".lakefeed")
        root = root.expanduser().resolve()
        database_url = (
            os.environ.get("LAKEFEED_DATABASE_URL") or f"sqlite:///{root / 'lakefeed.db'}"
        )
        key_file = Path(os.environ.get("LAKEFEED_SECRET_KEY_FILE") or root / "secret.key")
        catalog_url = os.environ.get("LAKEFEED_ICEBERG_CATALOG_URL") or database_url
        warehouse = os.environ.get("LAKEFEED_WAREHOUSE") or (root / "warehouse").as_uri()
        local_roots = os.environ.get("LAKEFEED_LOCAL_ROOTS", "").split(os.pathsep)
        return cls(
            home=root,
            database_url=database_url,
            secret_key_file=key_file,
            iceberg_catalog_url=catalog_url,
            warehouse=warehouse,
            local_roots=tuple(os.path.expanduser(r.strip()) for r in local_roots if r.strip()),
        )
