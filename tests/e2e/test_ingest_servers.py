"""The ingestion scenarios against the S3 (moto) and SFTP (sshd) test servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion_suite import IngestionSuite, IngestSource
from tests_support import server_env

pytestmark = pytest.mark.servers


class TestS3Ingestion(IngestionSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls) -> IngestSource:
        params = {
            "s3AccessKey": "testing",
            "s3SecretKey": "testing",
            "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        }
        return IngestSource("amazon-s3", "Access Key", params, "/lakefeed-ingest")


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
