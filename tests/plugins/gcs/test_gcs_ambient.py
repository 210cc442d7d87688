"""GCS's ``Application Default Credentials for google-cloud`` auth spec, through its
environment-variable branch: ``GOOGLE_APPLICATION_CREDENTIALS`` naming a service-account key
(or an authorized-user file).

fake-gcs-server checks no credentials, so the proof is around it: the key file's JWT grant,
signed with that file's key, reaches the key's ``token_uri`` (a local token endpoint), and the
token it hands out is on every request to fake-gcs (through a recording proxy), which lists
and serves the files ingested."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from identity_support import lakefeed_with, recording_proxy, token_service
from ingestion_suite import IngestSource, Scenario, expected_ids
from lakefeed import Lakefeed
from tests_support import server_env

pytestmark = pytest.mark.servers
ADC = "Application Default Credentials for google-cloud"
CLIENT_EMAIL = "reader@adc-project.iam.gserviceaccount.com"


@pytest.fixture
def google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A machine with no Google identity but what a test gives it: no credentials variable,
    no project variables, an empty gcloud configuration."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "gcloud").mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    yield monkeypatch


def service_account_file(folder: Path, token_uri: str) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = folder / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "adc-project",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": CLIENT_EMAIL,
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path, key


def jwt_claims(assertion: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The claims of a JWT grant, once its signature checks out against ``key``."""
    header, payload, signature = assertion.split(".")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    key.public_key().verify(
        unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    claims: dict[str, Any] = json.loads(unb64(payload))
    return claims


def test_service_account_from_the_environment_lists_and_ingests(
    google_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with (
        token_service() as tokens,
        recording_proxy(server_env("LAKEFEED_TEST_GCS_ENDPOINT")) as storage,
    ):
        key_file, key = service_account_file(tmp_path, f"{tokens.url}/token")
        google_env.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        params = {"serviceUrl": storage.url}
        source = IngestSource("google-cloud", ADC, params, f"/adc-{uuid.uuid4().hex[:8]}")
        scenario = Scenario(tmp_path / "home", source)
        scenario.put("a.parquet", scenario.profiles(4, 0))
        scenario.put("b.parquet", scenario.profiles(2, 50))

        run = scenario.lf.run_flow(scenario.flow())

        assert run.status == "success", run.metrics
        assert scenario.ids() == expected_ids((0, 4), (50, 2))
        assert scenario.session.fs.project == "adc-project"  # the key's project
        assert "listed" in scenario.session.test()  # one token exchange, then a listing
    # The key file's grant, signed with its key, and the token it bought on every request.
    assert tokens.grants
    for path, grant in tokens.grants:
        assert path == "/token"
        assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt_claims(grant["assertion"], key)
        assert claims["iss"] == CLIENT_EMAIL
        assert claims["scope"] == "https://www.googleapis.com/auth/devstorage.read_only"
    assert storage.requests
    issued = {f"Bearer {token}" for token in tokens.tokens}
    assert {auth for _, _, auth in storage.requests} <= issued
    stored = scenario.lf.connection(scenario.connection.id)
    assert (stored.auth.spec_name, dict(stored.auth)) == (ADC, params)


def test_authorized_user_file_and_project_override(
    google_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A user's ``gcloud auth application-default login`` file; its refresh goes to Google's
    own token endpoint (google-auth ignores another), which this offline test cannot reach."""
    user_file = tmp_path / "adc-user.json"
    user_file.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "764086051850.apps.googleusercontent.com",
                "client_secret": "user-client-secret",
                "refresh_token": "1//user-refresh-token",
            }
        )
    )
    google_env.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(user_file))
    session = Lakefeed().session_for(
        "google-cloud", {"projectId": "billing-project"}, "application-default-credentials"
    )
    credentials = session.fs.credentials.credentials
    assert type(credentials).__module__ == "google.oauth2.credentials"
    assert credentials.refresh_token == "1//user-refresh-token"
    assert session.fs.project == "billing-project"


def test_without_application_default_credentials_the_test_fails_clearly(
    google_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In a process that also skips the metadata-server probe (not on Google Cloud)."""
    home = tmp_path / "home"
    environment = {"NO_GCE_CHECK": "true"}
    endpoint = server_env("LAKEFEED_TEST_GCS_ENDPOINT")
    created = lakefeed_with(
        home, environment, "connections", "create", "g", "--spec", "google-cloud",
        "--auth", "application-default", "-p", f"serviceUrl={endpoint}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    tested = lakefeed_with(home, environment, "connections", "test", "g")
    assert tested.returncode == 1
    assert "Error LF-2401: Authentication failed" in tested.stderr, tested.stderr
    assert "default credentials were not found" in tested.stderr


def test_params_alone_never_pick_the_ambient_spec(google_env: pytest.MonkeyPatch) -> None:
    lf = Lakefeed()
    connection = lf.create_connection("g", "google-cloud", None, {"bucketName": "drop"})
    assert connection.auth.spec_name == "Anonymous Access for google-cloud"
