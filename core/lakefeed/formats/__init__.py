"""File formats: what lakefeed makes of a file's bytes. Plugins contribute formats with the
``register_formats`` hook; Parquet is the bundled one (:mod:`lakefeed.formats.parquet`).
Importing this package stays cheap: Arrow loads when a file is read."""

from lakefeed.formats.base import (
    FileFormat,
    InspectedFile,
    InspectResult,
    RangeReader,
    open_binary,
    schemas_agree,
)
from lakefeed.formats.registry import DEFAULT_DATA_FORMAT, FormatRegistry

__all__ = [
    "DEFAULT_DATA_FORMAT",
    "FileFormat",
    "FormatRegistry",
    "InspectResult",
    "InspectedFile",
    "RangeReader",
    "open_binary",
    "schemas_agree",
]
