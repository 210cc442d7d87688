"""``lakefeed …`` whose runs stop at one step and wait there forever, for tests that SIGKILL it
at that very moment.

    python tests/blocked_cli.py STEP MARKER lakefeed-arguments…

STEP is ``writing`` (a run has written its first data file, before its commit) or
``committed`` (a run's Iceberg commit happened, its records are not written yet). The first
run that reaches it creates the file MARKER, then blocks.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any


def main() -> None:
    step, marker, *args = sys.argv[1:]
    from lakefeed.datasets import writer

    owner, name = {
        "writing": (writer.SourceWriter, "write"),
        "committed": (writer.BatchWriter, "commit"),
    }[step]
    original = getattr(owner, name)

    def blocked(self: Any, *a: Any, **kw: Any) -> Any:
        result = original(self, *a, **kw)
        Path(marker).touch()
        threading.Event().wait()
        return result

    setattr(owner, name, blocked)
    from lakefeed.cli import main as lakefeed

    sys.argv = ["lakefeed", *args]
    lakefeed()


if __name__ == "__main__":
    main()
