"""The contract suite against local files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed.testing.contract import ContractBackend, StorageContract


class TestLocalContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractBackend:
        root: Path = tmp_path_factory.mktemp("local-source")
        return ContractBackend(
            spec="local-files",
            auth_spec="Local Path",
            params={"rootPath": str(root)},
            base=str(root),
            no_auth_reason="local files have no credentials",
            has_etag=False,
        )
