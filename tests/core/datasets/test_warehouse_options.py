"""The warehouse's options (``LAKEFEED_WAREHOUSE_OPTIONS``, ``LAKEFEED_WAREHOUSE_OPTIONS_FILE``):
read from the operator's environment, checked before anything is written, and never quoted
back (they hold secrets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakefeed import Lakefeed
from lakefeed.config import Settings
from lakefeed.datasets.iceberg import open_catalog
from lakefeed.datasets.warehouse import (
    FSSPEC_FILE_IO,
    file_io_properties,
    secret_values,
    warehouse_error,
)
from lakefeed.errors import (
    MissingDependency,
    WarehouseAccessDenied,
    WarehouseConfigError,
    WarehouseNotFound,
    WarehouseUnreachable,
)

SECRET = "s3cr3t-value-7a1f"


def options_file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "warehouse.json"
    path.write_text(content)
    return path


def test_the_file_is_read_and_the_variable_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = options_file(
        tmp_path,
        json.dumps(
            {"s3.secret-access-key": SECRET, "s3.region": "eu-west-1", "s3.anonymous": False}
        ),
    )
    monkeypatch.setenv("LAKEFEED_WAREHOUSE_OPTIONS_FILE", str(path))
    monkeypatch.setenv(
        "LAKEFEED_WAREHOUSE_OPTIONS", '{"s3.region": "us-east-1", "s3.connect-timeout": 5}'
    )

    settings = Settings.load()

    assert settings.warehouse_options == {
        "s3.secret-access-key": SECRET,
        "s3.region": "us-east-1",
        "s3.anonymous": "false",
        "s3.connect-timeout": "5",
    }
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"s3.secret-access-key": "' + SECRET + '",}', "is not valid JSON (line 1, column"),
        ('["' + SECRET + '"]', "is a JSON list, not an object"),
        ('{"s3.secret-access-key": ["' + SECRET + '"]}', "'s3.secret-access-key' is a JSON list"),
    ],
)
@pytest.mark.parametrize("where", ["LAKEFEED_WAREHOUSE_OPTIONS", "LAKEFEED_WAREHOUSE_OPTIONS_FILE"])
def test_options_that_are_not_an_object_of_strings_are_refused_without_quoting_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, said: str, where: str
) -> None:
    value = str(options_file(tmp_path, content)) if where.endswith("_FILE") else content
    monkeypatch.setenv(where, value)

    with pytest.raises(WarehouseConfigError) as refused:
        Lakefeed()

    assert said in str(refused.value)
    assert SECRET not in str(refused.value)
    assert refused.value.code == "LF-1970"


def test_an_unreadable_options_file_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEFEED_WAREHOUSE_OPTIONS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(
        WarehouseConfigError, match=r"LAKEFEED_WAREHOUSE_OPTIONS_FILE=.*cannot be read"
    ):
        Settings.load()


def test_an_endless_options_file_is_refused_not_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_WAREHOUSE_OPTIONS_FILE", "/dev/zero")
    with pytest.raises(WarehouseConfigError, match="longer than 1,048,576 characters"):
        Settings.load()


@pytest.mark.parametrize(
    ("warehouse", "options", "said"),
    [
        ("s3://bucket/wh", {"s3.acess-key-id": SECRET}, "'s3.acess-key-id'"),
        ("s3://bucket/wh", {"uri": "sqlite:///elsewhere.db"}, "'uri'"),
        ("hdfs://namenode/wh", {}, "has the scheme 'hdfs'"),
        ("s3:///wh", {}, "names no bucket"),
        (None, {"s3.endpoint": "http://127.0.0.1:9000"}, "is the local folder"),
    ],
)
def test_a_warehouse_lakefeed_cannot_use_is_refused_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch,
    warehouse: str | None,
    options: dict[str, str],
    said: str,
) -> None:
    if warehouse is not None:
        monkeypatch.setenv("LAKEFEED_WAREHOUSE", warehouse)
    monkeypatch.setenv("LAKEFEED_WAREHOUSE_OPTIONS", json.dumps(options))
    settings = Settings.load()

    with pytest.raises(WarehouseConfigError) as refused:
        open_catalog(settings)

    assert said in str(refused.value)
    assert SECRET not in str(refused.value)


def test_object_stores_use_fsspecs_file_io_unless_the_options_choose() -> None:
    assert file_io_properties("s3://b/wh", {})["py-io-impl"] == FSSPEC_FILE_IO
    assert file_io_properties("gs://b/wh", {})["py-io-impl"] == FSSPEC_FILE_IO
    chosen = {"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"}
    assert file_io_properties("s3://b/wh", chosen) == chosen
    assert file_io_properties("file:///srv/wh", {}) == {}  # pyiceberg's default, as before
    sas = {"adls.sas-token.acct.dfs.core.windows.net": "sv=2024&sig=abcdefgh"}
    assert file_io_properties("abfs://c@acct.dfs.core.windows.net/wh", sas)["py-io-impl"]


def test_vendor_errors_become_warehouse_errors_without_secrets() -> None:
    properties = {
        "s3.endpoint": "http://127.0.0.1:9000",
        "s3.secret-access-key": SECRET,
        "adls.connection-string": "AccountName=a;AccountKey=abcdefghijkl==;",
    }

    def translated(exc: Exception) -> object:
        return warehouse_error(
            exc, action="writing", properties=properties, location="s3://bucket/wh/t/data/x"
        )

    denied = translated(PermissionError(f"SignatureDoesNotMatch for {SECRET} abcdefghijkl=="))
    assert isinstance(denied, WarehouseAccessDenied)
    assert SECRET not in str(denied) and "abcdefghijkl" not in str(denied)
    assert "s3://bucket (endpoint http://127.0.0.1:9000)" in str(denied)
    assert isinstance(translated(ConnectionRefusedError(111, "refused")), WarehouseUnreachable)
    missing = translated(FileNotFoundError("NoSuchBucket: The specified bucket does not exist"))
    assert isinstance(missing, WarehouseNotFound)
    assert set(secret_values(properties)) >= {SECRET, "abcdefghijkl=="}


def test_an_endpoint_with_a_password_in_its_url_is_never_quoted_with_it() -> None:
    """``s3.endpoint`` names no secret, but its URL may carry ``user:password@``; the vendor's
    own words quote that URL too."""
    password = "Sup3rS3cretPw"
    endpoint = f"http://minio:{password}@127.0.0.1:1"
    properties = {"s3.endpoint": endpoint, "s3.access-key-id": "minio"}
    refused = ConnectionRefusedError(
        111, f'Could not connect to the endpoint URL: "{endpoint}/bucket/wh/t/data/x"'
    )
    quoted = OSError(f"Failed with {password} in the text, then {endpoint.replace(':', ' :')}")

    for exc in (refused, quoted):
        error = warehouse_error(
            exc, action="writing", properties=properties, location="s3://bucket/wh/t/data/x"
        )
        assert password not in str(error) and password not in json.dumps(error.to_dict())
        assert "minio:" not in str(error)
    error = warehouse_error(
        refused, action="writing", properties=properties, location="s3://bucket/wh/t/data/x"
    )
    assert isinstance(error, WarehouseUnreachable)
    assert "(endpoint http://127.0.0.1:1)" in str(error)  # the endpoint, without its userinfo
    assert 'endpoint URL: "http://********@127.0.0.1:1/bucket/wh/t/data/x"' in str(error)
    container = warehouse_error(
        refused,
        action="writing",
        properties={},
        location="abfs://container@account.dfs.core.windows.net/wh/t",
    )
    assert "abfs://container@account.dfs.core.windows.net" in str(container)  # not a user


def test_an_object_store_whose_client_is_not_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gcsfs" else real(name, *a)
    )
    with pytest.raises(MissingDependency, match=r"pip install 'lakefeed\[gcs\]'"):
        file_io_properties("gs://bucket/wh", {})
