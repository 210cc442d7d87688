"""Server-side request forgery probes against ``lakefeed serve``.

Without an allow-list, every connection whose endpoint is (or resolves to) a loopback,
link-local, private or unspecified address must be refused with 403 — on create, on PATCH of
a connection that pointed elsewhere, and on ``/test`` and ``/explore`` of such a connection
stored before (through the Python API, which is not restricted) — and no answer may echo what
the endpoint would have said (an SSH banner, an HTTP status line, an S3 or Azure XML body).
With ``LAKEFEED_ALLOW_ENDPOINTS`` or ``serve --allow-endpoint``, the allowed emulator
endpoints work and the others are still refused.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from reliability.backends import blob_endpoint, server_env
from reliability.support import ORG, Context, Outcome, api_client, child_env, serving

NAME = "ssrf"
CONNECTIONS = "/data/foundation/flowservice/connections"
#: What a reached endpoint says, which must never come back in an answer.
BANNERS = ("SSH-2.0", "HTTP/1.", "Werkzeug", "<?xml", "Azurite", "ListAllMyBucketsResult")
#: Ways of writing a non-public host, for S3's serviceUrl.
HOSTS = (
    "127.0.0.1",
    "localhost",
    "LOCALHOST.",
    "169.254.169.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "0",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[fe80::1]",
    "[fd00::1]",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "017700000001",
    "127.1",
    "0x7f.1",
)
PUBLIC = "8.8.8.8"  # only stored, never contacted


def s3(host: str, port: int | None = None) -> tuple[str, str, dict[str, Any]]:
    where = f"{host}:{port}" if port else host
    params = {"s3AccessKey": "testing", "s3SecretKey": "testing", "serviceUrl": f"http://{where}"}
    return "amazon-s3", "Access Key", params


def azure_string(endpoint: str) -> str:
    account = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_NAME")
    key = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY")
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint={endpoint};"
    )


def probes() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(label, spec, auth spec, params) of connections that must be refused."""
    moto_port = urlsplit(server_env("LAKEFEED_TEST_S3_ENDPOINT")).port or 5000
    blob = blob_endpoint()
    key = server_env("LAKEFEED_TEST_AZURE_ACCOUNT_KEY")
    sftp_port = int(server_env("LAKEFEED_TEST_SFTP_PORT"))
    found: list[tuple[str, str, str, dict[str, Any]]] = [
        (f"s3 serviceUrl {host}", *s3(host, moto_port)) for host in HOSTS
    ]
    gcs = "Anonymous Access for google-cloud"
    for url in (
        server_env("LAKEFEED_TEST_GCS_ENDPOINT"),
        "http://169.254.169.254",
        "http://[::1]:4443",
    ):
        found.append((f"gcs serviceUrl {url}", "google-cloud", gcs, {"serviceUrl": url}))
    for endpoint in (blob, "http://169.254.169.254/metadata", "http://10.1.2.3/acct"):
        params = {"connectionString": azure_string(endpoint)}
        found.append((f"azure BlobEndpoint {endpoint}", "azure-blob", "ConnectionString", params))
    sas = {"sasUri": f"{blob}/probe?sv=2021-08-06&ss=b&srt=co&sp=rl&sig=c2lnbmF0dXJl"}
    found.append(("azure SAS URI on loopback", "azure-blob", "SAS URI Authentication", sas))
    adls_key = "Account Key Authentication for adls-gen2"
    found.append(
        ("adls account URL on loopback", "adls-gen2", adls_key, {"url": blob, "accountKey": key})
    )
    adls_string = "Connection String Authentication for adls-gen2"
    params = {"connectionString": azure_string(blob)}
    found.append(("adls BlobEndpoint on loopback", "adls-gen2", adls_string, params))
    sftp = "Basic Authentication for sftp"
    for host, port in (
        ("127.0.0.1", sftp_port),
        ("localhost", sftp_port),
        ("::1", 22),
        ("169.254.169.254", 22),
        ("127.0.0.1", moto_port),
    ):
        sftp_params: dict[str, Any] = {"host": host, "port": port, "userName": "u", "password": "p"}
        found.append((f"sftp host {host}:{port}", "sftp", sftp, sftp_params))
    return found


def public_twin(spec: str, auth_spec: str, params: dict[str, Any]) -> dict[str, Any]:
    """The same params with a public endpoint (for PATCH probes)."""
    twin = dict(params)
    if "serviceUrl" in twin:
        twin["serviceUrl"] = f"http://{PUBLIC}:9000"
    elif "connectionString" in twin:
        twin["connectionString"] = azure_string(f"http://{PUBLIC}/acct")
    elif "sasUri" in twin:
        twin["sasUri"] = f"http://{PUBLIC}/acct/probe?sv=2021-08-06&sig=c2lnbmF0dXJl"
    elif "url" in twin:
        twin["url"] = f"http://{PUBLIC}/acct"
    elif "host" in twin:
        twin["host"] = PUBLIC
    return twin


def body(spec: str, auth_spec: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"probe-{uuid.uuid4().hex[:10]}",
        "auth": {"specName": auth_spec, "params": params},
        "connectionSpec": {"id": spec, "version": "1.0"},
    }


def echoed(text: str) -> str | None:
    return next((banner for banner in BANNERS if banner in text), None)


