"""The ingestion scenarios against the S3 (moto) and SFTP (sshd) test servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion_suite import IngestionSuite, IngestSource, Scenario, rewrite_during_a_run
from tests_support import server_env, sftp_params
from text_formats_suite import TextFormatsSuite

pytestmark = pytest.mark.servers


def s3_source() -> IngestSource:
    params = {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
    }
    return IngestSource("amazon-s3", "Access Key", params, "/lakefeed-ingest")


class TestS3Ingestion(IngestionSuite, TextFormatsSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls) -> IngestSource:
        return s3_source()


class TestSftpIngestion(IngestionSuite, TextFormatsSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls) -> IngestSource:
        root = server_env("LAKEFEED_TEST_SFTP_ROOT")
        return IngestSource(
            "sftp",
            "Basic Authentication for sftp",
            sftp_params(),
            f"{root}/ingest",
            same_size_rewrites_visible=False,  # size and whole-second mtime only
        )


def other_source(backend: str) -> IngestSource:
    """The backends the whole suite does not run on (their storage contract covers the rest)."""
    if backend == "s3-rgw":
        params = {
            "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
            "s3SecretKey": server_env("LAKEFEED_TEST_RGW_SECRET_KEY"),
            "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
        }
        return IngestSource("amazon-s3", "Access Key", params, "/lakefeed-rgw-ingest")
    if backend == "azure-blob":
        params = {"connectionString": server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")}
        return IngestSource("azure-blob", "ConnectionString", params, "/lakefeed-ingest")
    if backend == "adls-gen2":
        account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
        params = {
            "url": f"http://127.0.0.1:10000/{account}",
            "accountKey": server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY"),
        }
        return IngestSource(
            "adls-gen2", "Account Key Authentication for adls-gen2", params, "/lakefeed-adls-ingest"
        )
    assert backend == "google-cloud"
    params = {"serviceUrl": server_env("LAKEFEED_TEST_GCS_ENDPOINT")}
    return IngestSource(
        "google-cloud", "Anonymous Access for google-cloud", params, "/lakefeed-gcs-ingest"
    )


@pytest.mark.parametrize("same_size", [False, True], ids=["other-size", "same-size"])
@pytest.mark.parametrize("backend", ["s3-rgw", "azure-blob", "adls-gen2", "google-cloud"])
def test_file_rewritten_during_a_run_lands_once(
    tmp_path: Path, backend: str, same_size: bool
) -> None:
    """The suite's rewrite-during-a-run scenario on the backends it does not run on."""
    scenario = Scenario(tmp_path / "home", other_source(backend))
    rewrite_during_a_run(scenario, same_size=same_size)


def test_a_run_reads_each_footer_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspection reads the footer; conversion reuses it instead of asking S3 again. A small
    file is read whole by the one GET that reads its footer, and converted from those bytes:
    one GET per file, where a plain pyarrow read makes two."""
    import collections
    from typing import Any

    import s3fs

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
    assert calls["get_object"] == 6, calls
