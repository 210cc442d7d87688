"""The pluggy marker plugins decorate their hook implementations with (``lakefeed.hookimpl``).
Its own module, at the bottom of the layers, so the bundled plugins inside the package (the
Parquet format) can use it without importing the package's front door."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("lakefeed")
