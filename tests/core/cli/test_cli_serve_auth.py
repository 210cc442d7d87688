"""``lakefeed serve``, ``auth``, ``sandboxes`` and ``--server``: a real server on loopback, the
CLI in-process as its client."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from api_support import ORG, Server, running_server
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, profile_table
from tests_support import LAKEFEED_CLI, first_answer, free_port

RunCli = Callable[..., Result]
REMOTE_ENV = ("LAKEFEED_SERVER", "LAKEFEED_API_KEY", "LAKEFEED_CLIENT_SECRET", "LAKEFEED_ORG")


@pytest.fixture(autouse=True)
def _no_remote_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*REMOTE_ENV, "LAKEFEED_SANDBOX"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over the same LAKEFEED_HOME the in-process CLI uses; local-files connections
    may read the session's temporary folders."""
    home, tmp = Path(os.environ["LAKEFEED_HOME"]), tmp_path_factory.getbasetemp()
    with running_server(home, local_roots=[tmp]) as running:
        yield running


def test_serve_starts_and_answers(tmp_path: Path) -> None:
    port = free_port()
    command = LAKEFEED_CLI
    drops = tmp_path / "drops"
    env = {
        **os.environ,
        "LAKEFEED_HOME": str(tmp_path / "home"),
        "LAKEFEED_LOCAL_ROOTS": str(drops),
    }
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        answer = first_answer(process, f"{url}/openapi.json")
        assert answer.status_code == 200 and answer.json()["info"]["title"] == "lakefeed"
        refused = httpx.get(f"{url}/data/foundation/flowservice/connectionSpecs")
        assert refused.status_code == 401 and refused.json()["report"]["code"] == "LF-2001"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"may read only under LAKEFEED_LOCAL_ROOTS={drops}" in stderr.decode()


def test_serve_binds_loopback_unless_allowed(run_cli: RunCli) -> None:
    refused = run_cli("serve", "--host", "0.0.0.0", code=1)
    assert "LF-1001" in refused.stderr and "--allow-remote" in refused.stderr


def test_serve_refuses_an_allow_list_entry_it_cannot_read(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = run_cli("serve", "--allow-endpoint", "minio internal", code=1)
    assert "LF-1001" in refused.stderr and "'minio internal' is not an endpoint" in refused.stderr
    monkeypatch.setenv("LAKEFEED_ALLOW_ENDPOINTS", "127.0.0.1:5000,10.0.0.0/33")
    refused = run_cli("serve", code=1)
    assert "'10.0.0.0/33' is not an endpoint to allow" in refused.stderr


def test_auth_create_client_and_token(run_cli: RunCli, server: Server) -> None:
    created = json.loads(run_cli("auth", "create-client", "--org", ORG, "--json").stdout)
    assert set(created) == {"apiKey", "clientSecret"}
    form = {
        "client_id": created["apiKey"],
        "client_secret": created["clientSecret"],
        "grant_type": "client_credentials",
    }
    assert httpx.post(f"{server.url}/ims/token/v3", data=form).status_code == 200
    human = run_cli("auth", "create-client", "--org", ORG)
    assert "clientSecret" in human.stdout and "shown only now" in human.stderr

    issued = json.loads(
        run_cli("auth", "token", "--org", ORG, "--api-key", created["apiKey"], "--json").stdout
    )
    assert issued["token_type"] == "bearer" and issued["expires_in"] > 0
    assert issued["apiKey"] == created["apiKey"]
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "x-api-key": issued["apiKey"],
        "x-gw-ims-org-id": ORG,
        "x-sandbox-name": "prod",
    }
    answer = httpx.get(f"{server.url}/data/foundation/flowservice/connectionSpecs", headers=headers)
    assert answer.status_code == 200 and answer.json()["items"]

    # Another org has no client yet: one is created, and its token works too.
    other = json.loads(run_cli("auth", "token", "--org", "OTHER@AdobeOrg", "--json").stdout)
    headers |= {
        "Authorization": f"Bearer {other['access_token']}",
        "x-api-key": other["apiKey"],
        "x-gw-ims-org-id": "OTHER@AdobeOrg",
    }
    answer = httpx.get(f"{server.url}/data/foundation/flowservice/connectionSpecs", headers=headers)
    assert answer.status_code == 200
    unknown = run_cli("auth", "token", "--org", ORG, "--api-key", "nope", code=1)
    assert "LF-1104" in unknown.stderr


