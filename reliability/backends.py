"""The storage backends of the test servers (tests/servers/start.sh), as connection params."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAMES = ("local", "s3", "azure-blob", "adls", "gcs", "sftp")


@dataclass(frozen=True)
class Backend:
    name: str
    spec: str
    auth_spec: str | None
    params: dict[str, Any]
    base: str  # absolute folder a scenario may fill (bucket or container first)


def server_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: start the test servers and source "
            "/tmp/lakefeed-test-servers/run/servers.env"
        )
    return value


def blob_endpoint() -> str:
    """Azurite's blob endpoint, from its connection string."""
    found = re.search(r"BlobEndpoint=([^;]+)", server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING"))
    if found is None:
        raise RuntimeError("LAKEFEED_TEST_AZURE_CONNECTION_STRING has no BlobEndpoint")
    return found.group(1).rstrip("/")


def backend(name: str, local_root: Path) -> Backend:
    params: dict[str, Any]
    if name == "local":
        return Backend(name, "local-files", None, {"rootPath": str(local_root)}, str(local_root))
    if name == "s3":
        params = {
            "s3AccessKey": "testing",
            "s3SecretKey": "testing",
            "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        }
        return Backend(name, "amazon-s3", "Access Key", params, "/lakefeed-reliability")
    if name == "azure-blob":
        params = {"connectionString": server_env("LAKEFEED_TEST_AZURE_CONNECTION_STRING")}
        return Backend(name, "azure-blob", "ConnectionString", params, "/lakefeed-reliability")
    if name == "adls":
        params = {
            "url": blob_endpoint(),
            "accountKey": server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY"),
        }
        auth = "Account Key Authentication for adls-gen2"
        return Backend(name, "adls-gen2", auth, params, "/lakefeed-reliability-adls")
    if name == "gcs":
        params = {"serviceUrl": server_env("LAKEFEED_TEST_GCS_ENDPOINT")}
        auth = "Anonymous Access for google-cloud"
        return Backend(name, "google-cloud", auth, params, "/lakefeed-reliability")
    if name == "sftp":
        params = {
            "host": server_env("LAKEFEED_TEST_SFTP_HOST"),
            "port": int(server_env("LAKEFEED_TEST_SFTP_PORT")),
            "userName": server_env("LAKEFEED_TEST_SFTP_USER"),
            "password": server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
            "knownHosts": Path(server_env("LAKEFEED_TEST_SFTP_KNOWN_HOSTS")).read_text(),
        }
        root = server_env("LAKEFEED_TEST_SFTP_ROOT")
        return Backend(name, "sftp", "Basic Authentication for sftp", params, f"{root}/reliability")
    raise ValueError(f"unknown backend {name!r} (known: {', '.join(NAMES)})")
