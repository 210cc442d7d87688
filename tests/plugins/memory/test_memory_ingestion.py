"""A plugin that overrides nothing (the example memory plugin) is still exactly-once when a file
is rewritten during a run: the shared default re-stats the file around its read."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ingestion_suite import IngestSource, Scenario, rewrite_during_a_run


@pytest.mark.parametrize("same_size", [False, True], ids=["other-size", "same-size"])
def test_file_rewritten_during_a_run_lands_once(tmp_path: Path, same_size: bool) -> None:
    base = f"/ingest-{uuid.uuid4().hex[:8]}"
    source = IngestSource("memory", "No Authentication", {"rootPath": base}, base)
    rewrite_during_a_run(Scenario(tmp_path / "home", source), same_size=same_size)