def test_sandboxes_create_and_list(run_cli: RunCli) -> None:
    made = json.loads(run_cli("sandboxes", "create", "dev", "--org", ORG, "--json").stdout)
    assert made == {"name": "dev", "type": "development", "imsOrgId": ORG}
    run_cli("sandboxes", "create", "stage", "--org", ORG, "--type", "production")
    listed = json.loads(run_cli("sandboxes", "list", "--org", ORG, "--json").stdout)
    assert [(s["name"], s["type"]) for s in listed["items"]] == [
        ("dev", "development"),
        ("prod", "production"),
        ("stage", "production"),
    ]
    assert "LF-1103" in run_cli("sandboxes", "create", "dev", "--org", ORG, code=1).stderr
    assert "LF-1001" in run_cli("sandboxes", "create", "Bad_Name", "--org", ORG, code=1).stderr
    assert "stage" in run_cli("sandboxes", "list", "--org", ORG).stdout
    # A client limited to a sandbox that exists:
    run_cli("auth", "create-client", "--org", ORG, "--sandbox", "dev")
    assert (
        "LF-2101" in run_cli("auth", "create-client", "--org", ORG, "--sandbox", "x", code=1).stderr
    )


# --- --server --------------------------------------------------------------------------------


def remote(server: Server, run_cli: RunCli) -> Callable[..., Result]:
    created = json.loads(run_cli("auth", "create-client", "--org", ORG, "--json").stdout)

    def run(*args: str, code: int = 0) -> Result:
        return run_cli(
            "--server", server.url, "--api-key", created["apiKey"],
            "--client-secret", created["clientSecret"], "--org", ORG, *args, code=code,
        )  # fmt: skip

    return run


def test_server_connections_list_and_show(run_cli: RunCli, server: Server, tmp_path: Path) -> None:
    scoped = server.lf.scoped(Scope(ORG, "prod"))
    for name in ("raw", "archive"):
        scoped.create_connection(name, "local-files", None, {"rootPath": str(tmp_path)})
    over_http = remote(server, run_cli)
    listed = json.loads(over_http("connections", "list", "--json").stdout)
    assert listed == {
        "items": [c.to_dict() for c in scoped.connections.list()],
        "count": 2,
    }
    shown = json.loads(over_http("connections", "show", "raw", "--json").stdout)
    assert shown == {"items": [scoped.connection("raw").to_dict()]}
    table = over_http("connections", "list").stdout
    assert "archive" in table and "local-files" in table
    assert "LF-1101" in over_http("connections", "show", "nope", code=1).stderr
    # Locally, org "local" has no connection: the two views are different installations.
    assert json.loads(run_cli("connections", "list", "--json").stdout)["count"] == 0


def test_server_refuses_local_only_commands_and_needs_credentials(
    run_cli: RunCli, server: Server
) -> None:
    refused = run_cli("--server", server.url, "connections", "create", "x", "--spec", "s", code=1)
    assert "`lakefeed connections create` does not work with --server" in refused.stderr
    assert "flows run" in refused.stderr
    assert run_cli("--server", server.url, "connections", "create", "--help").exit_code == 0
    missing = run_cli("--server", server.url, "connections", "list", code=1)
    assert "LAKEFEED_API_KEY" in missing.stderr and "LAKEFEED_CLIENT_SECRET" in missing.stderr
    wrong = run_cli(
        "--server", server.url, "--api-key", "k", "--client-secret", "p8e-wrong",
        "--org", ORG, "connections", "list", code=1,
    )  # fmt: skip
    assert "LF-2001" in wrong.stderr and "p8e-wrong" not in wrong.stderr


