"""Google Cloud Storage plugin: the contract suite against fake-gcs-server through gcsfs;
a service-account key exchanged at a local OAuth token endpoint that checks the JWT signature."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lakefeed import Lakefeed
from lakefeed.errors import InvalidAuthParams
from lakefeed.testing.contract import (
    ContractBackend,
    StorageContract,
    ensure_folder,
    parquet_bytes,
    put,
    table_a,
)
from tests_support import server_env

pytestmark = pytest.mark.servers
SERVICE_ACCOUNT = "Service Account Authentication for google-cloud"


class TestGcsContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        endpoint = server_env("LAKEFEED_TEST_GCS_ENDPOINT")
        return ContractBackend(
            spec="google-cloud",
            auth_spec="Anonymous Access for google-cloud",
            params={"serviceUrl": endpoint},
            base="/lakefeed-gcs",
            no_auth_reason="fake-gcs-server checks no credentials (service accounts: see below)",
            unreachable_params={"serviceUrl": "http://127.0.0.1:1"},
            has_empty_folders=False,
        )


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def token_server() -> Iterator[tuple[str, rsa.RSAPublicKey]]:
    """A local OAuth token endpoint: grants a token only for a JWT signed by the known key."""
    trusted = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = trusted.public_key()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            assertion = urllib.parse.parse_qs(body)["assertion"][0]
            header, payload, signature = assertion.split(".")
            try:
                public.verify(
                    _unb64url(signature),
                    f"{header}.{payload}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
                status, answer = (
                    200,
                    {"access_token": "ya29.local", "expires_in": 3600, "token_type": "Bearer"},
                )
            except Exception:
                status, answer = (
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/token", trusted  # type: ignore[misc]
    finally:
        server.shutdown()


def key_json(token_uri: str, private_key: Any) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "lakefeed-test",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "ingest@lakefeed-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


def sa_session(key: str) -> Any:
    params = {"serviceAccountKey": key, "serviceUrl": server_env("LAKEFEED_TEST_GCS_ENDPOINT")}
    return Lakefeed().session_for("google-cloud", params, SERVICE_ACCOUNT)


def test_service_account_key_is_exchanged_for_a_token(token_server: tuple[str, Any]) -> None:
    uri, trusted = token_server
    anon = Lakefeed().session_for(
        "google-cloud",
        {"serviceUrl": server_env("LAKEFEED_TEST_GCS_ENDPOINT")},
        "Anonymous Access for google-cloud",
    )
    ensure_folder(anon.fs, "sa-bucket")
    put(anon, {"/sa-bucket/x.parquet": b"PAR1"})
    session = sa_session(key_json(uri, trusted))
    assert [e.name for e in session.ls("/sa-bucket")] == ["x.parquet"]


def test_service_account_with_an_untrusted_key_fails_authentication(
    token_server: tuple[str, Any],
) -> None:
    from lakefeed.errors import StorageAuthenticationFailed

    uri, _ = token_server
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = key_json(uri, stranger)
    with pytest.raises(StorageAuthenticationFailed) as caught:
        sa_session(key).test()
    assert "PRIVATE KEY" not in str(caught.value)


def test_service_account_key_must_be_json() -> None:
    with pytest.raises(InvalidAuthParams, match="not valid JSON"):
        sa_session("{not json").test()
    with pytest.raises(InvalidAuthParams, match="client_email"):
        sa_session(json.dumps({"type": "service_account"})).test()


def test_hmac_keys_read_through_the_xml_api() -> None:
    """HMAC keys go through GCS's S3-compatible XML API (s3fs). fake-gcs-server answers the
    read side of that API (list, HEAD, ranged GET); it checks no signature, so this proves the
    protocol path, not the key check."""
    endpoint = server_env("LAKEFEED_TEST_GCS_ENDPOINT")
    lf = Lakefeed()
    anon = lf.session_for(
        "google-cloud", {"serviceUrl": endpoint}, "Anonymous Access for google-cloud"
    )
    ensure_folder(anon.fs, "hmac-bucket")
    put(anon, {"/hmac-bucket/in/a.parquet": parquet_bytes(table_a(0, 7))})
    hmac = lf.session_for(
        "google-cloud",
        {
            "accessKeyId": "GOOG1EXAMPLE",
            "secretAccessKey": "hmac-secret",
            "serviceUrl": endpoint,
            "bucketName": "hmac-bucket",
        },
        "Basic Authentication for google-cloud",
    )
    assert type(hmac.fs).__module__.startswith("s3fs")
    assert [e.path for e in hmac.ls("in")] == ["hmac-bucket/in/a.parquet"]
    assert hmac.inspect_file("in/a.parquet").num_rows == 7
