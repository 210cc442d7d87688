"""``lakefeed connections update`` (name, description, params, secret rotation, ``--if-match``)
and how ``connections create`` picks the auth spec (from the params, or a short ``--auth``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lakefeed import Lakefeed

RunCli = Callable[..., Result]

OLD_SECRET = "old-secret-7b1f2c0e9d"
NEW_SECRET = "new-secret-4a8e6d3b51"


def _everything(result: Result) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def s3(lf: Lakefeed) -> str:
    """An S3 connection ``s3`` whose secret key is OLD_SECRET; its id."""
    return lf.create_connection(
        "s3",
        "amazon-s3",
        None,
        {"s3AccessKey": "AKIAEXAMPLE", "s3SecretKey": OLD_SECRET, "bucketName": "landing"},
    ).id


def _secret(lf: Lakefeed, name: str = "s3") -> str:
    return str(lf.connection(name).auth.secrets()["s3SecretKey"])


# --- name, description, params ----------------------------------------------------------------


def test_update_name_and_description(landing: Path, lf: Lakefeed, run_cli: RunCli) -> None:
    before = lf.connection("raw")
    out = run_cli("connections", "update", "raw", "--name", "landing", "--description", "drop")
    assert "Updated connection landing" in out.stdout and "name, description" in out.stdout
    after = lf.connection(before.id)
    assert (after.name, after.description) == ("landing", "drop")
    assert after.etag != before.etag
    answer = json.loads(
        run_cli("connections", "update", "landing", "--description", "", "--json").stdout
    )
    assert answer == {"id": before.id, "etag": lf.connection(before.id).etag}
    assert lf.connection(before.id).description == ""


def test_update_params_merges_over_the_stored_ones(
    tmp_path: Path, landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    run_cli("connections", "update", "raw", "-p", f"rootPath={other}", "--test")
    assert lf.connection("raw").auth.public()["rootPath"] == str(other)


def test_update_with_failing_test_stores_nothing(
    tmp_path: Path, landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    before = lf.connection("raw")
    failed = run_cli(
        "connections", "update", "raw", "-p", f"rootPath={tmp_path / 'missing'}", "--test", code=1
    )
    assert "LF-2" in failed.stderr  # a storage error code
    assert lf.connection("raw").etag == before.etag
    assert lf.connection("raw").auth.public()["rootPath"] == str(landing)


def test_update_refuses_unknown_params_and_empty_changes(
    s3: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    before = lf.connection(s3).etag
    bad = run_cli("connections", "update", "s3", "-p", "colour=blue", code=1)
    assert "LF-1304" in bad.stderr and "colour" in bad.stderr
    nothing = run_cli("connections", "update", "s3", code=1)
    assert "Nothing to change" in nothing.stderr
    missing = run_cli("connections", "update", "nope", "--name", "x", code=1)
    assert "LF-1101" in missing.stderr
    assert lf.connection(s3).etag == before
    assert OLD_SECRET not in _everything(bad) + _everything(nothing)


def test_update_dataset_base_connection_name_only(lf: Lakefeed, run_cli: RunCli) -> None:
    base = lf.connections.create_dataset_base_connection(name="lake", description="")
    run_cli("connections", "update", "lake", "--name", "lake2")
    assert lf.connection(base.id).name == "lake2"
    refused = run_cli("connections", "update", "lake2", "-p", "rootPath=/x", code=1)
    assert "dataset" in refused.stderr and "LF-1001" in refused.stderr


# --- --if-match -------------------------------------------------------------------------------


def test_if_match_current_etag_quoted_or_not(landing: Path, lf: Lakefeed, run_cli: RunCli) -> None:
    etag = lf.connection("raw").etag
    run_cli("connections", "update", "raw", "--description", "one", "--if-match", etag)
    etag = lf.connection("raw").etag
    run_cli("connections", "update", "raw", "--description", "two", "--if-match", etag.strip('"'))
    assert lf.connection("raw").description == "two"


def test_stale_if_match_is_refused_and_changes_nothing(
    landing: Path, lf: Lakefeed, run_cli: RunCli
) -> None:
    stale = lf.connection("raw").etag
    run_cli("connections", "update", "raw", "--description", "changed by someone else")
    current = lf.connection("raw").etag
    refused = run_cli("connections", "update", "raw", "--name", "mine", "--if-match", stale, code=1)
    assert "LF-1404" in refused.stderr and "has changed" in refused.stderr
    assert "lakefeed connections show raw --json" in refused.stderr
    assert lf.connection("raw").etag == current and lf.connection("raw").name == "raw"


# --- secret rotation --------------------------------------------------------------------------


def test_rotate_secret_from_file(tmp_path: Path, s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    file = tmp_path / "secret.txt"
    file.write_text(NEW_SECRET + "\n")
    # The auth spec's secrets are s3SecretKey and s3SessionToken: --secret says which.
    unclear = run_cli("connections", "update", "s3", "--secret-file", str(file), code=1)
    assert "s3SecretKey" in unclear.stderr and "s3SessionToken" in unclear.stderr
    out = run_cli(
        "connections", "update", "s3", "--secret", "s3SecretKey", "--secret-file", str(file)
    )
    assert _secret(lf) == NEW_SECRET
    assert "auth.params.s3SecretKey" in out.stdout
    assert NEW_SECRET not in _everything(out) + _everything(unclear)
    assert lf.connection("s3").auth.public()["s3AccessKey"] == "AKIAEXAMPLE"  # kept
    shown = run_cli("connections", "show", "s3", "--json")
    assert NEW_SECRET not in _everything(shown)


def test_rotate_the_only_secret_from_stdin(lf: Lakefeed, run_cli: RunCli) -> None:
    lf.create_connection(
        "blob",
        "azure-blob",
        "ConnectionString",
        {"connectionString": f"AccountName=acct;AccountKey={OLD_SECRET}"},
    )
    out = run_cli(
        "connections", "update", "blob", "--secret-file", "-", "--json",
        input=f"AccountName=acct;AccountKey={NEW_SECRET}\n",
    )  # fmt: skip
    assert json.loads(out.stdout)["id"] == lf.connection("blob").id
    assert (
        lf.connection("blob").auth.secrets()["connectionString"]
        == f"AccountName=acct;AccountKey={NEW_SECRET}"
    )
    assert NEW_SECRET not in _everything(out)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is a terminal (CliRunner's is not): the hidden prompt asks."""
    monkeypatch.setattr("lakefeed.cli.secret_input.stdin_is_terminal", lambda: True)


