"""The example third-party plugin (examples/lakefeed-memory), found through its entry point,
passes the same contract suite as the bundled backends."""

from __future__ import annotations

import uuid

import pytest

from lakefeed.testing.contract import ContractBackend, StorageContract


class TestMemoryContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        base = f"/contract-{uuid.uuid4().hex[:8]}"
        return ContractBackend(
            spec="memory",
            auth_spec="No Authentication",
            params={"rootPath": base},
            base=base,
            no_auth_reason="the memory filesystem has no credentials",
            has_etag=False,
        )