def _flow_on_server(server: Server, tmp_path: Path) -> str:
    """A `once` flow of org ORG over a folder with 10 profiles, one of them bad."""
    lf = server.lf.scoped(Scope(ORG, "prod"))
    tenant = lf.schemas.tenant_id
    root = tmp_path / "landing"
    root.mkdir()
    table = profile_table(10, tenant_id=tenant, bad={3: "gender"})
    pq.write_table(table.drop_columns([f"_{tenant}"]), root / "a.parquet")
    schema = lf.schemas.create_schema("Remote", PROFILE_CLASS, list(PROFILE_FIELD_GROUPS))
    dataset = lf.datasets.create("remote-profiles", schema["$id"])
    base = lf.create_connection("landing", "local-files", None, {"rootPath": str(root)})
    source = lf.flows.create_source_connection(name="s", base_connection_id=base.id, path=".")
    target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name="remote",
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
        options={"partialIngestionPercent": 50},
    )
    return str(flow.id)


def test_server_flows_run_show_and_runs(run_cli: RunCli, server: Server, tmp_path: Path) -> None:
    flow_id = _flow_on_server(server, tmp_path)
    over_http = remote(server, run_cli)
    run = json.loads(over_http("flows", "run", "remote", "--json", code=3).stdout)  # 1 bad row
    assert run["flowId"] == flow_id and run["state"] == "completed"
    assert run["metrics"]["statusSummary"]["status"] == "success"
    assert run["metrics"]["statusSummary"]["extensions"]["outcome"] == "partial"
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == 9
    runs = json.loads(over_http("runs", "list", "--flow", "remote", "--json").stdout)
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert json.loads(over_http("runs", "show", run["id"], "--json").stdout)["items"][0] == run
    flows = json.loads(over_http("flows", "list", "--json").stdout)
    assert [f["id"] for f in flows["items"]] == [flow_id]
    shown = json.loads(over_http("flows", "show", flow_id, "--json").stdout)["items"][0]
    assert shown["name"] == "remote"
    summary = over_http("runs", "show", run["id"]).stdout
    assert "partial" in summary and "INGEST-1212-400" in summary
    assert "remote" in over_http("runs", "list").stdout
    retry = over_http("flows", "run", "remote", "--retry-failed", code=1)
    assert "--retry-failed works only locally" in retry.stderr


def test_server_datasets_list_and_show(run_cli: RunCli, server: Server, tmp_path: Path) -> None:
    """Needs the Catalog routes (and the Schema Registry's for the human tables)."""
    _flow_on_server(server, tmp_path)
    over_http = remote(server, run_cli)
    listed = json.loads(over_http("datasets", "list", "--json").stdout)
    assert [d["name"] for d in listed["items"]] == ["remote-profiles"]
    shown = json.loads(over_http("datasets", "show", "remote-profiles", "--json").stdout)
    assert shown["id"] == listed["items"][0]["id"] and shown["batchCount"] == 0
    assert "Remote" in over_http("datasets", "list").stdout
    human = over_http("flows", "show", "remote").stdout
    assert "landing" in human and "remote-profiles" in human and "every" not in human


