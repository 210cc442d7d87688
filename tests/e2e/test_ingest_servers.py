"""The ingestion scenarios against the S3 (moto) and SFTP (sshd) test servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion_suite import IngestionSuite, IngestSource
from tests_support import server_env

pytestmark = pytest.mark.servers


def s3_source() -> IngestSource:
    params = {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    return IngestSource("amazon-s3", "Access Key", params, "/lakefeed-ingest")


class TestS3Ingestion(IngestionSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls) -> IngestSource:
        return s3_source()


class TestSftpIngestion(IngestionSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls) -> IngestSource:
        params = {
            "host": server_env("LAKEFEED_TEST_SFTP_HOST"),
            "port": int(server_env("LAKEFEED_TEST_SFTP_PORT")),
            "userName": server_env("LAKEFEED_TEST_SFTP_USER"),
            "password": server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
            "knownHosts": Path(server_env("LAKEFEED_TEST_SFTP_KNOWN_HOSTS")).read_text(),
        }
        root = server_env("LAKEFEED_TEST_SFTP_ROOT")
        return IngestSource("sftp", "Basic Authentication for sftp", params, f"{root}/ingest")


def test_a_run_reads_each_footer_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspection reads the footer; conversion reuses it instead of asking S3 again: one GET
    for the footer and one for the data of each small file, as a plain pyarrow read does."""
    import collections
    from typing import Any

    import s3fs

    from ingestion_suite import Scenario

    scenario = Scenario(tmp_path / "home", s3_source())
    for n in range(6):
        scenario.put(f"f{n}.parquet", scenario.profiles(2000, n * 2000))  # > 64 KiB each
    flow = scenario.flow()
    calls: collections.Counter[str] = collections.Counter()
    original = s3fs.S3FileSystem._call_s3

    async def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] += 1
        return await original(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    run = scenario.lf.run_flow(flow)
    assert run.status == "success" and run.metrics["fileSummary"]["inputFileCount"] == 6
    assert calls["get_object"] == 2 * 6, calls
