"""docs/how-to/deploy.md, command by command: every ``$`` line of the guide runs here, in the
guide's order, on the test servers' PostgreSQL and an S3 warehouse on moto. Values the guide
writes for a real site (hosts, passwords, buckets, ports, /etc paths) are replaced by the test's
own; the commands themselves are run as written. Between them the test does what an operator's
users would: a flow made on one API server, run from the other, its rows read through the
Iceberg REST catalog, the schedulers running beside them all along."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from api_support import FS, ORG, Server, wait_for_run
from compat.flowservice_parts import ok
from databases import fresh_postgres_database
from tests_support import free_port
from warehouses import s3_warehouse

pytestmark = pytest.mark.servers

GUIDE = Path(__file__).parents[2] / "docs" / "how-to" / "deploy.md"
CLI = str(Path(sys.executable).with_name("lakefeed"))
#: What the guide may export, and nothing else: a new variable in the guide needs a value here.
EXPORTED = {
    "LAKEFEED_DATABASE_URL",
    "LAKEFEED_DATABASE_AUTO_UPGRADE",
    "LAKEFEED_WAREHOUSE",
    "LAKEFEED_WAREHOUSE_OPTIONS_FILE",
    "LAKEFEED_SECRET_KEY_FILE",
    "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS",
}


def guide_commands() -> list[str]:
    """The ``$`` lines of the guide's console blocks, in order."""
    commands, in_console = [], False
    for line in GUIDE.read_text().splitlines():
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            continue
        if in_console and line.startswith("$ "):
            commands.append(line[2:].strip())
    return commands


def test_the_guide_has_the_commands_this_test_expects() -> None:
    """The walk below knows each kind of command; a new one in the guide fails here first."""
    commands = guide_commands()
    assert commands[0] == "lakefeed serve --scheduler"
    assert {
        c.split("=")[0].removeprefix("export ") for c in commands if c.startswith("export ")
    } == EXPORTED
    for command in commands:
        program = shlex.split(command)[0]
        assert program in {"export", "lakefeed", "pg_dump", "cp"}, command


