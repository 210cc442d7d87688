"""Progress of long work: reported from the first moment (listing, schema inference,
inspection, conversion), with rows/s, MB/s and an ETA; a summary line that survives in logs
when standard error is not a terminal."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed import Lakefeed
from lakefeed.cli.progress import RunTracker
from lakefeed.flows.options import RunProgress

RunCli = Callable[..., Result]

SUMMARY = re.compile(
    r"^lakefeed: 3/3 files, 1500 rows, [\d.]+ KiB in [\d.]+ s "
    r"\(\d+ rows/s, [\d.]+ MB/s\)$",
    re.M,
)


@pytest.fixture
def three_files(landing: Path) -> Path:
    folder = landing / "day"
    folder.mkdir()
    for i in range(3):
        table = pa.table({"n": list(range(i * 500, (i + 1) * 500)), "s": ["x" * 20] * 500})
        pq.write_table(table, folder / f"part-{i}.parquet")
    return folder


def test_progress_starts_with_listing_and_inference(three_files: Path, lf: Lakefeed) -> None:
    seen: list[RunProgress] = []
    run = lf.ingest(
        "raw", "day", dataset="numbers", infer=True,
        progress=lambda p: seen.append(dataclasses.replace(p)),
    )  # fmt: skip
    assert run.metrics["statusSummary"]["status"] == "success"
    phases = [p.phase for p in seen]
    # In order, each phase before the next: nothing happens unreported before the bar.
    assert phases[0] == "inferring schema"
    order = list(dict.fromkeys(phases))
    assert order == ["inferring schema", "listing", "inspecting", "converting"], order
    assert max(p.files_inspected for p in seen if p.phase == "inferring schema") == 3
    inspecting = next(p for p in seen if p.phase == "inspecting")
    assert (inspecting.files_total, inspecting.files_listed) == (3, 3)
    assert inspecting.bytes_total == sum(f.stat().st_size for f in three_files.iterdir())
    last = seen[-1]
    assert (last.files_done, last.rows, last.files_inspected) == (3, 1500, 3)

    again: list[RunProgress] = []
    lf.ingest("raw", "day", dataset="numbers", progress=lambda p: again.append(p))
    # Nothing new: the listing is still reported (the bar is never blank).
    assert [p.phase for p in again] == ["listing"] and again[0].files_listed == 3


def test_rates_eta_and_summary_from_the_progress() -> None:
    now = [100.0]
    tracker = RunTracker(clock=lambda: now[0])
    assert tracker.fields()["description"] == "Starting"
    progress = RunProgress(files_total=0, bytes_total=0, phase="listing", files_listed=7)
    tracker.update(progress)
    assert tracker.description() == "Listing the source: 7 files found"
    assert tracker.rates() == "" and tracker.eta() == "-:--:--"
    now[0] = 102.0
    progress.phase, progress.files_total, progress.bytes_total = "inspecting", 4, 8_000_000
    tracker.update(progress)  # the files begin to be read: rates count from here
    assert tracker.description() == "Inspecting 0/4 files"
    now[0] = 106.0
    progress.phase, progress.files_done, progress.bytes_done = "converting", 1, 2_000_000
    progress.rows, progress.failed_rows = 10_000, 5
    tracker.update(progress)
    fields = tracker.fields()
    assert fields["description"] == "Ingesting"
    assert fields["rates"] == "2,500 rows/s, 0.50 MB/s"
    assert fields["eta"] == "ETA 0:00:12"  # 6 MB left at 0.5 MB/s
    assert (fields["files"], fields["rows"]) == ("1/4 files", "10000 rows (5 rejected)")
    assert tracker.summary() == (
        "lakefeed: 1/4 files, 10000 rows (5 rejected), 1.9 MiB in 6.00 s (2500 rows/s, 0.50 MB/s)"
    )


def test_summary_line_when_stderr_is_not_a_terminal(three_files: Path, run_cli: RunCli) -> None:
    ran = run_cli("ingest", "raw", "day", "--dataset", "numbers", "--infer")
    assert SUMMARY.search(ran.stderr), ran.stderr
    assert "Run " in ran.stdout  # the run's own summary still goes to standard output
    again = run_cli("ingest", "raw", "day", "--dataset", "numbers")
    assert re.search(r"^lakefeed: no new files \(3 listed\) in [\d.]+ s$", again.stderr, re.M)
    quiet = run_cli("ingest", "raw", "day", "--dataset", "numbers", "--json")
    assert "lakefeed:" not in quiet.stderr


def test_bar_in_a_terminal_is_drawn_at_once(three_files: Path, tmp_path: Path) -> None:
    """In a terminal (rich told so by TTY_COMPATIBLE), the bar is on screen from the start,
    before the source is listed; no log line is added."""
    env = {**os.environ, "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", "from lakefeed.cli import main; main()",
         "ingest", "raw", "day", "--dataset", "numbers", "--infer"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Starting" in done.stderr  # drawn before anything was reported
    assert not SUMMARY.search(done.stderr)


def test_summary_line_of_a_failed_run_says_it_failed(
    landing: Path, lf: Lakefeed, profile_schema: dict, run_cli: RunCli
) -> None:
    """A run that fails (here: its folder does not exist) is not "no new files"."""
    lf.datasets.create("numbers", profile_schema["$id"])
    run_cli("flows", "create", "--name", "gone", "--connection", "raw",
            "--path", "nothing/*.parquet", "--dataset", "numbers")  # fmt: skip
    failed = run_cli("flows", "run", "gone", code=1)
    assert re.search(r"^lakefeed: run failed \(LF-2404\) in [\d.]+ s", failed.stderr, re.M)
    assert "no new files" not in failed.stderr


def test_summary_line_when_the_command_raises(landing: Path, run_cli: RunCli) -> None:
    # Refused before any file is read (no dataset, no schema): the log still has its line.
    refused = run_cli("ingest", "raw", ".", "--dataset", "missing", code=1)
    assert re.search(r"^lakefeed: run failed \(LF-\d+\) in [\d.]+ s$", refused.stderr, re.M)


@pytest.mark.parametrize(
    ("raised", "said"),
    [(KeyboardInterrupt(), "run interrupted"), (RuntimeError("bug"), "run failed (RuntimeError)")],
)
def test_summary_line_survives_a_crash_or_ctrl_c(
    raised: BaseException, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakefeed.cli.progress import run_progress

    with pytest.raises(type(raised)), run_progress(as_json=False) as report:
        assert report.callback is not None
        report.callback(RunProgress(files_total=2, bytes_total=10, phase="converting"))
        raise raised
    assert re.search(rf"^lakefeed: {re.escape(said)}: 0/2 files", capsys.readouterr().err, re.M)
