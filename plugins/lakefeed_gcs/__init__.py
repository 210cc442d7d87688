"""Google Cloud Storage: HMAC keys over the S3-compatible XML API, or a service account."""

from __future__ import annotations

from collections.abc import Callable

from lakefeed import hookimpl
from lakefeed.storage import SourceType
from lakefeed_gcs.source import GcsFiles

__all__ = ["GcsFiles"]


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(GcsFiles())