def _pg_bin(program: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"))
    assert found, f"{program} not found under /usr/lib/postgresql (Debian's postgresql package)"
    return str(found[-1])


class Site:
    """The test's stand-ins for the guide's hosts, paths and ports, and the processes it runs."""

    def __init__(self, tmp: Path, database_url: str, stack: ExitStack) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.stack = stack
        self.etc = tmp / "etc"
        self.etc.mkdir()
        #: The second machine's /etc/lakefeed, where the guide copies the key file to.
        self.api_2 = tmp / "api-2"
        self.api_2.mkdir()
        (tmp / "backup" / "lakefeed").mkdir(parents=True)
        self.warehouse = s3_warehouse("moto")
        self.ports = {"8080": free_port(), "8081": free_port()}
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LAKEFEED_") or k.startswith("LAKEFEED_TEST_")
        }
        self.env["LAKEFEED_HOME"] = str(tmp / "home")
        self.servers: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    def localise(self, text: str) -> str:
        url = self.database_url
        libpq = url.replace("postgresql+psycopg://", "postgresql://")
        text = text.replace("postgresql+psycopg://lakefeed:PASSWORD@db.internal:5432/lakefeed", url)
        text = text.replace("postgresql://lakefeed:PASSWORD@db.internal:5432/lakefeed", libpq)
        text = text.replace("s3://lakefeed-warehouse/prod", self.warehouse.uri)
        text = text.replace("/etc/lakefeed/", f"{self.etc}/")
        text = text.replace("/mnt/api-2/lakefeed/", f"{self.api_2}/")
        text = text.replace("/backup/lakefeed/", f"{self.tmp}/backup/lakefeed/")
        for port, ours in self.ports.items():
            text = re.sub(rf"--port {port}\b", f"--port {ours}", text)
        return text

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(self.localise(command))
        argv[0] = {"lakefeed": CLI, "pg_dump": _pg_bin("pg_dump"), "cp": "cp"}[argv[0]]
        done = subprocess.run(
            argv, env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, command: str) -> subprocess.Popen[bytes]:
        """A long-running command in the background, stopped (SIGTERM) when the test ends."""
        argv = shlex.split(self.localise(command))
        argv[0] = CLI
        log = (self.tmp / f"process-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(argv, env=dict(self.env), stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.stack.callback(self._stop, process, log)
        return process

    @staticmethod
    def _stop(process: subprocess.Popen[bytes], log: object) -> None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()  # type: ignore[attr-defined]

    def wait_serving(self, url: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"{url}: the server exited ({process.returncode})"
            try:
                httpx.get(f"{url}/metrics", timeout=2)
                return
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"{url} did not answer in 60 s"
                time.sleep(0.1)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database(empty=True))
        yield Site(tmp_path, url, stack)


def _client(lf: object, url: str) -> httpx.Client:
    api_key, secret = lf.auth.create_client(ORG)  # type: ignore[attr-defined]
    token = ok(
        httpx.post(
            f"{url}/ims/token/v3",
            data={
                "client_id": api_key,
                "client_secret": secret,
                "grant_type": "client_credentials",
            },
        )
    )["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": api_key,
        "x-gw-ims-org-id": ORG,
        "x-sandbox-name": "prod",
        "Content-Type": "application/json",
    }
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _first_run(api: httpx.Client, flow_id: str) -> str:
    """The id of the flow's first run, once a scheduler has started it."""
    deadline = time.monotonic() + 120
    while True:
        runs = ok(api.get(f"{FS}/runs", params={"property": f"flowId=={flow_id}"}))["items"]
        if runs:
            return str(runs[0]["id"])
        assert time.monotonic() < deadline, "no scheduler started the flow's run in 120 s"
        time.sleep(0.2)


def test_every_command_of_the_deployment_guide(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiceberg.catalog.rest import RestCatalog

    from compat.flowservice_parts import build_pipeline
    from lakefeed import Lakefeed
    from lakefeed.catalog.records import Scope

    commands = iter(guide_commands())

    # One machine: serve and schedule from ~/.lakefeed (SQLite), then stop.
    one = next(commands)
    port = free_port()
    process = site.start(f"{one} --port {port}")
    site.wait_serving(f"http://127.0.0.1:{port}", process)
    assert (Path(site.env["LAKEFEED_HOME"]) / "lakefeed.db").exists()
    process.terminate()
    process.wait(timeout=60)

    # PostgreSQL, the warehouse, the key file: exported as the guide says, with our values.
    (site.etc / "warehouse.json").write_text(json.dumps(site.warehouse.options))
    (site.etc / "warehouse.json").chmod(0o600)
    # The test's flow reads a local folder over REST (the guide's users would read S3 & co.).
    site.env["LAKEFEED_LOCAL_ROOTS"] = str(site.tmp)
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    schedulers: list[subprocess.Popen[bytes]] = []
    for command in commands:
        if command.startswith("export "):
            name, value = site.localise(command.removeprefix("export ")).split("=", 1)
            site.env[name] = value
        elif command.startswith("lakefeed db "):
            output = site.run(command).stdout
            if command == "lakefeed db current":
                assert "up to date" in output.lower() or "head" in output.lower(), output
        elif command.startswith("lakefeed serve"):
            process = site.start(command)
            url = f"http://127.0.0.1:{site.localise(command).split('--port ')[1].split()[0]}"
            site.wait_serving(url, process)
            servers.append((url, process))
        elif command == "lakefeed scheduler":
            schedulers.append(site.start(command))
            if len(schedulers) == 2:
                break
        else:
            raise AssertionError(f"unexpected command before the servers: {command}")
    assert len(servers) == 2 and len(schedulers) == 2

    # What the users do meanwhile: a flow made on server A, run from server B, read through
    # B's Iceberg REST catalog; the engine below shares the servers' database and warehouse.
    for name, value in site.env.items():
        if name.startswith("LAKEFEED_"):
            monkeypatch.setenv(name, value)
    lf = Lakefeed()
    (url_a, _), (url_b, _) = servers
    with _client(lf, url_a) as api_a, _client(lf, url_b) as api_b:
        server = Server(url_a, lf, site.tmp / "home", None)
        (site.tmp / "landing").mkdir()
        pipeline = build_pipeline(server, api_a, site.tmp / "landing")
        scoped = lf.scoped(Scope(ORG, "prod"))
        scoped.update_dataset(pipeline.dataset_id, name="orders")
        # The flow is scheduled once, from now: one of the two schedulers runs it, once.
        run = wait_for_run(api_b, _first_run(api_b, pipeline.flow_id), seconds=120)
        assert run["metrics"]["statusSummary"]["status"] == "success", run  # type: ignore[index]
        assert (
            len(
                ok(api_a.get(f"{FS}/runs", params={"property": f"flowId=={pipeline.flow_id}"}))[
                    "items"
                ]
            )
            == 1
        )
        rows = scoped.datasets.read(scoped.datasets.get("orders"))
        assert rows.num_rows == 5
        token = api_b.headers["Authorization"].removeprefix("Bearer ")
        # Engines read the warehouse with their own storage access: the catalog vends none.
        catalog = RestCatalog(
            "lakefeed",
            uri=f"{url_b}/iceberg",
            token=token,
            warehouse="prod",
            **site.warehouse.options,
        )
        table = catalog.load_table(("prod", "orders"))
        assert table.scan().to_arrow().num_rows == 5
        assert any(site.warehouse.stored()), "nothing was written to the S3 warehouse"

    # The second machine's copy of the key file, as the guide has it copied (to open the
    # connections' secrets, its processes need it).
    machine_2_key = site.api_2 / "secret.key"
    shutil.copy(site.etc / "secret.key", machine_2_key)

    def machine_2_opens_every_connection() -> None:
        """The second machine (its own copy of the key file) reads the connections."""
        machine_2 = Lakefeed(
            settings=dataclasses.replace(lf.settings, secret_key_file=machine_2_key)
        )
        base = machine_2.scoped(Scope(ORG, "prod")).connection(pipeline.base_id)
        assert base.auth["rootPath"] == str(site.tmp / "landing")

    # The rest of the guide, in order: ambient switch, maintenance, backups, key rotation.
    for command in commands:
        if command.startswith("export "):
            name, value = site.localise(command.removeprefix("export ")).split("=", 1)
            site.env[name] = value
            continue
        site.run(command)
        if command.startswith("lakefeed keys rotate"):
            # Sealed anew with the staged key: the copy made after `keys add` opens them.
            machine_2_opens_every_connection()
    machine_2_opens_every_connection()
    assert machine_2_key.read_bytes() == (site.etc / "secret.key").read_bytes()
    assert scoped.datasets.read(scoped.datasets.get("orders")).num_rows == 5
    assert (site.tmp / "lakefeed.dump").stat().st_size > 0
    assert (site.tmp / "backup" / "lakefeed" / "secret.key").read_bytes()
    # The connections made before the rotation still open, with the new key alone.
    fresh = Lakefeed()
    connection = fresh.scoped(Scope(ORG, "prod")).connection(pipeline.base_id)
    assert connection.auth["rootPath"] == str(site.tmp / "landing")
    assert len((site.etc / "secret.key").read_text().split()) == 1
    for _, process in servers:
        assert process.poll() is None, "an API server died during the walk"
    for process in schedulers:
        assert process.poll() is None, "a scheduler died during the walk"
