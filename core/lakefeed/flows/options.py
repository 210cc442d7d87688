"""How a run goes (:class:`RunOptions`) and what it reports as it goes (:class:`RunProgress`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.schedules.windows import Window


@dataclass
class RunProgress:
    """Handed to the ``progress`` callback from the start of a run: while the source is listed
    (``phase`` ``listing``, ``files_listed`` so far), while files are inspected (``inspecting``,
    ``files_inspected``; ``files_total`` and ``bytes_total`` known from here on), and after
    every record batch and file converted (``converting``). ``lakefeed ingest --infer`` reports
    ``inferring schema`` first, while it inspects the files for the schema."""

    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    rows: int = 0
    failed_rows: int = 0
    current_file: str | None = None
    phase: str = "converting"
    files_listed: int = 0
    files_inspected: int = 0


@dataclass(frozen=True)
class RunOptions:
    """How a run goes. ``window`` is the span it covers (a scheduled window, or an on-demand
    run's ``windowStartTime``/``windowEndTime``); with ``only_window_files`` it takes only
    files last modified inside it. ``retry_failed`` retries file versions that failed for good
    before. Setting ``cancel`` abandons the run at its next step, before its commit and never
    after. ``guard(flow)`` runs first and may refuse the run (its error fails the run, as the
    server's ``LAKEFEED_LOCAL_ROOTS`` check does for runs its scheduler starts)."""

    window: Window | None = None
    only_window_files: bool = False
    retry_failed: bool = False
    cancel: threading.Event | None = None
    guard: Callable[[Flow], None] | None = None
