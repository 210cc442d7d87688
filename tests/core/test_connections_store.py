"""Connections in the control-plane store: secrets sealed at rest, never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from lakefeed import Lakefeed
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.errors import (
    ConnectionNameTaken,
    ConnectionNotFound,
    InvalidAuthParams,
    SecretKeyError,
    UnknownAuthSpec,
)

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
S3_PARAMS = {"s3AccessKey": "AKIAEXAMPLE", "s3SecretKey": SECRET, "bucketName": "raw"}


def _stored_bytes(lf: Lakefeed, home: Path) -> bytes:
    """Everything the database holds: SQLite's files, or every table's rows as PostgreSQL
    sends them."""
    if lf.db.dialect.name == "sqlite":
        wal = home / "lakefeed.db-wal"
        return (home / "lakefeed.db").read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    with lf.db.connect() as db:
        tables = sa.inspect(db).get_table_names()
        return b"".join(
            repr(row).encode()
            for table in tables
            for row in db.execute(sa.text(f'SELECT * FROM "{table}"'))
        )


def test_secret_is_encrypted_at_rest_and_key_file_is_private(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path)
    conn = lf.create_connection("s3-raw", "amazon-s3", "Access Key", S3_PARAMS)
    stored = _stored_bytes(lf, tmp_path)
    assert SECRET.encode() not in stored
    assert b"AKIAEXAMPLE" in stored  # non-secret params stay queryable
    key = tmp_path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = Lakefeed(home=tmp_path).connection(conn.id)
    assert again.auth["s3SecretKey"] == SECRET


def test_secret_never_in_repr_or_dict(tmp_path: Path) -> None:
    conn = Lakefeed(home=tmp_path).create_connection("s3-raw", "amazon-s3", None, S3_PARAMS)
    assert SECRET not in repr(conn)
    assert SECRET not in str(conn.to_dict())
    assert conn.to_dict()["auth"]["params"]["s3SecretKey"] == "********"
    assert conn.to_dict()["auth"]["params"]["bucketName"] == "raw"


def test_lookup_by_id_or_name_and_delete(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path)
    conn = lf.create_connection("files", "local-files", None, {"rootPath": str(tmp_path)})
    assert lf.connection("files").id == conn.id == lf.connection(conn.id).id
    assert [c.name for c in lf.connections.list()] == ["files"]
    lf.connections.delete("files")
    with pytest.raises(ConnectionNotFound, match="connections list"):
        lf.connection(conn.id)


def test_names_are_unique(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path)
    lf.create_connection("files", "local-files", None, {})
    with pytest.raises(ConnectionNameTaken):
        lf.create_connection("files", "local-files", None, {})


def test_invalid_params_are_rejected_before_storing(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path)
    with pytest.raises(InvalidAuthParams, match="s3SecretKey"):
        lf.create_connection("bad", "amazon-s3", "Access Key", {"s3AccessKey": "x"})
    assert lf.connections.list() == []


def test_several_auth_specs_need_a_choice(tmp_path: Path) -> None:
    with pytest.raises(UnknownAuthSpec, match="ConnectionString"):
        Lakefeed(home=tmp_path).create_connection("az", "azure-blob", None, {})


def test_wrong_key_file_says_how_to_recover(tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "a.key")
    token = box.seal({"x": "y"})
    other = SecretBox(tmp_path / "b.key")
    with pytest.raises(SecretKeyError, match="LAKEFEED_SECRET_KEY_FILE"):
        other.open(token)
    assert box.open(token) == {"x": "y"}


def test_plugin_checks_run_before_storing(tmp_path: Path) -> None:
    lf = Lakefeed(home=tmp_path)
    with pytest.raises(InvalidAuthParams, match="absolute path"):
        lf.create_connection("rel", "local-files", None, {"rootPath": "data"})
    with pytest.raises(InvalidAuthParams, match="SAS URI"):
        lf.create_connection("sas", "azure-blob", "SAS URI Authentication", {"sasUri": "nope"})
    with pytest.raises(InvalidAuthParams, match="not valid JSON"):
        lf.create_connection(
            "sa",
            "google-cloud",
            "Service Account Authentication for google-cloud",
            {"serviceAccountKey": "{"},
        )
    assert lf.connections.list() == []
