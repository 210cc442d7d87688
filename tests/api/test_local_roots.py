"""``LAKEFEED_LOCAL_ROOTS``: local-files connections over REST read only the folders the server
allows, and paths through them stay inside the connection's root."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import ORG, Server, running_server
from lakefeed import Lakefeed
from lakefeed.api.local_roots import check_path, check_root
from lakefeed.catalog.records import Scope
from lakefeed.config import Settings
from lakefeed.errors import Forbidden
from lakefeed.plugins import get_plugins
from lakefeed.secrets import AuthParams
from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage import SourceType
from lakefeed.storage.session import StorageSession
from lakefeed.testing.profiles import create_profile_schema, profile_table

FS = "/data/foundation/flowservice"
LOCAL_SPEC = "6f1e7c2a-9b0d-4c53-8a2e-1d5f3c7b9e41"


@dataclass(frozen=True)
class Disk:
    drops: Path  # the one allowed folder
    landing: Path  # a connection root inside it
    outside: Path  # a folder next to it, not allowed
    escape: Path  # a symlink inside drops/landing that points at outside


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Disk:
    base = tmp_path_factory.mktemp("local-roots")
    drops, outside = base / "drops", base / "outside"
    landing = drops / "landing"
    (landing / "2026").mkdir(parents=True)
    outside.mkdir()
    pq.write_table(profile_table(5), landing / "2026" / "a.parquet")
    pq.write_table(profile_table(5), outside / "secret.parquet")
    escape = landing / "escape"
    escape.symlink_to(outside, target_is_directory=True)
    (drops / "to-outside").symlink_to(outside, target_is_directory=True)
    return Disk(drops, landing, outside, escape)


@pytest.fixture(scope="module")
def closed(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Server]:
    """A server without LAKEFEED_LOCAL_ROOTS."""
    with running_server(
        tmp_path_factory.mktemp("closed-home"), database_url=server_database()
    ) as running:
        yield running


@pytest.fixture(scope="module")
def confined(
    tmp_path_factory: pytest.TempPathFactory,
    disk: Disk,
    server_database: Callable[[], str | None],
) -> Iterator[Server]:
    """A server with LAKEFEED_LOCAL_ROOTS=<drops>."""
    home = tmp_path_factory.mktemp("confined-home")
    with running_server(home, local_roots=[disk.drops], database_url=server_database()) as running:
        yield running


def local_body(name: str, root: Path | str) -> dict[str, Any]:
    return {
        "name": name,
        "auth": {"specName": "Local Path", "params": {"rootPath": str(root)}},
        "connectionSpec": {"id": LOCAL_SPEC, "version": "1.0"},
    }


def forbidden(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 403, response.text
    report = response.json()["report"]
    assert report["code"] == "LF-2120"
    message = f"{report['detailed-message']} {report.get('fix')}"
    for word in words:
        assert word in message, message
    return message


def stored_flow(server: Server, root: Path, path: str, name: str, recursive: bool = False) -> str:
    """A `once` flow over a local-files connection stored with the Python API, which is not
    confined: the REST routes must still refuse to read through it."""
    lf: Lakefeed = server.lf.scoped(Scope(ORG, "prod"))
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create(f"{name}-profiles", schema["$id"])
    base = lf.create_connection(name, "local-files", None, {"rootPath": str(root)})
    source = lf.flows.create_source_connection(
        name=f"{name}-s", base_connection_id=base.id, path=path, recursive=recursive
    )
    target = lf.flows.create_target_connection(name=f"{name}-t", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name=name, source_connection_ids=[source.id], target_connection_ids=[target.id]
    )
    return str(flow.id)


def test_settings_read_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LAKEFEED_LOCAL_ROOTS", raising=False)
    assert Settings.load(tmp_path).local_roots == ()
    monkeypatch.setenv("LAKEFEED_LOCAL_ROOTS", f"/srv/drops{os.pathsep} {os.pathsep}~/in")
    assert Settings.load(tmp_path).local_roots == ("/srv/drops", str(Path.home() / "in"))


# -- which connections are confined: those whose source type reads local paths ----------------


def test_only_the_local_files_source_type_reads_local_paths() -> None:
    flags = {t.spec.name: t.reads_local_paths for t in get_plugins().source_types()}
    assert {name for name, local in flags.items() if local} == {"local-files"}
    # The cloud backends, SFTP (another machine's disk) and the example memory plugin are not.
    assert {"amazon-s3", "azure-blob", "adls-gen2", "google-cloud", "sftp", "memory"} <= set(flags)


class MountedShare(SourceType):
    """A third-party source type over the server's disk, under another spec name."""

    spec = ConnectionSpec(
        id="5d0c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
        name="mounted-share",
        label="Mounted share",
        description="A network share mounted on the server.",
        auth_specs=(
            AuthSpec("Local Path", "Local Path", "none", (Param("rootPath", "Root", "root"),)),
        ),
    )
    reads_local_paths = True

    def filesystem(self, auth: AuthParams) -> Any:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()

    def root(self, auth: AuthParams, fs: Any) -> str:
        return str(auth["rootPath"])


