"""Which auth spec a user means: aliases derived from the specs, abbreviations, and the choice
from the params."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakefeed.auth_choice import auth_aliases, auth_spec_named, choose_auth_spec
from lakefeed.errors import UnknownAuthSpec
from lakefeed.plugins import get_plugins
from lakefeed.specs import ConnectionSpec


def spec(name: str) -> ConnectionSpec:
    return get_plugins().source_type(name).spec


def test_aliases_are_derived_from_names_and_types() -> None:
    sftp = spec("sftp")
    assert {a.name: auth_aliases(sftp, a)[0] for a in sftp.auth_specs} == {
        "Basic Authentication for sftp": "basic",
        "SSH PublicKey Authentication for sftp": "ssh-public-key",
    }
    assert auth_aliases(spec("amazon-s3"), spec("amazon-s3").auth_specs[0])[0] == "access-key"
    blob = spec("azure-blob")
    assert [auth_aliases(blob, a)[0] for a in blob.auth_specs] == [
        "connection-string",
        "sas-uri",
        "default-azure-credential",
    ]


def test_every_bundled_auth_spec_has_an_alias_of_its_own() -> None:
    for source_type in get_plugins().source_types():
        s = source_type.spec
        for auth in s.auth_specs:
            assert auth_spec_named(s, auth_aliases(s, auth)[0]) is auth, (s.name, auth.name)


@pytest.mark.parametrize(
    ("spec_name", "given", "expected"),
    [
        ("sftp", "ssh-key", "SSH PublicKey Authentication for sftp"),
        ("sftp", "SSH", "SSH PublicKey Authentication for sftp"),
        ("sftp", "basic", "Basic Authentication for sftp"),
        ("sftp", "basic authentication for SFTP", "Basic Authentication for sftp"),
        ("azure-blob", "sas", "SAS URI Authentication"),
        ("azure-blob", "ConnectionString", "ConnectionString"),
        ("adls-gen2", "account-key", "Account Key Authentication for adls-gen2"),
        ("google-cloud", "service-account", "Service Account Authentication for google-cloud"),
        ("amazon-s3", "access key", "Access Key"),
        ("amazon-s3", "default", "Default Credential Chain"),
        ("amazon-s3", "iam-role", "IAMRole Based"),
        ("adls-gen2", "default-azure", "Default Azure Credential for adls-gen2"),
        ("google-cloud", "application-default", "Application Default Credentials for google-cloud"),
    ],
)
def test_names_aliases_and_abbreviations(spec_name: str, given: str, expected: str) -> None:
    assert auth_spec_named(spec(spec_name), given).name == expected


def test_ambiguous_abbreviation_lists_the_choices() -> None:
    with pytest.raises(UnknownAuthSpec, match="ambiguous") as caught:
        auth_spec_named(spec("google-cloud"), "a")
    message = str(caught.value)
    assert "--auth anonymous" in message and "--auth service-account" in message
    assert "--auth basic" not in message


def test_choice_from_params() -> None:
    gcs = spec("google-cloud")
    hmac = {"accessKeyId": "GOOG1E", "secretAccessKey": "s"}
    assert choose_auth_spec(gcs, None, hmac).name == "Basic Authentication for google-cloud"
    key = {"serviceAccountKey": "{}"}
    assert choose_auth_spec(gcs, None, key).name.startswith("Service Account")
    # Every spec knows bucketName; only anonymous access needs nothing else.
    assert choose_auth_spec(gcs, None, {"bucketName": "b"}).name.startswith("Anonymous")
    assert choose_auth_spec(spec("local-files"), None, {}).name == "Local Path"
    assert choose_auth_spec(spec("sftp"), "basic", {"privateKeyContent": "x"}).name.startswith(
        "Basic"
    )  # a name given wins; the params are checked later, against it


def test_no_choice_without_params_or_with_params_no_spec_takes() -> None:
    with pytest.raises(UnknownAuthSpec, match="several auth specs: "):
        choose_auth_spec(spec("google-cloud"), None, {})
    with pytest.raises(UnknownAuthSpec, match=r"No auth spec .* takes all") as caught:
        choose_auth_spec(spec("azure-blob"), None, {"connectionString": "c", "sasUri": "s"})
    assert "connectionString, sasUri" in str(caught.value)


def test_the_alias_table_in_the_cli_reference_matches() -> None:
    cli_md = Path(__file__).parents[2] / "docs" / "reference" / "cli.md"
    section = cli_md.read_text().split("### Auth spec aliases", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| `([^`]+)`", section, re.M)
    documented = {(s, a): alias for s, a, alias in rows}
    derived = {
        (t.spec.name, a.name): auth_aliases(t.spec, a)[0]
        for t in get_plugins().source_types()
        if t.spec.name != "memory"  # the docs' example plugin, not bundled
        for a in t.spec.auth_specs
    }
    assert documented == derived
