"""lakefeed: a self-hosted Flow Service for Parquet files in cloud storage.

The public surface is re-exported here; heavy modules (pyarrow, fsspec, cloud SDKs) load on
first use, so ``import lakefeed`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakefeed.__about__ import __version__
from lakefeed.markers import hookimpl

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed
    from lakefeed.files import FileEntry
    from lakefeed.formats.base import FileFormat, InspectedFile
    from lakefeed.formats.parquet_footer import ParquetFooter
    from lakefeed.storage.source import SourceType

_LAZY = {
    "Lakefeed": "lakefeed.engine",
    "FileEntry": "lakefeed.files",
    "FileFormat": "lakefeed.formats.base",
    "InspectedFile": "lakefeed.formats.base",
    "ParquetFooter": "lakefeed.formats.parquet_footer",
    "SourceType": "lakefeed.storage.source",
}

__all__ = [
    "FileEntry",
    "FileFormat",
    "InspectedFile",
    "Lakefeed",
    "ParquetFooter",
    "SourceType",
    "__version__",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lakefeed' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
