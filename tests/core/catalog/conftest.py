"""Flows in two sandboxes of one installation, for the stores' tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema

MakeFlow = Callable[[Lakefeed, str], Flow]


@pytest.fixture
def make_flow(tmp_path: Path) -> MakeFlow:
    """``make_flow(lf, name)``: a flow from a local folder to a new dataset, in ``lf``'s
    sandbox."""
    return lambda lf, name: _flow(lf, tmp_path / name, name)


def _flow(lf: Lakefeed, folder: Path, name: str) -> Flow:
    folder.mkdir(parents=True, exist_ok=True)
    connection = lf.create_connection(f"{name}-raw", "local-files", None, {"rootPath": str(folder)})
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create(f"{name}-profiles", schema["$id"])
    source = lf.flows.create_source_connection(
        name=f"{name}-source", base_connection_id=connection.id, path=str(folder)
    )
    target = lf.flows.create_target_connection(name=f"{name}-target", dataset_id=dataset.id)
    return lf.flows.create_flow(
        name=name, source_connection_ids=[source.id], target_connection_ids=[target.id]
    )


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


@pytest.fixture
def dev(lf: Lakefeed) -> Lakefeed:
    """The same installation, seen from sandbox ``dev``."""
    return lf.scoped(Scope(sandbox_name="dev"))
