"""Amazon S3 and S3-compatible stores (MinIO, Ceph RGW, R2) through s3fs."""

from __future__ import annotations

from collections.abc import Callable

from lakefeed import hookimpl
from lakefeed.storage import SourceType
from lakefeed_s3.source import S3Files

__all__ = ["S3Files"]


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(S3Files())
