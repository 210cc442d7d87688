"""``lakefeed mappings``: create, list, show, validate, preview and delete, in the local home and
with ``--server`` against a real server on loopback; the same JSON either way."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from api_support import ORG, Server, running_server
from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema

RunCli = Callable[..., Result]
REMOTE_ENV = ("LAKEFEED_SERVER", "LAKEFEED_API_KEY", "LAKEFEED_CLIENT_SECRET", "LAKEFEED_ORG")


@pytest.fixture(autouse=True)
def _no_remote_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*REMOTE_ENV, "LAKEFEED_SANDBOX"):
        monkeypatch.delenv(name, raising=False)


def write_mapping_set(
    folder: Path, schema_id: str, *mappings: dict[str, Any], name: str = "people"
) -> Path:
    body = {
        "name": name,
        "outputSchema": {"schemaRef": {"id": schema_id}},
        "mappings": list(mappings)
        or [
            {"sourceType": "ATTRIBUTE", "source": "first", "destination": "person.name.firstName"},
            {
                "sourceType": "EXPRESSION",
                "source": "upper(last)",
                "destination": "person.name.lastName",
            },
        ],
    }
    path = folder / f"{name}.mapping.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "people.parquet"
    pq.write_table(
        pa.table({"first": ["Ada", "Alan", "Grace"], "last": ["Lovelace", "Turing", "Hopper"]}),
        path,
    )
    return path


def lifecycle(cli: Callable[..., Result], folder: Path, schema_id: str, sample: Path) -> str:
    """The commands one after the other; returns the mapping set's id (deleted at the end)."""
    file = write_mapping_set(folder, schema_id)
    created = json.loads(cli("mappings", "create", str(file), "--json").stdout)
    assert created["version"] == 0 and created["name"] == "people"
    assert [m["destination"] for m in created["mappings"]] == [
        "person.name.firstName",
        "person.name.lastName",
    ]
    human = cli("mappings", "create", str(file)).stdout
    assert "Created mapping set people" in human and "upper(last)" in human

    listed = json.loads(cli("mappings", "list", "--json").stdout)
    assert listed["count"] == 2 and listed["items"][0]["id"] == created["id"]
    assert created["id"] in cli("mappings", "list").stdout

    shown = json.loads(cli("mappings", "show", created["id"], "--json").stdout)
    assert shown == created
    assert (
        json.loads(cli("mappings", "show", created["id"], "--version", "0", "--json").stdout)[
            "version"
        ]
        == 0
    )
    assert "person.name.firstName" in cli("mappings", "show", created["id"]).stdout
    missing = cli("mappings", "show", created["id"], "--version", "3", code=1)
    assert "LF-1104" in missing.stderr and "no version 3" in missing.stderr

    checked = json.loads(
        cli("mappings", "validate", str(file), "--source-file", str(sample), "--json").stdout
    )
    assert checked["status"] == "SUCCESS" and checked["sourceSchemaChecked"] is True
    assert "Valid." in cli("mappings", "validate", str(file)).stdout

    bad = write_mapping_set(
        folder,
        schema_id,
        {"sourceType": "ATTRIBUTE", "source": "nickname", "destination": "person.name.firstName"},
        name="bad",
    )
    failed = cli("mappings", "validate", str(bad), "--source-file", str(sample), code=1)
    assert "FAILED" in failed.stdout and "nickname" in failed.stdout
    assert "Not valid." in failed.stdout

    previewed = json.loads(
        cli("mappings", "preview", str(file), "--sample", str(sample), "-n", "2", "--json").stdout
    )
    assert [r["person"]["name"] for r in previewed["data"]] == [
        {"firstName": "Ada", "lastName": "LOVELACE"},
        {"firstName": "Alan", "lastName": "TURING"},
    ]
    table = cli("mappings", "preview", str(file), "--sample", str(sample)).stdout
    assert "person.name.lastName" in table and "HOPPER" in table

    cli("mappings", "delete", listed["items"][1]["id"])
    assert json.loads(cli("mappings", "delete", created["id"], "--json").stdout) == {
        "deleted": created["id"]
    }
    assert json.loads(cli("mappings", "list", "--json").stdout)["count"] == 0
    gone = cli("mappings", "delete", created["id"], code=1)
    assert "LF-1104" in gone.stderr
    return str(created["id"])


def test_mappings_locally(tmp_path: Path, run_cli: RunCli, lf: Lakefeed, sample: Path) -> None:
    schema = create_profile_schema(lf.schemas)
    lifecycle(run_cli, tmp_path, schema["meta:altId"], sample)


def test_bad_files_and_bad_mappings_exit_1_naming_the_problem(
    tmp_path: Path, run_cli: RunCli, lf: Lakefeed
) -> None:
    schema = create_profile_schema(lf.schemas)
    broken = tmp_path / "broken.json"
    broken.write_text('{"mappings": [', encoding="utf-8")
    refused = run_cli("mappings", "create", str(broken), code=1)
    assert "LF-1001" in refused.stderr and "not valid JSON" in refused.stderr
    refused = run_cli("mappings", "create", str(tmp_path / "nope.json"), code=1)
    assert "Cannot read the mapping set" in refused.stderr
    unknown = write_mapping_set(
        tmp_path,
        schema["$id"],
        {"sourceType": "EXPRESSION", "source": "frobnicate(a)", "destination": "_id"},
    )
    refused = run_cli("mappings", "create", str(unknown), code=1)
    assert "LF-1470" in refused.stderr and "frobnicate" in refused.stderr
    from_stdin = run_cli(
        "mappings",
        "create",
        "-",
        "--json",
        input=write_mapping_set(tmp_path, schema["$id"]).read_text(),
    )
    assert json.loads(from_stdin.stdout)["version"] == 0
    no_sample = run_cli(
        "mappings", "preview", str(unknown), "--sample", str(tmp_path / "nope.parquet"), code=1
    )
    assert "No file" in no_sample.stderr


# --- --server --------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = Path(os.environ["LAKEFEED_HOME"])
    with running_server(home, local_roots=[tmp_path_factory.getbasetemp()]) as running:
        yield running


def test_mappings_on_a_server(
    tmp_path: Path, run_cli: RunCli, server: Server, sample: Path
) -> None:
    scoped = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(scoped.schemas)
    created = json.loads(run_cli("auth", "create-client", "--org", ORG, "--json").stdout)

    def remote(*args: str, code: int = 0, input: str | None = None) -> Result:
        return run_cli(
            "--server", server.url, "--api-key", created["apiKey"],
            "--client-secret", created["clientSecret"], "--org", ORG, *args,
            code=code, input=input,
        )  # fmt: skip

    remote_id = lifecycle(remote, tmp_path, schema["$id"], sample)
    # The server's sandbox held them, not the local home (org "local").
    assert json.loads(run_cli("mappings", "list", "--json").stdout)["count"] == 0
    kept = json.loads(
        remote(
            "mappings", "create", str(write_mapping_set(tmp_path, schema["$id"])), "--json"
        ).stdout
    )
    assert kept["createdBy"] == created["apiKey"]
    assert scoped.mapping_set(kept["id"]).to_dict() == kept
    assert remote_id != kept["id"]
