"""Local stand-ins for the identity services of the clouds, for tests of ambient credentials.

- :class:`TokenService`: an OAuth 2.0 token endpoint (Microsoft Entra's
  ``/{tenant}/oauth2/v2.0/token``, Google's ``token_uri``) that records every grant it is sent
  and answers with an access token of its own.
- :class:`RecordingProxy`: a reverse proxy in front of a test server that records the
  ``Authorization`` header of every request (so a test sees which token reached the storage)
  and passes requests and answers through unchanged.

Both listen on 127.0.0.1 only, over plain HTTP or, with :func:`self_signed_certificate`, over
HTTPS (Azure's SDK sends tokens over TLS only).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Headers that describe one hop of a connection, not the message (RFC 9110 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "localhost.pem", folder / "localhost.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def _serving(
    handler: type[BaseHTTPRequestHandler], tls: tuple[Path, Path] | None, state: Any
) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class TokenService:
    """What the token endpoint saw and handed out. ``refuse``: answer every grant with
    ``invalid_client`` (a wrong secret)."""

    url: str = ""
    grants: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    refuse: bool = False


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        state: TokenService = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        state.grants.append((urlsplit(self.path).path, form))
        if state.refuse:
            status, answer = (
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        else:
            token = f"test-token-{uuid.uuid4().hex}"
            state.tokens.append(token)
            status, answer = (
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "ext_expires_in": 3600,
                },
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def token_service(
    tls: tuple[Path, Path] | None = None, *, refuse: bool = False
) -> Iterator[TokenService]:
    """A :class:`TokenService` listening until the block ends."""
    state = TokenService(refuse=refuse)
    with _serving(_TokenHandler, tls, state) as url:
        state.url = url
        yield state


@dataclass
class RecordingProxy:
    """What went through the proxy: ``(method, path, Authorization header or None)``."""

    url: str = ""
    upstream: str = ""
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        state: RecordingProxy = self.server.state  # type: ignore[attr-defined]
        state.requests.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = urlsplit(state.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        headers["Host"] = upstream.netloc
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_HEADERS | {"content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _relay


@contextmanager
def recording_proxy(
    upstream: str, tls: tuple[Path, Path] | None = None
) -> Iterator[RecordingProxy]:
    """A :class:`RecordingProxy` in front of ``upstream`` (an http URL) until the block ends."""
    state = RecordingProxy(upstream=upstream)
    with _serving(_ProxyHandler, tls, state) as url:
        state.url = url
        yield state


# --- Azure: a service principal from the environment, against Azurite -------------------------

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "4b1c7c5e-2d3a-4c4e-9f1a-0c7d5b3e6a21"
CLIENT_SECRET = "sp-secret-from-the-environment"
STORAGE_SCOPE = "https://storage.azure.com/.default"


def entra_environment(authority: str, cert_file: Path) -> dict[str, str]:
    """The variables azure-identity's EnvironmentCredential reads for a service principal
    with a client secret, its token requests sent to ``authority`` (trusted through
    ``cert_file``)."""
    return {
        "AZURE_TENANT_ID": TENANT_ID,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "AZURE_AUTHORITY_HOST": authority,
        "SSL_CERT_FILE": str(cert_file),
    }


def public_container(connection_string: str, files: dict[str, bytes]) -> str:
    """A new Azurite container whose blobs anyone may list and read, holding ``files``.
    Azurite does not check Microsoft Entra tokens (it has no Entra ID to ask): on a public
    container it answers requests that carry one, as Azure would once the token checks out."""
    from azure.storage.blob import BlobServiceClient, PublicAccess

    name = f"entra-{uuid.uuid4().hex[:10]}"
    with BlobServiceClient.from_connection_string(connection_string) as service:
        service.create_container(name, public_access=PublicAccess.Container)
        for path, data in files.items():
            service.get_blob_client(name, path).upload_blob(data)
    return name


def lakefeed_with(
    home: Path, environment: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The ``lakefeed`` CLI in a subprocess whose environment also holds ``environment``: a
    process that starts with its identity in its variables, as a deployed one does (TLS trust
    included, which a running process reads once)."""
    cli = Path(sys.executable).with_name("lakefeed")
    return subprocess.run(
        [str(cli), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **environment, "LAKEFEED_HOME": str(home), "COLUMNS": "200"},
    )


@dataclass
class EntraWorld:
    """A service principal for the environment, the token endpoint it asks, and Azurite
    behind a TLS terminator (``storage``) that records the token of every request."""

    tokens: TokenService
    storage: RecordingProxy
    environment: dict[str, str]
    container: str
    account: str

    @property
    def account_url(self) -> str:
        """Azurite's account, path-style, through the TLS terminator."""
        return f"{self.storage.url}/{self.account}"

    def bearer_tokens(self) -> set[str | None]:
        """The Authorization headers the storage saw."""
        return {auth for _, _, auth in self.storage.requests}


@contextmanager
def entra_world(
    folder: Path, connection_string: str, account: str, files: dict[str, bytes]
) -> Iterator[EntraWorld]:
    """An :class:`EntraWorld` whose public container holds ``files``, until the block ends."""
    certificate = self_signed_certificate(folder)
    container = public_container(connection_string, files)
    blob_endpoint = next(
        part.split("=", 1)[1]
        for part in connection_string.split(";")
        if part.lower().startswith("blobendpoint=")
    )
    upstream = "{0.scheme}://{0.netloc}".format(urlsplit(blob_endpoint))
    with token_service(certificate) as tokens, recording_proxy(upstream, certificate) as storage:
        yield EntraWorld(
            tokens,
            storage,
            entra_environment(tokens.url, certificate[0]),
            container,
            account,
        )
