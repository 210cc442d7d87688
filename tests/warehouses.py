"""Object-store warehouses on the test servers, a fresh bucket (or container) each: the URI and
FileIO options lakefeed is given, and a filesystem signed in apart from lakefeed to see what
the store holds."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests_support import server_env

#: The S3 test servers a warehouse may be on.
S3_SERVERS = ("moto", "rgw")


@dataclass
class Warehouse:
    uri: str  # LAKEFEED_WAREHOUSE
    options: dict[str, str]  # its FileIO properties
    fs: Any  # fsspec filesystem on the same store, for the tests' own checks
    bucket: str

    def use(self, monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
        """Point lakefeed (this process and its children) at the warehouse: the options go in
        a 0600 file, as operators are told to keep them."""
        options_file = folder / f"warehouse-{uuid.uuid4().hex[:6]}.json"
        options_file.write_text(json.dumps(self.options))
        options_file.chmod(0o600)
        monkeypatch.setenv("LAKEFEED_WAREHOUSE", self.uri)
        monkeypatch.setenv("LAKEFEED_WAREHOUSE_OPTIONS_FILE", str(options_file))
        return options_file

    def stored(self) -> list[str]:
        """Every object in the bucket, as ``bucket/key``."""
        self.fs.invalidate_cache()
        return sorted(self.fs.find(self.bucket))


def s3_warehouse(server: str) -> Warehouse:
    """A fresh bucket on moto or Ceph RGW, with a warehouse under ``/wh`` in it."""
    import s3fs

    if server == "moto":
        endpoint, key, secret = server_env("LAKEFEED_TEST_S3_ENDPOINT"), "testing", "testing"
    else:
        endpoint = server_env("LAKEFEED_TEST_RGW_ENDPOINT")
        key = server_env("LAKEFEED_TEST_RGW_ACCESS_KEY")
        secret = server_env("LAKEFEED_TEST_RGW_SECRET_KEY")
    fs = s3fs.S3FileSystem(
        key=key, secret=secret, client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True
    )
    bucket = f"lf-wh-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    options = {"s3.endpoint": endpoint, "s3.access-key-id": key, "s3.secret-access-key": secret}
    return Warehouse(f"s3://{bucket}/wh", options, fs, bucket)


def gcs_warehouse() -> Warehouse:
    """A fresh bucket on fake-gcs-server (anonymous, as the emulator is)."""
    import gcsfs

    endpoint = server_env("LAKEFEED_TEST_GCS_ENDPOINT")
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    fs = gcsfs.GCSFileSystem(endpoint_url=endpoint, token="anon", skip_instance_cache=True)
    bucket = f"lf-wh-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    options = {
        "gcs.service.host": endpoint,
        "gcs.oauth2.token": "anon",
        "gcs.project-id": "lakefeed-test",
    }
    return Warehouse(f"gs://{bucket}/wh", options, fs, bucket)


def azure_warehouse() -> Warehouse:
    """A fresh container on Azurite, as an ``abfs://container@account.dfs…`` warehouse."""
    import adlfs

    connection_string = server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")
    account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
    fs = adlfs.AzureBlobFileSystem(connection_string=connection_string, skip_instance_cache=True)
    container = f"lf-wh-{uuid.uuid4().hex[:12]}"
    fs.mkdir(container)
    uri = f"abfs://{container}@{account}.dfs.core.windows.net/wh"
    return Warehouse(uri, {"adls.connection-string": connection_string}, fs, container)
