"""Conditional changes are checked in the write itself: a store method given an etag refuses
(PreconditionFailed, LF-1404) when the row changed since, and changes nothing; the engine
passes the etag it compared down to that write, so a change made by another writer between
its read and its write is not lost. And a change of a source or target connection gives the
flows using it a new etag, in the same transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.flows import Flow
from lakefeed.errors import PreconditionFailed
from lakefeed.testing.profiles import create_profile_schema

MakeFlow = Any


def _connection(lf: Lakefeed, tmp_path: Path, name: str) -> Any:
    return lf.create_connection(name, "local-files", None, {"rootPath": str(tmp_path)})


def _described(document: dict[str, Any], text: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if not k.startswith("meta:")} | {"description": text}


# --- base connections -------------------------------------------------------------------------


def test_a_connection_delete_with_a_stale_etag_deletes_nothing(
    lf: Lakefeed, tmp_path: Path
) -> None:
    made = _connection(lf, tmp_path, "stale-delete")
    lf.connections.update(made.id, description="changed by another writer")
    with pytest.raises(PreconditionFailed):
        lf.connections.delete(made.id, etag=made.etag)
    assert lf.connection(made.id).description == "changed by another writer"
    lf.connections.delete(made.id, etag=lf.connection(made.id).etag)
    assert [c.id for c in lf.connections.list()] == []


def test_the_engine_checks_a_connection_etag_in_the_delete(
    lf: Lakefeed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes the connection after the engine compared ``if_match`` with the
    etag it read: the delete is refused, not made over the change."""
    made = _connection(lf, tmp_path, "raced-delete")
    check = lf.flows.check_connection_unused

    def meanwhile(connection_id: str) -> None:
        check(connection_id)
        lf.connections.update(made.id, description="changed meanwhile")

    monkeypatch.setattr(lf.flows, "check_connection_unused", meanwhile)
    with pytest.raises(PreconditionFailed):
        lf.delete_connection(made.id, if_match=made.etag)
    assert lf.connection(made.id).description == "changed meanwhile"


# --- datasets ---------------------------------------------------------------------------------


def test_a_dataset_delete_with_a_stale_etag_keeps_row_and_table(lf: Lakefeed) -> None:
    schema = create_profile_schema(lf.schemas)
    made = lf.datasets.create("stale dataset", schema["$id"])
    lf.datasets.update(made.id, description="changed by another writer")
    with pytest.raises(PreconditionFailed):
        lf.datasets.delete(made.id, etag=made.etag)
    kept = lf.datasets.get(made.id)
    assert kept.description == "changed by another writer"
    assert lf.datasets.read(kept).num_rows == 0  # the table is still there
    lf.datasets.delete(made.id, etag=kept.etag)
    assert lf.datasets.list() == []


def test_the_engine_checks_a_dataset_etag_in_the_delete(
    lf: Lakefeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = create_profile_schema(lf.schemas)
    made = lf.datasets.create("raced dataset", schema["$id"])
    check = lf.flows.check_dataset_unused

    def meanwhile(dataset_id: str) -> None:
        check(dataset_id)
        lf.datasets.update(made.id, description="changed meanwhile")

    monkeypatch.setattr(lf.flows, "check_dataset_unused", meanwhile)
    with pytest.raises(PreconditionFailed):
        lf.delete_dataset(made.id, if_match=made.etag)
    kept = lf.datasets.get(made.id)
    assert kept.description == "changed meanwhile"
    assert lf.datasets.read(kept).num_rows == 0


# --- Schema Registry --------------------------------------------------------------------------


def _etag(document: dict[str, Any]) -> str:
    return str(document["meta:registryMetadata"]["eTag"])


def test_a_schema_update_or_delete_with_a_stale_etag_changes_nothing(lf: Lakefeed) -> None:
    schema = create_profile_schema(lf.schemas)
    changed = lf.schemas.update(schema["$id"], _described(schema, "changed by another writer"))
    for write in (
        lambda: lf.schemas.update(schema["$id"], _described(schema, "lost"), etag=_etag(schema)),
        lambda: lf.schemas.delete(schema["$id"], etag=_etag(schema)),
    ):
        with pytest.raises(PreconditionFailed):
            write()
        assert lf.schemas.get(schema["$id"]) == changed
    again = lf.schemas.update(schema["$id"], _described(schema, "now"), etag=_etag(changed))
    lf.schemas.delete(schema["$id"], etag=_etag(again))
    assert [d["$id"] for d in lf.schemas.list("schemas")] == []


@pytest.mark.parametrize("write", ["update_schema", "delete_schema"])
def test_the_engine_checks_a_schema_etag_in_the_write(
    lf: Lakefeed, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """Another writer changes the schema right after the engine read it (and compared
    ``if_match`` with its eTag): the update or delete is refused."""
    schema = create_profile_schema(lf.schemas)
    registry = lf.schemas
    get = registry.get

    def read_then_changed(id: str, **kw: Any) -> dict[str, Any]:
        document = get(id, **kw)
        monkeypatch.setattr(registry, "get", get)
        registry.update(schema["$id"], _described(schema, "changed meanwhile"))
        return document

    monkeypatch.setattr(registry, "get", read_then_changed)
    with pytest.raises(PreconditionFailed):
        if write == "update_schema":
            lf.update_schema(schema["$id"], _described(schema, "lost"), if_match=_etag(schema))
        else:
            lf.delete_schema(schema["$id"], if_match=_etag(schema))
    assert lf.schemas.get(schema["$id"])["description"] == "changed meanwhile"


# --- flows see their connections change ---------------------------------------------------------


def test_a_source_connection_change_renews_its_flows_etags(
    lf: Lakefeed, make_flow: MakeFlow, tmp_path: Path
) -> None:
    flow: Flow = make_flow(lf, "moved")
    bystander: Flow = make_flow(lf, "bystander")
    (tmp_path / "elsewhere").mkdir()
    lf.flows.update_source_connection(flow.source_connection_id, path=str(tmp_path / "elsewhere"))
    assert lf.flows.flow(flow.id).etag != flow.etag
    assert lf.flows.flow(bystander.id).etag == bystander.etag
    with pytest.raises(PreconditionFailed):  # a client holding the old etag notices
        lf.flows.update_flow(flow.id, description="x", etag=flow.etag)


def test_a_target_connection_change_renews_its_flows_etags(
    lf: Lakefeed, make_flow: MakeFlow
) -> None:
    flow: Flow = make_flow(lf, "renamed target")
    lf.flows.update_target_connection(flow.target_connection_id, name="another name")
    assert lf.flows.flow(flow.id).etag != flow.etag


def test_a_refused_connection_change_leaves_its_flows_etags(
    lf: Lakefeed, make_flow: MakeFlow
) -> None:
    flow: Flow = make_flow(lf, "refused")
    with pytest.raises(PreconditionFailed):
        lf.flows.update_source_connection(flow.source_connection_id, name="x", etag='"stale"')
    assert lf.flows.flow(flow.id).etag == flow.etag
