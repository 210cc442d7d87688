"""The plugin manager: discovery, environment switches, errors that name plugin and hook."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lakefeed import hookimpl
from lakefeed.errors import MissingDependency, PluginError, UnknownConnectionSpec
from lakefeed.plugins import Plugins, get_plugins
from lakefeed.secrets import AuthParams
from lakefeed.specs import AuthSpec, ConnectionSpec
from lakefeed.storage import SourceType
from lakefeed.storage.session import StorageSession
from tests_support import registered

BUNDLED = {"local", "s3", "azure-blob", "adls", "gcs", "sftp"}
CLOUD_MODULES = ("s3fs", "adlfs", "gcsfs", "paramiko", "azure", "botocore", "aiobotocore", "google")


def make_source_type(
    spec_id: str, name: str, requires: tuple[tuple[str, str], ...] = ()
) -> SourceType:
    class Fake(SourceType):
        spec = ConnectionSpec(
            id=spec_id,
            name=name,
            label=name.title(),
            description="fake",
            auth_specs=(AuthSpec("None", "None", "no auth", ()),),
        )

        def filesystem(self, auth: AuthParams) -> Any:
            import fsspec

            return fsspec.filesystem("memory")

    Fake.requires = requires
    return Fake()


class PluginWith:
    """A plugin object registering the given source types."""

    def __init__(self, *types: SourceType) -> None:
        self.types = types

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        for t in self.types:
            register(t)


@pytest.fixture
def plugins() -> Iterator[Plugins]:
    yield get_plugins()


def test_bundled_and_third_party_plugins_load_through_entry_points(plugins: Plugins) -> None:
    infos = {info.name: info for info in plugins.describe()}
    assert BUNDLED | {"memory"} <= set(infos)
    for name in BUNDLED:
        assert infos[name].distribution == "lakefeed"
        assert infos[name].version
        assert infos[name].hooks == ("register_source_types",)
    assert infos["memory"].distribution == "lakefeed-memory"
    assert infos["memory"].source_types == ("memory",)
    assert "memory" in {t.spec.name for t in plugins.source_types()}


def test_allow_list_loads_only_named_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_LOAD_PLUGINS", "local, s3")
    names = {t.spec.name for t in Plugins().source_types()}
    assert names == {"local-files", "amazon-s3"}


def test_allow_list_with_unknown_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_LOAD_PLUGINS", "local,dropbox")
    with pytest.raises(PluginError, match="dropbox") as caught:
        Plugins()
    assert "installed: " in str(caught.value) and "sftp" in str(caught.value)


def test_block_list_removes_plugin_and_unknown_spec_names_what_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAKEFEED_DISABLE_PLUGINS", "sftp")
    plugins = Plugins()
    assert "sftp" not in {info.name for info in plugins.describe()}
    with pytest.raises(UnknownConnectionSpec) as caught:
        plugins.source_type("sftp")
    message = str(caught.value)
    assert "Unknown connection spec 'sftp'" in message and "amazon-s3" in message
    assert "plugin installed" in message


def test_trace_switch_prints_hook_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEFEED_TRACE_PLUGINS", "1")
    plugins = Plugins()
    plugins.source_types()  # lakefeed's own calls, one implementation at a time
    err = capsys.readouterr().err
    assert "register_source_types" in err
    assert "lakefeed hook: register_source_types -> plugin 's3'" in err
    plugins.pm.hook.register_source_types(register=lambda t: None)  # pluggy's trace too
    assert "register_source_types" in capsys.readouterr().err


def test_misspelt_hook_fails_at_registration(plugins: Plugins) -> None:
    class Misspelt:
        @hookimpl
        def register_source_type(self, register: Any) -> None:  # missing "s"
            pass

    with pytest.raises(PluginError, match="register_source_type"):
        plugins.register(Misspelt(), "misspelt")
    assert plugins.pm.get_plugin("misspelt") is None  # rolled back, manager still usable
    assert plugins.source_types()


def test_duplicate_spec_names_both_plugins(plugins: Plugins) -> None:
    dup = make_source_type("ecadc60c-7455-4d87-84dc-2a0e293d997b", "another-s3")
    for _ in registered(plugins, PluginWith(dup), "copycat"):
        with pytest.raises(PluginError) as caught:
            plugins.source_types()
        assert "'copycat'" in str(caught.value) and "'s3'" in str(caught.value)


def test_failing_hook_names_plugin_and_hook(plugins: Plugins) -> None:
    class Broken:
        @hookimpl
        def register_source_types(self, register: Any) -> None:
            raise RuntimeError("boom")

    for _ in registered(plugins, Broken(), "broken"):
        with pytest.raises(PluginError) as caught:
            plugins.source_types()
        message = str(caught.value)
        assert "'broken'" in message and "register_source_types" in message and "boom" in message
        assert "LAKEFEED_DISABLE_PLUGINS=broken" in message


def test_plugin_registered_for_one_test_is_visible_then_gone(plugins: Plugins) -> None:
    extra = make_source_type("11111111-2222-3333-4444-555555555555", "extra")
    for _ in registered(plugins, PluginWith(extra), "extra-plugin"):
        assert plugins.source_type("extra") is extra
    with pytest.raises(UnknownConnectionSpec):
        plugins.source_type("extra")


def test_missing_sdk_gives_install_hint() -> None:
    source_type = make_source_type(
        "22222222-2222-3333-4444-555555555555", "needs-sdk", (("no_such_sdk_xyz", "lakefeed[s3]"),)
    )
    session = StorageSession(source_type, AuthParams("None", {}, ()))
    with pytest.raises(MissingDependency) as caught:
        _ = session.fs
    assert "no_such_sdk_xyz" in str(caught.value) and "pip install 'lakefeed[s3]'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    "code",
    [
        "import lakefeed",
        "import lakefeed.cli as c\nc._register_commands()\n"
        "try:\n    c.cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass",
        "import lakefeed.plugins as p\np.get_plugins().source_types()",
    ],
    ids=["import", "help", "load-plugins"],
)
def test_no_cloud_sdk_is_imported_before_use(code: str) -> None:
    probe = (
        code
        + "\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
        + f"{CLOUD_MODULES!r}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """`lakefeed --help` (and so every command's start) imports no database, Arrow, Iceberg or
    web library: commands import what they use when they run."""
    heavy = ("sqlalchemy", "pyarrow", "pyiceberg", "fastapi", "uvicorn", "httpx", "cryptography")
    probe = (
        "import lakefeed.cli as c\nc._register_commands()\n"
        "try:\n    c.cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"import sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
