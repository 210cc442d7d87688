"""Azure Data Lake Storage Gen2 (``abfs[s]://``) through adlfs."""

from __future__ import annotations

from collections.abc import Callable

from lakefeed import hookimpl
from lakefeed.storage import SourceType
from lakefeed_adls.source import AdlsGen2Files

__all__ = ["AdlsGen2Files"]


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(AdlsGen2Files())
