"""The shared storage layer: any fsspec filesystem, listed into one FileEntry shape and read
footer-first. Plugins supply a :class:`SourceType`; the core does the rest."""

from lakefeed.storage.entries import FileEntry
from lakefeed.storage.source import SourceType

__all__ = ["FileEntry", "SourceType"]