@pytest.mark.usefixtures("terminal")
def test_rotate_secret_with_hidden_prompt(s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    out = run_cli(
        "connections", "update", "s3", "--secret", "s3SecretKey", input=f"{NEW_SECRET}\n" * 2
    )
    assert "New" in out.stderr and "s3SecretKey" in out.stderr  # the prompt, on stderr
    assert NEW_SECRET not in _everything(out)  # hidden: never echoed
    assert _secret(lf) == NEW_SECRET


@pytest.mark.usefixtures("terminal")
def test_prompt_answers_that_differ_are_asked_again(s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    answers = f"{NEW_SECRET}\nsomething-else\n{NEW_SECRET}\n{NEW_SECRET}\n"
    out = run_cli("connections", "update", "s3", "--secret", "s3SecretKey", input=answers)
    assert "do not match" in out.stderr
    assert _secret(lf) == NEW_SECRET and NEW_SECRET not in _everything(out)


def test_secret_as_plain_param_is_refused_and_not_echoed(
    s3: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    refused = run_cli("connections", "update", "s3", "-p", f"s3SecretKey={NEW_SECRET}", code=1)
    assert "--secret s3SecretKey" in refused.stderr and "LF-1001" in refused.stderr
    assert NEW_SECRET not in _everything(refused)
    assert _secret(lf) == OLD_SECRET


def test_secret_param_from_at_file_is_accepted(
    tmp_path: Path, s3: str, lf: Lakefeed, run_cli: RunCli
) -> None:
    file = tmp_path / "k"
    file.write_text(NEW_SECRET)
    out = run_cli("connections", "update", "s3", "-p", f"s3SecretKey=@{file}")
    assert _secret(lf) == NEW_SECRET and NEW_SECRET not in _everything(out)


def test_secret_rotation_failures(tmp_path: Path, s3: str, lf: Lakefeed, run_cli: RunCli) -> None:
    unreadable = run_cli(
        "connections", "update", "s3", "--secret", "s3SecretKey",
        "--secret-file", str(tmp_path / "nope"), code=1,
    )  # fmt: skip
    assert "Cannot read the new s3SecretKey" in unreadable.stderr
    not_secret = run_cli("connections", "update", "s3", "--secret", "bucketName", code=1)
    assert "not a secret param" in not_secret.stderr and "s3SecretKey" in not_secret.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    blank = run_cli(
        "connections", "update", "s3", "--secret", "s3SecretKey", "--secret-file", str(empty),
        code=1,
    )  # fmt: skip
    assert "empty" in blank.stderr
    assert _secret(lf) == OLD_SECRET
    for result in (unreadable, not_secret, blank):
        assert OLD_SECRET not in _everything(result)


# --- choosing the auth spec -------------------------------------------------------------------


def test_auth_spec_chosen_from_the_params(lf: Lakefeed, run_cli: RunCli) -> None:
    run_cli(
        "connections", "create", "drop", "--spec", "sftp",
        "-p", "host=127.0.0.1", "-p", "userName=u", "-p", f"password={OLD_SECRET}",
    )  # fmt: skip
    assert lf.connection("drop").auth.spec_name == "Basic Authentication for sftp"
    run_cli(
        "connections", "create", "lake", "--spec", "adls-gen2",
        "-p", "url=https://acct.dfs.core.windows.net", "-p", f"accountKey={OLD_SECRET}",
    )  # fmt: skip
    assert lf.connection("lake").auth.spec_name == "Account Key Authentication for adls-gen2"


def test_auth_aliases(lf: Lakefeed, run_cli: RunCli) -> None:
    run_cli(
        "connections", "create", "s3", "--spec", "amazon-s3", "--auth", "access-key",
        "-p", "s3AccessKey=AK", "-p", f"s3SecretKey={OLD_SECRET}",
    )  # fmt: skip
    assert lf.connection("s3").auth.spec_name == "Access Key"
    run_cli(
        "connections", "create", "blob", "--spec", "azure-blob", "--auth", "sas",
        "-p", "sasUri=https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=abc",
    )  # fmt: skip
    assert lf.connection("blob").auth.spec_name == "SAS URI Authentication"
    run_cli(
        "connections", "create", "drop", "--spec", "sftp", "--auth-spec", "basic",
        "-p", "host=127.0.0.1", "-p", "userName=u", "-p", f"password={OLD_SECRET}",
    )  # fmt: skip
    assert lf.connection("drop").auth.spec_name == "Basic Authentication for sftp"


def test_ambiguous_or_unfitting_auth_is_refused_with_the_choices(
    lf: Lakefeed, run_cli: RunCli
) -> None:
    ambiguous = run_cli(
        "connections", "create", "blob", "--spec", "azure-blob", "--auth", "s",
        "-p", f"connectionString=AccountName=a;AccountKey={OLD_SECRET}",
    code=1)  # fmt: skip
    assert "LF-1415" in ambiguous.stderr and "ambiguous" in ambiguous.stderr
    assert "--auth connection-string" in ambiguous.stderr and "--auth sas-uri" in ambiguous.stderr
    several = run_cli(
        "connections", "create", "drop", "--spec", "sftp",
        "-p", "host=127.0.0.1", "-p", "userName=u", code=1,
    )  # fmt: skip
    assert "--auth basic" in several.stderr and "--auth ssh-public-key" in several.stderr
    unfitting = run_cli(
        "connections", "create", "drop", "--spec", "sftp", "-p", "host=h",
        "-p", f"password={OLD_SECRET}", "-p", "privateKeyContent=@/dev/null", code=1,
    )  # fmt: skip
    assert "No auth spec" in unfitting.stderr and "password" in unfitting.stderr
    unknown = run_cli(
        "connections", "create", "s3", "--spec", "amazon-s3", "--auth", "kerberos", code=1
    )
    assert "no auth spec 'kerberos'" in unknown.stderr and "--auth access-key" in unknown.stderr
    assert lf.connections.list() == []
    for result in (ambiguous, several, unfitting, unknown):
        assert OLD_SECRET not in _everything(result)


def test_delete_if_match(landing: Path, lf: Lakefeed, run_cli: RunCli) -> None:
    stale = lf.connection("raw").etag
    run_cli("connections", "update", "raw", "--description", "changed")
    refused = run_cli("connections", "delete", "raw", "--if-match", stale, code=1)
    assert "LF-1404" in refused.stderr
    assert lf.connection("raw").description == "changed"
    run_cli("connections", "delete", "raw", "--if-match", lf.connection("raw").etag)
    assert lf.connections.list() == []
