"""The format registry: lookups by name, data.format and fileType in any case, by file name,
and errors that name what is installed; and how the plugin manager builds it from the
``register_formats`` hook (Parquet included, through its entry point)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lakefeed import hookimpl
from lakefeed.errors import PluginError, UnknownFormat
from lakefeed.files import FileEntry
from lakefeed.formats import FileFormat, FormatRegistry, InspectedFile, RangeReader
from lakefeed.formats.parquet import ParquetFormat
from lakefeed.plugins import Plugins, get_plugins
from tests_support import registered


def make_format(name: str, data_formats: tuple[str, ...], *extensions: str) -> FileFormat:
    class Fake(FileFormat):
        label = name.title()

        def first_range(self, entry: FileEntry) -> tuple[int, int] | None:
            return None

        def inspect_bytes(self, entry: FileEntry, data: bytes, read: RangeReader) -> InspectedFile:
            raise NotImplementedError

        def batches(self, source: Any, file: InspectedFile, *, batch_rows: int) -> Iterator[Any]:
            raise NotImplementedError

    Fake.name, Fake.data_formats, Fake.file_type = name, data_formats, name
    Fake.extensions = extensions
    return Fake()


def test_a_format_is_found_by_its_name_data_formats_and_file_type_in_any_case() -> None:
    parquet = ParquetFormat()
    registry = FormatRegistry([parquet, make_format("csv", ("delimited",), ".csv")])
    for key in ("parquet", "PARQUET", " parquet_xdm ", "Parquet_XDM"):
        assert registry.get(key) is parquet
    assert registry.get("delimited").name == "csv"
    assert registry.default() is parquet
    assert registry.data_formats() == ("parquet", "parquet_xdm", "delimited")
    assert registry.file_types() == ("parquet", "csv")


def test_an_unknown_format_names_the_installed_ones_and_the_fix() -> None:
    registry = FormatRegistry([ParquetFormat(), make_format("csv", ("delimited",), ".csv")])
    with pytest.raises(UnknownFormat) as caught:
        registry.get("json")
    error = caught.value
    assert error.code == "LF-1414" and error.http_status == 400
    assert "'json'" in error.message
    assert (
        "csv (data.format delimited), parquet (data.format parquet, parquet_xdm)" in error.message
    )
    assert error.fix and "lakefeed plugins" in error.fix
    with pytest.raises(UnknownFormat):
        FormatRegistry([make_format("csv", ("delimited",))]).default()  # no Parquet installed


def test_a_file_name_finds_the_first_format_that_recognises_its_ending() -> None:
    logs = make_format("logs", ("logs",), ".log", ".lines")
    registry = FormatRegistry([ParquetFormat(), logs])
    assert registry.for_file("a.PARQUET").name == "parquet"  # type: ignore[union-attr]
    assert registry.for_file("app.log") is logs
    assert registry.for_file("notes.txt") is None
    assert registry.for_file("parquet") is None  # an ending, not a name


def test_two_formats_answering_to_one_key_cannot_share_a_registry() -> None:
    with pytest.raises(ValueError, match="'parquet'"):
        FormatRegistry([ParquetFormat(), make_format("other", ("parquet",))])


def test_bundled_registry_holds_parquet_only() -> None:
    assert [f.name for f in FormatRegistry.bundled()] == ["parquet"]


# -- through the plugin manager ---------------------------------------------------------------


class FormatPlugin:
    """A plugin object registering the given formats."""

    def __init__(self, *formats: object) -> None:
        self.formats = formats

    @hookimpl
    def register_formats(self, register: Callable[[FileFormat], None]) -> None:
        for file_format in self.formats:
            register(file_format)  # type: ignore[arg-type]


@pytest.fixture
def plugins() -> Iterator[Plugins]:
    yield get_plugins()


def test_parquet_is_a_bundled_plugin_registered_like_any_other(plugins: Plugins) -> None:
    parquet = {info.name: info for info in plugins.describe()}["parquet"]
    assert parquet.distribution == "lakefeed" and parquet.module == "lakefeed.formats.parquet"
    assert parquet.hooks == ("register_formats",)
    assert parquet.formats == ("parquet",) and parquet.source_types == ()
    assert plugins.file_format("parquet_xdm").name == "parquet"
    assert {"parquet", "parquet_xdm"} <= set(plugins.formats().data_formats())


def test_disabling_the_parquet_plugin_removes_its_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_DISABLE_PLUGINS", "parquet")
    with pytest.raises(UnknownFormat) as caught:
        Plugins().file_format("parquet")
    assert "Unknown file format 'parquet'" in caught.value.message


def test_a_format_registered_for_one_test_is_found_then_gone(plugins: Plugins) -> None:
    # Not "csv": the bundled delimited format answers to that.
    fixed = make_format("fixed", ("fixed_width",), ".fwf")
    for _ in registered(plugins, FormatPlugin(fixed), "fixed-plugin"):
        assert plugins.file_format("FIXED_WIDTH") is fixed
        assert plugins.formats().for_file("orders.fwf") is fixed
        assert {i.name: i for i in plugins.describe()}["fixed-plugin"].formats == ("fixed",)
    with pytest.raises(UnknownFormat):
        plugins.file_format("fixed")


def test_a_format_answering_to_another_plugins_key_names_both_plugins(plugins: Plugins) -> None:
    clash = make_format("parquet2", ("parquet_xdm",))
    for _ in registered(plugins, FormatPlugin(clash), "copycat"):
        with pytest.raises(PluginError) as caught:
            plugins.formats()
        message = str(caught.value)
        assert "'copycat'" in message and "'parquet'" in message and "'parquet_xdm'" in message
        assert "LAKEFEED_DISABLE_PLUGINS=copycat" in message


def test_registering_something_else_than_a_format_is_an_error(plugins: Plugins) -> None:
    for _ in registered(plugins, FormatPlugin(object()), "odd"):
        with pytest.raises(PluginError, match=r"'odd'.*not a lakefeed\.formats\.FileFormat"):
            plugins.formats()


def test_a_failing_register_formats_names_plugin_and_hook(plugins: Plugins) -> None:
    class Broken:
        @hookimpl
        def register_formats(self, register: Any) -> None:
            raise RuntimeError("boom")

    for _ in registered(plugins, Broken(), "broken"):
        with pytest.raises(PluginError) as caught:
            plugins.formats()
        message = str(caught.value)
        assert "'broken'" in message and "register_formats" in message and "boom" in message
