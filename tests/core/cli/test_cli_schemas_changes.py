"""``lakefeed schemas update`` (a PUT of the document, ``--if-match``) and
``lakefeed schemas delete``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]


def _document(lf: Lakefeed, id: str, tmp_path: Path, **changes: str) -> Path:
    document = {**lf.schemas.get(id), **changes}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(document))
    return path


def _etag(lf: Lakefeed, id: str) -> str:
    return str(lf.schemas.get(id)["meta:registryMetadata"]["eTag"])


def test_update_schema_title(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    id = profile_schema["$id"]
    file = _document(lf, id, tmp_path, title="Loyalty members")
    out = run_cli("schemas", "update", profile_schema["meta:altId"], str(file))
    assert "Updated Loyalty members" in out.stdout
    assert lf.schemas.get(id)["title"] == "Loyalty members"
    file = _document(lf, id, tmp_path, description="from the loyalty programme")
    shown = json.loads(
        run_cli("schemas", "update", id, "-", "--json", input=file.read_text()).stdout
    )
    assert shown["description"] == "from the loyalty programme" and shown["$id"] == id


def test_update_if_match(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    id = profile_schema["$id"]
    stale = _etag(lf, id)
    file = _document(lf, id, tmp_path, title="First")
    run_cli("schemas", "update", id, str(file), "--if-match", stale)
    file = _document(lf, id, tmp_path, title="Second")
    refused = run_cli("schemas", "update", id, str(file), "--if-match", stale, code=1)
    assert "LF-1404" in refused.stderr and "has changed" in refused.stderr
    assert lf.schemas.get(id)["title"] == "First"


def test_update_refuses_bad_documents(
    tmp_path: Path, lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    id = profile_schema["$id"]
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    refused = run_cli("schemas", "update", id, str(bad), code=1)
    assert "not a JSON object" in refused.stderr
    missing = run_cli("schemas", "update", "https://ns.adobe.com/nope", str(bad), code=1)
    assert "nope" in missing.stderr
    assert lf.schemas.get(id)["title"] == profile_schema["title"]


def test_delete_schema(lf: Lakefeed, run_cli: RunCli, profile_schema: dict) -> None:
    id = profile_schema["$id"]
    out = run_cli("schemas", "delete", profile_schema["meta:altId"])
    assert f"({id})" in out.stdout and "Deleted" in out.stdout
    assert all(d["$id"] != id for d in lf.schemas.list("schemas"))
    gone = run_cli("schemas", "delete", id, code=1)
    assert id in gone.stderr or "not found" in gone.stderr.lower()


def test_delete_refused_while_used_or_global(
    lf: Lakefeed, run_cli: RunCli, profile_schema: dict
) -> None:
    run_cli("datasets", "create", "profiles", "--schema", profile_schema["$id"])
    used = run_cli("schemas", "delete", profile_schema["$id"], code=1)
    assert "dataset 'profiles'" in used.stderr
    profile_class = "https://ns.adobe.com/xdm/context/profile"
    read_only = run_cli("schemas", "delete", profile_class, code=1)
    assert "read-only" in read_only.stderr
    run_cli("datasets", "delete", "profiles")
    answer = json.loads(run_cli("schemas", "delete", profile_schema["$id"], "--json").stdout)
    assert answer == {"deleted": profile_schema["$id"]}
