"""The ingestion scenarios on the embedded default: local files into the local catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion_suite import IngestionSuite, IngestSource
from text_formats_suite import TextFormatsSuite


class TestLocalIngestion(IngestionSuite, TextFormatsSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def source(cls, tmp_path_factory: pytest.TempPathFactory) -> IngestSource:
        root: Path = tmp_path_factory.mktemp("landing")
        return IngestSource("local-files", None, {"rootPath": str(root)}, str(root))