def test_serve_with_the_scheduler_runs_due_flows(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from lakefeed import Lakefeed
    from lakefeed.testing.profiles import create_profile_schema, profile_table

    home, drops = tmp_path / "home", tmp_path / "drops"
    drops.mkdir()
    pq.write_table(profile_table(25), drops / "a.parquet")
    lf = Lakefeed(home=home)
    connection = lf.create_connection("drops", "local-files", None, {"rootPath": str(drops)})
    dataset = lf.datasets.create("profiles", create_profile_schema(lf.schemas)["$id"])
    source = lf.flows.create_source_connection(
        name="s", base_connection_id=connection.id, path=".", recursive=True,
        data_format="parquet_xdm",
    )  # fmt: skip
    target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
    schedule = {"startTime": int(time.time()), "frequency": "hour", "interval": 1}
    flow = lf.flows.create_flow(name="hourly", source_connection_ids=[source.id],
                                target_connection_ids=[target.id], schedule=schedule)  # fmt: skip
    port = free_port()
    # Runs of the in-process scheduler read local files only under LAKEFEED_LOCAL_ROOTS.
    process = serve_with_scheduler(port, home, env={"LAKEFEED_LOCAL_ROOTS": str(drops)})
    try:
        wait_for_a_completed_run(lf, flow.id, process)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "lakefeed_scheduler_windows_claimed_total 1" in metrics
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    # uvicorn shuts down cleanly (lifespan, scheduler stop), then re-raises SIGTERM.
    assert process.returncode in (0, -15), stderr.decode()
    (run,) = lf.runs.list(flow.id)
    assert run.status == "success" and lf.datasets.read(dataset).num_rows == 25
    assert "scheduler" in stderr.decode() and "stopped" in stderr.decode()


def serve_with_scheduler(
    port: int, home: Path, *options: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`lakefeed serve --scheduler` on ``port`` over ``home``, with ``env`` added."""
    return subprocess.Popen(
        [*LAKEFEED_CLI, "serve", "--port",
         str(port), "--log-level", "warning", "--scheduler", "--poll", "0.2", *options],
        env={**os.environ, "LAKEFEED_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_for_a_completed_run(lf: Any, flow_id: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not [r for r in lf.runs.list(flow_id) if r.state == "completed"]:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the in-process scheduler did not run the flow"
        time.sleep(0.2)


def test_serve_confines_endpoints_for_api_clients_and_its_scheduler(tmp_path: Path) -> None:
    """`lakefeed serve` refuses loopback endpoints unless LAKEFEED_ALLOW_ENDPOINTS or
    --allow-endpoint allow them — for connections created over HTTP and for the runs of its
    scheduler, whose connections were stored with the (unrestricted) Python API."""
    from faultproxy import SilentServer
    from lakefeed import Lakefeed
    from lakefeed.testing.profiles import create_profile_schema

    home = tmp_path / "home"
    lf = Lakefeed(home=home)
    allowed_port = free_port()
    with SilentServer() as silent:
        s3 = {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": silent.url}
        connection = lf.create_connection("loopback", "amazon-s3", None, s3)
        dataset = lf.datasets.create("profiles", create_profile_schema(lf.schemas)["$id"])
        source = lf.flows.create_source_connection(
            name="s", base_connection_id=connection.id, path="bucket/in"
        )
        target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
        schedule = {"startTime": int(time.time()), "frequency": "hour", "interval": 1}
        flow = lf.flows.create_flow(
            name="hourly", source_connection_ids=[source.id], target_connection_ids=[target.id],
            schedule=schedule,
        )  # fmt: skip
        port = free_port()
        process = serve_with_scheduler(
            port, home, "--allow-endpoint", f"127.0.0.1:{allowed_port}",
            env={"LAKEFEED_ALLOW_ENDPOINTS": "10.0.0.0/8"},
        )  # fmt: skip
        try:
            wait_for_a_completed_run(lf, flow.id, process)
            with Server(f"http://127.0.0.1:{port}", lf, home, None).client() as api:
                fs = "/data/foundation/flowservice/connections"

                def create(url: str) -> httpx.Response:
                    params = {"s3AccessKey": "a", "s3SecretKey": "s", "serviceUrl": url}
                    return api.post(fs, json={
                        "name": f"s3 {url}",
                        "auth": {"specName": "Access Key", "params": params},
                        "connectionSpec": {"id": "ecadc60c-7455-4d87-84dc-2a0e293d997b"},
                    })  # fmt: skip

                assert create(f"http://127.0.0.1:{allowed_port}").status_code == 201
                assert create("http://10.1.2.3:9000").status_code == 201
                refused = create(silent.url)
                assert refused.status_code == 403, refused.text
                assert refused.json()["report"]["code"] == "LF-2121"
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=60)
        assert silent.accepted == 0  # neither the scheduler's run nor anything else reached it
    (run,) = lf.runs.list(flow.id)
    assert run.status == "failed"
    (error,) = run.metrics["statusSummary"]["errors"]
    assert error["code"] == "LF-2121" and f"127.0.0.1:{silent.port}" in error["message"]
    assert f"except LAKEFEED_ALLOW_ENDPOINTS=10.0.0.0/8,127.0.0.1:{allowed_port}" in (
        stderr.decode()
    )
