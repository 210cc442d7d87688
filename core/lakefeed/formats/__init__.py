"""File formats: what lakefeed makes of a file's bytes. Plugins contribute formats with the
``register_formats`` hook; Parquet (:mod:`lakefeed.formats.parquet`), delimited text
(:mod:`lakefeed.formats.delimited`) and JSON (:mod:`lakefeed.formats.jsonfiles`) are bundled.
Importing this package stays cheap: Arrow loads when a file is read."""

from lakefeed.formats.base import (
    FileFormat,
    InspectedFile,
    InspectResult,
    PartFailed,
    PartStarted,
    RangeReader,
    RangeStream,
    RejectedRow,
    RejectedRows,
    RowItem,
    open_binary,
    schemas_agree,
)
from lakefeed.formats.registry import DEFAULT_DATA_FORMAT, FormatRegistry, given_settings

__all__ = [
    "DEFAULT_DATA_FORMAT",
    "FileFormat",
    "FormatRegistry",
    "InspectResult",
    "InspectedFile",
    "PartFailed",
    "PartStarted",
    "RangeReader",
    "RangeStream",
    "RejectedRow",
    "RejectedRows",
    "RowItem",
    "given_settings",
    "open_binary",
    "schemas_agree",
]
