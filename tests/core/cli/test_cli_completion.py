"""Shell completion (click's ``_LAKEFEED_COMPLETE``): commands, and the names of connections,
flows and datasets from the local home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from lakefeed import Lakefeed
from lakefeed.cli import _register_commands, cli


def complete(*words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers after ``lakefeed WORDS`` (the last word being typed)."""
    _register_commands()
    line = ["lakefeed", *words]
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="lakefeed",
        env={
            "_LAKEFEED_COMPLETE": "bash_complete",
            "COMP_WORDS": " ".join(line),
            "COMP_CWORD": str(len(line) - 1),
            **(env or {}),
        },
    )
    assert result.exit_code == 0, result.output
    # bash_complete answers "type,value" lines.
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_completes_connection_flow_and_dataset_names(
    tmp_path: Path, lf: Lakefeed, profile_schema: dict
) -> None:
    for name in ("raw", "reports"):
        root = tmp_path / name
        root.mkdir()
        lf.create_connection(name, "local-files", None, {"rootPath": str(root)})
    lf.datasets.create("profiles", profile_schema["$id"])
    flow = lf.flows
    source = flow.create_source_connection(
        name="members-source", base_connection_id=lf.connection("raw").id, path=".", recursive=False
    )
    target = flow.create_target_connection(
        name="members-target", dataset_id=lf.datasets.get("profiles").id
    )
    flow.create_flow(
        name="members",
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
    )

    assert complete("ls", "r") == ["raw", "reports"]
    assert complete("inspect", "rep") == ["reports"]
    assert complete("flows", "run", "") == ["members"]
    assert complete("runs", "list", "--flow", "m") == ["members"]
    assert complete("datasets", "show", "p") == ["profiles"]
    assert complete("ingest", "raw", "p.parquet", "--dataset", "") == ["profiles"]
    assert "connections" in complete("con")  # commands complete as click does


def test_a_missing_home_completes_nothing_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert complete("--home", str(missing), "ls", "") == []
    assert not missing.exists()


def test_the_documented_bash_script_is_generated(tmp_path: Path) -> None:
    """``_LAKEFEED_COMPLETE=bash_source lakefeed`` prints the script cli.md tells users to
    eval, from the installed entry point."""
    env = {**os.environ, "_LAKEFEED_COMPLETE": "bash_source", "LAKEFEED_HOME": str(tmp_path)}
    script = subprocess.run(
        [sys.executable, "-c", "from lakefeed.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "_LAKEFEED_COMPLETE=bash_complete" in script and "complete -o nosort" in script


def test_completing_never_creates_or_changes_a_database(tmp_path: Path, lf: Lakefeed) -> None:
    """TAB in an empty home offers nothing and writes nothing; in a home with a database it
    reads the names without writing to it."""
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert complete("--home", str(empty), "ls", "") == []
    assert complete("ls", "", env={"LAKEFEED_HOME": str(empty)}) == []
    assert list(empty.iterdir()) == []  # no lakefeed.db, no secret key

    lf.create_connection("raw", "local-files", None, {"rootPath": str(tmp_path)})
    database = lf.settings.home / "lakefeed.db"
    before = (database.stat().st_mtime_ns, database.read_bytes())
    database.chmod(0o444)  # a write would fail (and be swallowed): compare the bytes too
    try:
        assert complete("--home", str(lf.settings.home), "ls", "r") == ["raw"]
    finally:
        database.chmod(0o644)
    assert (database.stat().st_mtime_ns, database.read_bytes()) == before
    assert not (lf.settings.home / "lakefeed.db-journal").exists()