def test_the_check_asks_the_source_type_not_the_spec_name(tmp_path: Path) -> None:
    """Any source type that reads local paths is confined, whatever its spec is called; one
    that does not is left alone."""
    (tmp_path / "drops").mkdir()
    (tmp_path / "outside").mkdir()
    session = StorageSession(
        MountedShare(), AuthParams("Local Path", {"rootPath": str(tmp_path / "drops")}, ())
    )
    unset = dataclasses.replace(Settings.load(tmp_path), local_roots=())
    allowed = dataclasses.replace(unset, local_roots=(str(tmp_path / "drops"),))
    with pytest.raises(Forbidden, match="LAKEFEED_LOCAL_ROOTS is not set"):
        check_root(unset, session)
    check_path(allowed, session, "2026")
    with pytest.raises(Forbidden, match="outside the connection's root"):
        check_path(allowed, session, str(tmp_path / "outside"))

    class RemoteShare(MountedShare):
        reads_local_paths = False

    remote = StorageSession(RemoteShare(), session.auth)
    check_path(unset, remote, str(tmp_path / "outside"))


# -- unset: refused ----------------------------------------------------------------------------


def test_unset_refuses_local_files_over_rest(closed: Server, disk: Disk) -> None:
    with closed.client() as api:
        refused = api.post(f"{FS}/connections", json=local_body("landing", disk.landing))
        message = forbidden(refused, "LAKEFEED_LOCAL_ROOTS is not set")
        assert "set LAKEFEED_LOCAL_ROOTS=/srv/drops on the server" in message
        assert api.get(f"{FS}/connections").json()["items"] == []

        # Stored some other way (CLI, Python): still not tested, explored or run over REST.
        flow_id = stored_flow(closed, disk.landing, ".", "python-made")
        (item,) = api.get(f"{FS}/connections").json()["items"]
        forbidden(api.get(f"{FS}/connections/{item['id']}/test"), "LAKEFEED_LOCAL_ROOTS")
        forbidden(api.get(f"{FS}/connections/{item['id']}/explore"), "LAKEFEED_LOCAL_ROOTS")
        forbidden(api.post(f"{FS}/runs", json={"flowId": flow_id}), "LAKEFEED_LOCAL_ROOTS")
        assert api.get(f"{FS}/runs").json()["items"] == []

        # Other specs are not concerned.
        lake = api.post(
            f"{FS}/connections",
            json={"name": "lake", "connectionSpec": {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c"}},
        )
        assert lake.status_code == 201, lake.text


# -- set: roots inside are allowed, roots outside refused --------------------------------------


def test_a_root_inside_the_allowed_folders_works(confined: Server, disk: Disk) -> None:
    with confined.client() as api:
        created = api.post(f"{FS}/connections", json=local_body("inside", disk.landing))
        assert created.status_code == 201, created.text
        url = f"{FS}/connections/{created.json()['id']}"
        assert api.get(f"{url}/test").json()["result"] is True
        root = api.get(f"{url}/explore").json()
        assert {e["name"] for e in root} == {"2026", "escape"}
        folder = next(e for e in root if e["name"] == "2026")
        # explore answers absolute paths; following them stays inside the root.
        (entry,) = api.get(
            f"{url}/explore", params={"objectType": "folder", "object": folder["path"]}
        ).json()
        assert entry["name"] == "a.parquet"
        preview = api.get(
            f"{url}/explore",
            params={"objectType": "file", "object": "2026/a.parquet", "preview": "true"},
        )
        assert preview.status_code == 200 and len(preview.json()["data"]) == 5
        allowed_too = api.post(f"{FS}/connections", json=local_body("drops", disk.drops))
        assert allowed_too.status_code == 201, allowed_too.text


def test_a_relative_root_is_refused_without_the_server_folder(confined: Server) -> None:
    with confined.client() as api:
        refused = api.post(f"{FS}/connections", json=local_body("relative", "landing"))
    assert refused.status_code == 400, refused.text
    assert "absolute path" in refused.text
    assert os.getcwd() not in refused.text


@pytest.mark.parametrize("root", ["outside", "to-outside", "/", "dotdot"])
def test_a_root_outside_is_refused(confined: Server, disk: Disk, root: str) -> None:
    roots = {
        "outside": disk.outside,
        "to-outside": disk.drops / "to-outside",  # a symlink in drops that leads out of it
        "/": Path("/"),
        "dotdot": disk.drops / ".." / "outside",
    }
    with confined.client() as api:
        refused = api.post(f"{FS}/connections", json=local_body(f"root-{root}", roots[root]))
        message = forbidden(refused, "outside the folders", "LAKEFEED_LOCAL_ROOTS")
        if root in ("outside", "/"):  # the allowed folders are not told
            assert str(disk.drops) not in message
        if root == "to-outside":
            assert str(disk.outside) not in message  # where a symlink leads is not told
        assert f"root-{root}" not in api.get(f"{FS}/connections").text


def test_patching_the_root_out_is_refused(confined: Server, disk: Disk) -> None:
    with confined.client() as api:
        created = api.post(f"{FS}/connections", json=local_body("patched", disk.landing)).json()
        url = f"{FS}/connections/{created['id']}"
        out = [{"op": "replace", "path": "/auth/params/rootPath", "value": str(disk.escape)}]
        forbidden(api.patch(url, json=out, headers={"If-Match": created["etag"]}), "rootPath")
        (item,) = api.get(url).json()["items"]
        assert item["auth"]["params"]["rootPath"] == str(disk.landing)
        inside = [{"op": "replace", "path": "/auth/params/rootPath", "value": str(disk.drops)}]
        moved = api.patch(url, json=inside, headers={"If-Match": created["etag"]})
        assert moved.status_code == 200, moved.text


def test_a_connection_stored_outside_is_not_read(confined: Server, disk: Disk) -> None:
    """LAKEFEED_LOCAL_ROOTS is checked at every use, not only when a connection is stored."""
    flow_id = stored_flow(confined, disk.outside, ".", "stored-outside")
    with confined.client() as api:
        (item,) = [
            c for c in api.get(f"{FS}/connections").json()["items"] if c["name"] == "stored-outside"
        ]
        forbidden(api.get(f"{FS}/connections/{item['id']}/test"), "LAKEFEED_LOCAL_ROOTS")
        forbidden(api.post(f"{FS}/runs", json={"flowId": flow_id}), "LAKEFEED_LOCAL_ROOTS")


# -- paths through a connection stay inside its root -------------------------------------------


def test_paths_may_not_leave_the_root(confined: Server, disk: Disk) -> None:
    with confined.client() as api:
        base = api.post(f"{FS}/connections", json=local_body("paths", disk.landing)).json()
        url = f"{FS}/connections/{base['id']}/explore"

        def source(name: str, path: str) -> httpx.Response:
            return api.post(
                f"{FS}/sourceConnections",
                json={
                    "name": name,
                    "baseConnectionId": base["id"],
                    "data": {"format": "parquet"},
                    "params": {"path": path},
                    "connectionSpec": {"id": LOCAL_SPEC, "version": "1.0"},
                },
            )

        dotdot = source("dotdot", "../../outside")
        assert dotdot.status_code == 400 and "'..'" in dotdot.text
        forbidden(source("absolute", str(disk.outside)), "outside the connection's root")
        forbidden(source("symlink", "escape/*.parquet"), "outside the connection's root")
        forbidden(source("url", f"file://{disk.outside}"), "outside the connection's root")
        good = source("good", "2026/*.parquet")
        assert good.status_code == 201, good.text

        source_url = f"{FS}/sourceConnections/{good.json()['id']}"
        out = [{"op": "replace", "path": "/params/path", "value": str(disk.outside)}]
        etag = good.json()["etag"]
        forbidden(api.patch(source_url, json=out, headers={"If-Match": etag}), "root")
        assert api.get(source_url).json()["items"][0]["params"]["path"] == "2026/*.parquet"

        def explore(object_type: str, obj: str) -> httpx.Response:
            return api.get(url, params={"objectType": object_type, "object": obj})

        assert explore("folder", "../..").status_code == 400
        forbidden(explore("folder", str(disk.outside)), "outside the connection's root")
        forbidden(explore("folder", "escape"), "outside the connection's root")
        forbidden(explore("file", "escape/secret.parquet"), "outside the connection's root")
        assert explore("folder", "2026").status_code == 200


def test_a_run_reads_only_inside_the_root(confined: Server, disk: Disk) -> None:
    """A source path stored with the Python API (not confined) is checked when a run starts."""
    flow_id = stored_flow(confined, disk.landing, str(disk.outside), "path-outside")
    with confined.client() as api:
        forbidden(api.post(f"{FS}/runs", json={"flowId": flow_id}), "outside the connection's root")
        assert api.get(f"{FS}/runs").json()["items"] == []


def test_a_link_out_of_the_root_fails_alone_in_a_run(confined: Server, disk: Disk) -> None:
    """Inside an allowed root, a symlink that leads out is a per-file error of the run naming
    the link, not where it leads; the other files are read."""
    flow_id = stored_flow(confined, disk.landing, ".", "with-link", recursive=True)
    with confined.client() as api:
        started = api.post(f"{FS}/runs", json={"flowId": flow_id})
        assert started.status_code == 201, started.text
        run_id = started.json()["items"][0]["id"]
        deadline = time.monotonic() + 60
        while (run := api.get(f"{FS}/runs/{run_id}").json()["items"][0])["state"] != "completed":
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
    errors = run["metrics"]["statusSummary"]["extensions"]["fileErrors"]
    # The other file was read (the disk's profiles carry another tenant than this org's).
    assert {e["path"]: e["code"] for e in errors} == {
        str(disk.escape): "LF-2406",
        str(disk.landing / "2026" / "a.parquet"): "LF-2425",
    }
    assert str(disk.outside) not in json.dumps(run)
