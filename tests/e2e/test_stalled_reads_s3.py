"""A run whose source stalls mid-read: the S3 test server behind a proxy that never answers
some object reads. The stalled file fails (a network failure, retried by the next run), the
other file is ingested, and the run ends — within the read timeout (LAKEFEED_READ_TIMEOUT)
times the clients' bounded retries."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from faultproxy import FaultProxy, ProxiedRequest
from lakefeed import Lakefeed
from lakefeed.catalog.runs import Run
from lakefeed.testing.contract import ensure_folder, parquet_bytes, put
from lakefeed.testing.profiles import create_profile_schema, profile_table
from tests_support import server_env

pytestmark = pytest.mark.servers

KEYS = {"s3AccessKey": "testing", "s3SecretKey": "testing"}


def stalling_ranged_reads_of(
    name: str, *, skip: int
) -> tuple[Counter[str], Callable[[ProxiedRequest], bool]]:
    """A stall rule: ranged GETs of files called ``name`` after the first ``skip`` of them."""
    seen: Counter[str] = Counter()

    def rule(request: ProxiedRequest) -> bool:
        if request.method != "GET" or "range" not in request.headers:
            return False
        path = request.path.split("?")[0]
        if not path.endswith(f"/{name}"):
            return False
        seen[path] += 1
        return seen[path] > skip

    return seen, rule


def two_files(tmp_path: Path) -> str:
    """``a.parquet`` (50 rows) and ``b.parquet`` (30) in a new folder on the S3 test server;
    returns the folder as ``bucket/folder``."""
    bucket, folder = "lakefeed-stalls", f"in-{uuid.uuid4().hex[:8]}"
    writer = Lakefeed(home=tmp_path / "writer").session_for(
        "amazon-s3", {**KEYS, "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT")}
    )
    ensure_folder(writer.fs, bucket)
    put(
        writer,
        {
            f"/{bucket}/{folder}/a.parquet": parquet_bytes(profile_table(50)),
            f"/{bucket}/{folder}/b.parquet": parquet_bytes(profile_table(30, start=50)),
        },
    )
    return f"{bucket}/{folder}"


def run_through(proxy: FaultProxy, home: Path, path: str, **options: Any) -> tuple[Run, pa.Table]:
    """One run of a flow reading ``path`` through ``proxy``; the run and the dataset's rows."""
    lf = Lakefeed(home=home)
    base = lf.create_connection("proxied", "amazon-s3", None, {**KEYS, "serviceUrl": proxy.url})
    dataset = lf.datasets.create("profiles", create_profile_schema(lf.schemas)["$id"])
    source = lf.flows.create_source_connection(
        name="s", base_connection_id=base.id, path=path, data_format="parquet_xdm"
    )
    target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name="proxied", source_connection_ids=[source.id], target_connection_ids=[target.id],
        options=options,
    )  # fmt: skip
    run = lf.run_flow(flow)
    return run, lf.datasets.read(dataset)


@pytest.mark.parametrize(
    "stalled_read", ["footer", "data"], ids=["stalled-footer", "stalled-row-groups"]
)
def test_a_stalled_read_fails_its_file_and_the_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stalled_read: str
) -> None:
    monkeypatch.setenv("LAKEFEED_READ_TIMEOUT", "1")
    if stalled_read == "data":
        # Small files are read whole with their footer, ahead of conversion: read the tail only.
        monkeypatch.setattr("lakefeed.storage.read_ahead.WHOLE_FILE_BYTES", 0)
    path = two_files(tmp_path)
    # The footer is the first ranged read of a file; its row groups are read after it.
    seen, rule = stalling_ranged_reads_of("a.parquet", skip=0 if stalled_read == "footer" else 1)
    with FaultProxy(server_env("LAKEFEED_TEST_S3_ENDPOINT"), stall=rule) as proxy:
        run, rows = run_through(proxy, tmp_path / "home", path, partialIngestionPercent=50)
        assert proxy.stalled, "no read was stalled: the test proves nothing"
    assert run.state == "completed"
    summary = run.metrics["fileSummary"]
    assert (summary["inputFileCount"], summary["failedFileCount"]) == (2, 1), run.metrics
    (failure,) = run.metrics["statusSummary"]["extensions"]["fileErrors"]
    assert failure["path"].endswith("/a.parquet")
    assert failure["code"] in ("LF-2503", "LF-2504"), failure  # unreachable: tried again later
    assert rows.num_rows == 30  # b.parquet
    assert max(seen.values()) >= 2  # the client retried, a bounded number of times


def test_a_body_cut_short_is_read_again_within_the_run(tmp_path: Path) -> None:
    """Clients retry a request that fails before its answer, not a body that breaks while it
    streams; lakefeed reads such a range again, so the file is not failed for the run."""
    path = two_files(tmp_path)
    # Every other ranged read of each file is cut short: the first try of its footer's read
    # and of each data read.
    reads: Counter[str] = Counter()

    def cut(request: ProxiedRequest) -> bool:
        if request.method != "GET" or "range" not in request.headers:
            return False
        reads[request.path.split("?")[0]] += 1
        return reads[request.path.split("?")[0]] % 2 == 1

    with FaultProxy(server_env("LAKEFEED_TEST_S3_ENDPOINT"), cut_short=cut) as proxy:
        run, rows = run_through(proxy, tmp_path / "home", path)
        assert proxy.cut, "no answer was cut short: the test proves nothing"
    assert run.status == "success", run.metrics["statusSummary"]
    assert run.metrics["fileSummary"]["failedFileCount"] == 0
    assert rows.num_rows == 80
