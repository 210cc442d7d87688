"""``lakefeed plugins`` with an SDK missing, and ``connections create`` refusing its spec. The
SDK is made missing in a subprocess by blocking its import, never by uninstalling it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

RunCli = Callable[..., Result]

# ``sys.modules[name] = None`` makes ``import name`` fail and ``find_spec(name)`` answer None,
# exactly as when the package is not installed.
WITHOUT_PARAMIKO = """
import sys
sys.modules["paramiko"] = None
from lakefeed.cli import main
main(sys.argv[1:])
"""


def lakefeed_without_paramiko(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEFEED_HOME": str(home), "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PARAMIKO, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugins_names_the_missing_sdk_and_its_install_hint(tmp_path: Path) -> None:
    listed = lakefeed_without_paramiko(tmp_path, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    by_name = {p["name"]: p for p in json.loads(listed.stdout)["items"]}
    sftp = by_name["sftp"]
    assert sftp["status"] == "sdk-missing"
    assert sftp["missing"] == [
        {"module": "paramiko", "install": "pip install 'lakefeed[sftp]'", "sourceType": "sftp"}
    ]
    assert by_name["s3"]["status"] == "loaded" and by_name["s3"]["missing"] == []

    table = lakefeed_without_paramiko(tmp_path, "plugins")
    assert table.returncode == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if "│ sftp " in line]
    assert "cannot work" in row and "paramiko" in row and "pip install 'lakefeed[sftp]'" in row


def test_connections_create_refuses_a_spec_whose_sdk_is_missing(tmp_path: Path) -> None:
    created = lakefeed_without_paramiko(
        tmp_path, "connections", "create", "box", "--spec", "sftp",
        "-p", "host=127.0.0.1", "-p", "userName=me", "-p", "password=secret",
    )  # fmt: skip
    assert created.returncode == 1
    assert "LF-1901" in created.stderr and "paramiko" in created.stderr
    assert "pip install 'lakefeed[sftp]'" in created.stderr
    assert "secret" not in created.stderr
    listed = lakefeed_without_paramiko(tmp_path, "connections", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["items"] == []  # nothing was stored


def test_plugins_with_every_sdk_installed(run_cli: RunCli) -> None:
    listed = json.loads(run_cli("plugins", "--json").stdout)
    assert listed["count"] == len(listed["items"]) > 5
    assert {p["status"] for p in listed["items"]} == {"loaded"}


REST_WITHOUT_PARAMIKO = """
import sys, json
sys.modules["paramiko"] = None
from pathlib import Path
from api_support import FS, running_server
home, allowed = Path(sys.argv[1]), ["127.0.0.1"]
with running_server(home, allow_endpoints=allowed) as server, server.client() as api:
    specs = api.get(f"{FS}/connectionSpecs", params={"property": "name==sftp"}).json()["items"]
    body = {
        "name": "box",
        "connectionSpec": {"id": specs[0]["id"], "version": "1.0"},
        "auth": {"specName": "Basic Authentication for sftp",
                 "params": {"host": "127.0.0.1", "userName": "me", "password": "secret"}},
    }
    created = api.post(f"{FS}/connections", json=body)
    listed = api.get(f"{FS}/connections").json()["items"]
    print(json.dumps({"status": created.status_code, "body": created.text, "stored": len(listed)}))
"""


def test_rest_refuses_a_spec_whose_sdk_is_missing_with_a_400(tmp_path: Path) -> None:
    """Through a real server: not a 500, and nothing stored."""
    tests = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", REST_WITHOUT_PARAMIKO, str(tmp_path / "home")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 400, answer
    assert "LF-1901" in answer["body"] and "lakefeed[sftp]" in answer["body"]
    assert "secret" not in answer["body"]
    assert answer["stored"] == 0
