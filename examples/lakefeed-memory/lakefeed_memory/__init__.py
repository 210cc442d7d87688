"""Example storage plugin: Parquet files held in fsspec's in-process memory filesystem.

The whole plugin is a connection spec and a ``filesystem()`` method; listing, footer
inspection, preview, explore, the connection test and error translation come from lakefeed's
shared defaults. Useful for tests and notebooks, and as the template for a new backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakefeed import hookimpl
from lakefeed.secrets import AuthParams
from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage import SourceType

MEMORY_SPEC_ID = "0c9a4b6e-3f1d-4e8a-9b2c-7d5e6f8a1b3c"


class MemoryFiles(SourceType):
    spec = ConnectionSpec(
        id=MEMORY_SPEC_ID,
        name="memory",
        label="In-memory files",
        description="Files in this process's fsspec memory filesystem (tests, notebooks).",
        auth_specs=(
            AuthSpec(
                name="No Authentication",
                type="None",
                description="The memory filesystem needs no credentials.",
                params=(
                    Param(
                        "rootPath", "Root folder", "Folder relative paths start from.", default="/"
                    ),
                ),
            ),
        ),
    )

    def filesystem(self, auth: AuthParams) -> Any:
        import fsspec

        return fsspec.filesystem("memory")

    def root(self, auth: AuthParams, fs: Any) -> str:
        return str(auth["rootPath"])


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(MemoryFiles())