def run(ctx: Context) -> list[Outcome]:
    from lakefeed import Lakefeed
    from lakefeed.catalog.records import Scope

    root = ctx.folder("ssrf")
    home = root / "home"
    lf = Lakefeed(home=home, scope=Scope(ims_org_id=ORG, sandbox_name="prod"))
    # Stored through the Python API (unrestricted), then used over REST.
    stored = {
        label: lf.create_connection(f"stored-{n}", spec, auth, params).id
        for n, (label, spec, auth, params) in enumerate(probes())
        if label.startswith(
            ("s3 serviceUrl 127.0.0.1", "sftp host 127.0.0.1", "azure BlobEndpoint http://127")
        )
    }
    refused = Outcome(
        f"{NAME}: no allow-list", "403 each; nothing of the endpoint echoed", unit="probes"
    )
    refused.lost = refused.duplicated = None
    with (
        serving(home, log=root / "serve.log", env=child_env(home)) as serve,
        api_client(serve, home) as api,
    ):
        for label, spec, auth, params in probes():
            probe_create(api, refused, label, spec, auth, params)
            probe_patch(api, refused, label, spec, auth, params)
        for label, connection_id in stored.items():
            for use in ("test", "explore"):
                answer = api.get(f"{CONNECTIONS}/{connection_id}/{use}")
                expect(refused, f"/{use} of stored {label}", answer, {403})
    allowed = Outcome(f"{NAME}: allow-list", "allowed endpoints work; others 403", unit="probes")
    allowed.lost = allowed.duplicated = None
    moto = urlsplit(server_env("LAKEFEED_TEST_S3_ENDPOINT"))
    for how, args, env in (
        ("LAKEFEED_ALLOW_ENDPOINTS=127.0.0.1", (), {"LAKEFEED_ALLOW_ENDPOINTS": "127.0.0.1"}),
        ("LAKEFEED_ALLOW_ENDPOINTS=127.0.0.0/8", (), {"LAKEFEED_ALLOW_ENDPOINTS": "127.0.0.0/8"}),
        (
            f"--allow-endpoint {moto.hostname}:{moto.port}",
            ("--allow-endpoint", f"{moto.hostname}:{moto.port}"),
            {},
        ),
    ):
        try:
            with (
                serving(home, *args, log=root / "serve.log", env=child_env(home, **env)) as serve,
                api_client(serve, home) as api,
            ):
                probe_allowed(api, allowed, how, stored, port_only=bool(args))
        except RuntimeError as exc:
            allowed.fail(f"{how}: {exc}")
    return [refused, allowed]


def expect(outcome: Outcome, label: str, answer: Any, statuses: set[int]) -> None:
    outcome.trials += 1
    if answer.status_code not in statuses:
        outcome.fail(
            f"{label}: {answer.status_code}, expected {sorted(statuses)}: {answer.text[:160]}"
        )
    banner = echoed(answer.text)
    if banner is not None:
        outcome.fail(f"{label}: the answer echoes the endpoint ({banner!r}): {answer.text[:160]}")


def probe_create(
    api: Any, outcome: Outcome, label: str, spec: str, auth: str, params: dict[str, Any]
) -> None:
    answer = api.post(CONNECTIONS, json=body(spec, auth, params))
    expect(outcome, f"create {label}", answer, {403})
    if answer.status_code == 201:  # stored although it should not be: is it usable?
        connection_id = answer.json()["id"]
        expect(
            outcome,
            f"/test of created {label}",
            api.get(f"{CONNECTIONS}/{connection_id}/test"),
            {403},
        )


def probe_patch(
    api: Any, outcome: Outcome, label: str, spec: str, auth: str, params: dict[str, Any]
) -> None:
    created = api.post(CONNECTIONS, json=body(spec, auth, public_twin(spec, auth, params)))
    if created.status_code != 201:
        outcome.trials += 1
        outcome.fail(
            f"create with a public endpoint for {label}: {created.status_code} {created.text[:160]}"
        )
        return
    connection_id, etag = created.json()["id"], created.json()["etag"]
    key = next(
        k for k in ("serviceUrl", "connectionString", "sasUri", "url", "host") if k in params
    )
    patch = [{"op": "replace", "path": f"/auth/params/{key}", "value": params[key]}]
    if key == "host":
        patch.append({"op": "replace", "path": "/auth/params/port", "value": params["port"]})
    answer = api.patch(f"{CONNECTIONS}/{connection_id}", json=patch, headers={"If-Match": etag})
    expect(outcome, f"PATCH to {label}", answer, {403})


def probe_allowed(
    api: Any, outcome: Outcome, how: str, stored: dict[str, str], *, port_only: bool
) -> None:
    moto = urlsplit(server_env("LAKEFEED_TEST_S3_ENDPOINT"))
    created = api.post(CONNECTIONS, json=body(*s3(moto.hostname or "127.0.0.1", moto.port)))
    expect(outcome, f"{how}: create s3 on moto", created, {201})
    if created.status_code == 201:
        answer = api.get(f"{CONNECTIONS}/{created.json()['id']}/test")
        outcome.trials += 1
        if answer.status_code != 200:
            outcome.fail(f"{how}: /test of moto answered {answer.status_code}: {answer.text[:160]}")
    s3_stored = next(v for k, v in stored.items() if k.startswith("s3 "))
    outcome.trials += 1
    answer = api.get(f"{CONNECTIONS}/{s3_stored}/test")
    if answer.status_code != 200:
        outcome.fail(f"{how}: /test of the stored moto connection: {answer.status_code}")
    for host in ("169.254.169.254", "10.0.0.1", "[::1]" if not port_only else "127.0.0.1"):
        port = 9 if port_only else None
        expect(
            outcome,
            f"{how}: create s3 on {host}:{port}",
            api.post(CONNECTIONS, json=body(*s3(host, port))),
            {403},
        )
    if port_only:
        params = {"connectionString": azure_string(blob_endpoint())}
        answer = api.post(CONNECTIONS, json=body("azure-blob", "ConnectionString", params))
        expect(outcome, f"{how}: Azurite (another port)", answer, {403})
