"""``lakefeed mappings update``: the next version of a mapping set, checked as on create."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]


def _body(schema_id: str, destination: str = "person.name.firstName") -> dict:
    return {
        "name": "people",
        "outputSchema": {"schemaRef": {"id": schema_id}},
        "mappings": [{"sourceType": "ATTRIBUTE", "source": "first", "destination": destination}],
    }


def test_update_stores_the_next_version(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    created = lf.create_mapping_set(_body(profile_schema["$id"]))
    file = tmp_path / "v1.json"
    file.write_text(json.dumps(_body(profile_schema["$id"], "person.name.lastName")))
    out = run_cli("mappings", "update", created.id, str(file))
    assert f"Updated mapping set {created.id} (version 1)" in out.stdout
    assert "person.name.lastName" in out.stdout
    assert lf.mapping_set(created.id).version == 1
    assert lf.mapping_set(created.id, 0).mappings == created.mappings  # kept for its flows
    answer = json.loads(
        run_cli("mappings", "update", created.id, "-", "--json", input=file.read_text()).stdout
    )
    assert answer["version"] == 2 and answer["id"] == created.id


def test_update_refuses_a_bad_mapping_set(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    created = lf.create_mapping_set(_body(profile_schema["$id"]))
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(_body(profile_schema["$id"], "person.nickname")))
    refused = run_cli("mappings", "update", created.id, str(file), code=1)
    assert "person.nickname" in refused.stderr
    assert lf.mapping_set(created.id).version == 0
    missing = run_cli("mappings", "update", "nope", str(file), code=1)
    assert "LF-1104" in missing.stderr
