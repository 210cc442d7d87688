"""``DatasetStore.update``: a dataset's name, description and tags change through the Python
API; its schema and table stay; a taken name, a stale etag and a blank name are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import InvalidRequest, InvalidText, NameTaken, PreconditionFailed
from lakefeed.testing.profiles import create_profile_schema


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


def test_name_description_and_tags_change_and_the_table_stays(lf: Lakefeed) -> None:
    schema = create_profile_schema(lf.schemas)
    before = lf.datasets.create("profiles", schema["$id"], tags={"a": ["1"]})
    after = lf.datasets.update(
        "profiles", name="members", description="Loyalty members", tags={"team": ["growth"]}
    )
    assert (after.id, after.name, after.description) == (before.id, "members", "Loyalty members")
    assert after.tags == {"team": ["growth"]} and after.etag != before.etag
    assert after.schema_id == before.schema_id
    assert after.table_identifier == before.table_identifier
    assert lf.datasets.table(after).schema() == lf.datasets.table(before).schema()
    assert lf.datasets.get("members").id == before.id
    unchanged = lf.datasets.update(before.id, description="only this")
    assert (unchanged.name, unchanged.tags) == ("members", {"team": ["growth"]})


def test_a_taken_name_a_stale_etag_and_bad_text_are_refused(lf: Lakefeed) -> None:
    schema = create_profile_schema(lf.schemas)
    first = lf.datasets.create("first", schema["$id"])
    lf.datasets.create("second", schema["$id"])
    with pytest.raises(NameTaken, match="second"):
        lf.datasets.update(first.id, name="second")
    with pytest.raises(PreconditionFailed):
        lf.datasets.update(first.id, description="x", etag='"stale"')
    with pytest.raises(InvalidRequest, match="name"):
        lf.datasets.update(first.id, name="  ")
    with pytest.raises(InvalidText):
        lf.datasets.update(first.id, description="bad\x00text")
    assert lf.datasets.get(first.id) == first
    renamed = lf.datasets.update(first.id, name="first again", etag=first.etag)
    assert renamed.name == "first again"
