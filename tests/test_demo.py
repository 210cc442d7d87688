"""`make demo` is one of the README's two commands: it must keep working as the CLI changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_the_demo_runs_to_the_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        env={**os.environ, "LAKEFEED_DEMO_ROOT": str(tmp_path / "demo")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = " ".join(done.stdout.split())
    # The first ingest keeps the good rows and sets one truncated file and 28 rows aside; the
    # second finds every file version already ingested.
    assert "partial" in out and "28 of 4200 rows were rejected" in out
    assert "Failed for good in an earlier run: 1 file version(s)" in out
