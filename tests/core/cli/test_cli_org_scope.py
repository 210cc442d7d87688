"""``--org``/``--sandbox`` on the local home: an operator's CLI reaches what an org's API clients
made (datasets to maintain, flows to inspect); without them it works in its own org, ``local``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema
from tests_support import lakefeed

ORG = "ACME0001@AdobeOrg"


def test_the_local_cli_works_in_the_org_and_sandbox_it_is_given(tmp_path: Path) -> None:
    home = tmp_path / "home"
    acme = Lakefeed(home=home).scoped(Scope(ORG, "dev"))
    acme.datasets.create("orders", create_profile_schema(acme.schemas)["$id"])

    def names(*scope: str) -> list[str]:
        done = lakefeed(home, *scope, "datasets", "list", "--json")
        assert done.returncode == 0, done.stderr
        return [item["name"] for item in json.loads(done.stdout)["items"]]

    assert names() == []
    assert names("--org", ORG) == []  # sandbox prod
    assert names("--org", ORG, "--sandbox", "dev") == ["orders"]
    shown = lakefeed(home, "--org", ORG, "--sandbox", "dev", "datasets", "show", "orders")
    assert shown.returncode == 0 and "orders" in shown.stdout


def test_the_server_variables_do_not_move_local_commands_to_another_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LAKEFEED_ORG and LAKEFEED_SANDBOX are set for --server: a local ingest or listing must
    not silently work in (and ingest everything again into) that org."""
    home = tmp_path / "home"
    local = Lakefeed(home=home)
    local.datasets.create("profiles", create_profile_schema(local.schemas)["$id"])
    monkeypatch.setenv("LAKEFEED_ORG", ORG)
    monkeypatch.setenv("LAKEFEED_SANDBOX", "dev")
    done = lakefeed(home, "datasets", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert [item["name"] for item in json.loads(done.stdout)["items"]] == ["profiles"]
