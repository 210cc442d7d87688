"""The mapping set store: every version kept and readable, updates that race each get their own
version, deletes that take every version, and sandboxes that never see each other's sets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.mapping_sets import MappingSetStore
from lakefeed.errors import InvalidText, ResourceNotFound
from lakefeed.testing.profiles import create_profile_schema

SCHEMA = "https://ns.adobe.com/acme/schemas/abc"


def document(destination: str = "person.name.firstName") -> dict:
    return {
        "outputSchema": {"schemaRef": {"id": SCHEMA, "contentType": "x"}},
        "mappings": [
            {
                "id": "a" * 32,
                "sourceType": "ATTRIBUTE",
                "source": "first_name",
                "destination": destination,
            }
        ],
    }


@pytest.fixture
def store(lf: Lakefeed) -> MappingSetStore:
    return MappingSetStore(lf.db, lf.scope)


@pytest.fixture
def dev_store(dev: Lakefeed) -> MappingSetStore:
    return MappingSetStore(dev.db, dev.scope)


def test_versions_are_kept_and_the_latest_is_the_default(store: MappingSetStore) -> None:
    first = store.insert(id="1" * 32, name="people", document=document(), actor="alice")
    assert (first.version, first.created_by, first.updated_by) == (0, "alice", "alice")
    second = store.add_version(
        first.id, name="people v2", document=document("person.name.lastName"), actor="bob"
    )
    assert second.version == 1
    # The set's creation stays version 0's; the version's own change is bob's.
    assert (second.created_at, second.created_by) == (first.created_at, "alice")
    assert second.updated_by == "bob" and second.updated_at >= first.updated_at
    assert store.get(first.id).mappings[0]["destination"] == "person.name.lastName"
    old = store.get(first.id, 0)
    assert old.name == "people" and old.mappings[0]["destination"] == "person.name.firstName"
    with pytest.raises(ResourceNotFound, match=r"no version 7 .*0 to 1"):
        store.get(first.id, 7)
    summary = second.summary()
    assert summary == {
        "id": first.id,
        "version": 1,
        "createdDate": first.created_at,
        "modifiedDate": second.updated_at,
        "createdBy": "alice",
        "modifiedBy": "bob",
    }


def test_latest_lists_one_version_per_set_and_filters_by_name(store: MappingSetStore) -> None:
    a = store.insert(id="a" * 32, name="a", document=document(), actor="t")
    b = store.insert(id="b" * 32, name="b", document=document(), actor="t")
    for _ in range(3):
        store.add_version(a.id, name="a", document=document(), actor="t")
    listed = {s.id: s.version for s in store.latest()}
    assert listed == {a.id: 3, b.id: 0}
    assert [s.id for s in store.latest(name="b")] == [b.id]
    assert store.latest(name="nope") == []


def test_delete_removes_every_version_and_an_update_does_not_bring_it_back(
    store: MappingSetStore,
) -> None:
    created = store.insert(id="c" * 32, name=None, document=document(), actor="t")
    store.add_version(created.id, name=None, document=document(), actor="t")
    store.delete(created.id)
    for version in (None, 0, 1):
        with pytest.raises(ResourceNotFound, match="No mapping set"):
            store.get(created.id, version)
    with pytest.raises(ResourceNotFound):
        store.add_version(created.id, name=None, document=document(), actor="t")
    assert store.latest() == []
    with pytest.raises(ResourceNotFound):
        store.delete(created.id)


def test_updates_racing_each_get_their_own_version(store: MappingSetStore) -> None:
    created = store.insert(id="d" * 32, name=None, document=document(), actor="t")
    writers = 8
    errors: list[BaseException] = []
    versions: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def update(n: int) -> None:
        start.wait()
        try:
            stored = store.add_version(created.id, name=f"v{n}", document=document(), actor="t")
            with lock:
                versions.append(stored.version)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=update, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert store.get(created.id).version == writers
    # Every stored version is there exactly once, each with the name one writer gave it.
    names = {store.get(created.id, v).name for v in range(1, writers + 1)}
    assert names == {f"v{n}" for n in range(writers)}


def test_other_sandboxes_see_nothing(store: MappingSetStore, dev_store: MappingSetStore) -> None:
    created = store.insert(id="e" * 32, name="prod only", document=document(), actor="t")
    assert dev_store.latest() == []
    with pytest.raises(ResourceNotFound, match="sandbox 'dev'"):
        dev_store.get(created.id)
    with pytest.raises(ResourceNotFound):
        dev_store.add_version(created.id, name=None, document=document(), actor="t")
    with pytest.raises(ResourceNotFound):
        dev_store.delete(created.id)
    assert store.get(created.id).version == 0


def test_names_are_checked_like_every_other_resource_name(store: MappingSetStore) -> None:
    with pytest.raises(InvalidText, match="control character"):
        store.insert(id="f" * 32, name="bad\x00name", document=document(), actor="t")
    with pytest.raises(InvalidText, match="at most 255"):
        store.insert(id="f" * 32, name="n" * 256, document=document(), actor="t")
    assert store.latest() == []


def test_a_flow_gets_the_version_it_names_compiled(lf: Lakefeed) -> None:
    """What a flow applies: the stored version it names, compiled against its output schema."""
    schema = create_profile_schema(lf.schemas)

    def body(source: str) -> dict:
        return {
            "outputSchema": {"schemaRef": {"id": schema["meta:altId"]}},
            "mappings": [
                {
                    "sourceType": "EXPRESSION",
                    "source": source,
                    "destination": "person.name.firstName",
                }
            ],
        }

    created = lf.create_mapping_set(body("upper(first)"))
    assert created.output_schema_id == schema["$id"]  # stored by $id
    lf.update_mapping_set(created.id, body("lower(first)"))
    batch = pa.RecordBatch.from_pylist([{"first": "Ada"}])
    now = datetime.now(UTC)
    for version, expected in ((0, "ADA"), (1, "ada"), (None, "ada")):
        mapped = lf.compiled_mapping_set(created.id, version).apply(batch, now)
        assert mapped.data.to_pylist() == [{"person": {"name": {"firstName": expected}}}]
    assert [s.version for s in lf.mapping_sets()] == [1]
