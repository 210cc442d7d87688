"""SFTP servers through paramiko, with host-key checking on by default."""

from __future__ import annotations

from collections.abc import Callable

from lakefeed import hookimpl
from lakefeed.storage import SourceType
from lakefeed_sftp.source import SftpFiles

__all__ = ["SftpFiles"]


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(SftpFiles())
