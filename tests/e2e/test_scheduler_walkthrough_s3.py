"""docs/how-to/schedule-a-flow.md, run as written: its walk-through commands, in order, as one
bash script against the S3 test server, with a scheduler daemon picking up a file dropped
while it runs. Then the state it leaves is checked through the Python API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lakefeed import Lakefeed
from tests_support import server_env

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "how-to" / "schedule-a-flow.md"
BLOCK = re.compile(r"<!-- walkthrough -->\s*\n```console\n(?P<body>.*?)^```", re.M | re.S)

pytestmark = pytest.mark.servers


def walkthrough_script() -> str:
    lines = []
    for match in BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        body = re.sub(r"\\\n\s*", "", match.group("body"))
        lines += [line[2:] for line in body.splitlines() if line.startswith("$ ")]
    assert len(lines) >= 12, "the walk-through lost its commands"
    return "\n".join(["set -euo pipefail", *lines, 'echo "LAKEFEED_HOME=$LAKEFEED_HOME"'])


def test_the_scheduler_walkthrough_runs_as_written() -> None:
    env = {
        **os.environ,
        "LAKEFEED_TEST_S3_ENDPOINT": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BUCKET": f"walkthrough-{uuid.uuid4().hex[:8]}",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        ["bash", "-c", walkthrough_script()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    home = re.findall(r"^LAKEFEED_HOME=(.+)$", done.stdout, re.M)[-1]
    lf = Lakefeed(home=home)
    flow = lf.flows.flow("partner-drops")
    first, second = lf.runs.list(flow.id)
    assert (first.status, second.status) == ("success", "success")
    assert first.metrics["fileSummary"]["inputFileCount"] == 1
    assert second.metrics["fileSummary"] == {
        "inputFileCount": 1, "outputFileCount": 1, "failedFileCount": 0, "skippedFileCount": 1
    }  # fmt: skip
    # The second window starts where the first ended, one minute later.
    start = int(first.params["windowEndTime"])
    assert second.params["windowStartTime"] == str(start)
    assert second.params["windowEndTime"] == str(start + 60)
    pickup = second.metrics["durationSummary"]["extensions"]["pickupLatency"]
    assert pickup["files"] == 1 and 0 < pickup["maxMs"] < 180_000
    print(f"walk-through pick-up latency: {pickup['maxMs'] / 1000:.1f} s")
    assert lf.datasets.read(lf.datasets.get("partner-profiles")).num_rows == 800
    backlog = lf.backlog.get(flow.id)
    assert backlog is not None and backlog.files == 0
    assert "runs {'success': 2}" in done.stdout
