"""Azure Blob Storage through adlfs (connection string or SAS URI)."""

from __future__ import annotations

from collections.abc import Callable

from lakefeed import hookimpl
from lakefeed.storage import SourceType
from lakefeed_azure_blob.source import AzureBlobFiles

__all__ = ["AzureBlobFiles"]


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(AzureBlobFiles())
