"""The plugin manager: discovery, environment switches and typed wrappers around the hooks.

Every plugin, bundled or third-party, is found through the ``lakefeed`` entry-point group and
registered under its entry-point name. Plugins load on first use, not on ``import lakefeed``.

Environment switches (comma-separated entry-point names):

``LAKEFEED_LOAD_PLUGINS``
    load only these plugins (set to an empty string to load none);
``LAKEFEED_DISABLE_PLUGINS``
    never load these;
``LAKEFEED_TRACE_PLUGINS``
    when set to a non-empty value other than ``0``, print every hook call to stderr.

Core code calls hooks through :class:`Plugins` methods, never through ``pm.hook`` directly.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from lakefeed import hookspecs
from lakefeed.errors import PluginError, UnknownConnectionSpec

if TYPE_CHECKING:
    import click

    from lakefeed.formats import FileFormat, FormatRegistry
    from lakefeed.storage.source import SourceType

ENTRY_POINT_GROUP = "lakefeed"


@dataclass(frozen=True)
class PluginInfo:
    """What ``lakefeed plugins`` prints about one plugin."""

    name: str
    module: str
    version: str | None
    distribution: str | None
    hooks: tuple[str, ...]
    source_types: tuple[str, ...] = field(default=())
    formats: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "version": self.version,
            "distribution": self.distribution,
            "hooks": list(self.hooks),
            "sourceTypes": list(self.source_types),
            "formats": list(self.formats),
        }


def _names_from_env(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


class Plugins:
    """A pluggy manager with lakefeed's hooks, plus typed calls into them."""

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("lakefeed")
        self.pm.add_hookspecs(hookspecs)
        self._distributions: dict[str, tuple[str, str]] = {}
        self._source_types: list[SourceType] | None = None  # until the plugin set changes
        self._formats: FormatRegistry | None = None  # likewise
        if load_entry_points:
            self._load_entry_points()
        self._check()
        self._tracing = os.environ.get("LAKEFEED_TRACE_PLUGINS", "") not in ("", "0")
        if self._tracing:
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    # -- loading -------------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        allow = _names_from_env("LAKEFEED_LOAD_PLUGINS")
        block = _names_from_env("LAKEFEED_DISABLE_PLUGINS") or set()
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            found.setdefault(ep.name, ep)
        if allow is not None and (missing := allow - found.keys()):
            raise PluginError(
                "LAKEFEED_LOAD_PLUGINS names plugins that are not installed: "
                f"{', '.join(sorted(missing))} (installed: {', '.join(sorted(found)) or 'none'}).",
                fix="Fix the names or install the plugins' distributions.",
            )
        for name, ep in sorted(found.items()):
            if name in block:
                self.pm.set_blocked(name)
                continue
            if allow is not None and name not in allow:
                continue
            dist = ep.dist.name if ep.dist else None
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"Plugin {name!r} (entry point {ep.value!r} of {dist or 'unknown'}) "
                    f"failed to import: {exc}",
                    fix=f"Reinstall it, or skip it with LAKEFEED_DISABLE_PLUGINS={name}.",
                ) from exc
            self.register(module, name)
            if ep.dist is not None:
                self._distributions[name] = (ep.dist.name, ep.dist.version)

    def _check(self) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"Plugin {exc.plugin!r} implements a hook lakefeed does not define: {exc}",
                fix="Check the hook name against `lakefeed plugins` and docs/reference/hooks.md.",
            ) from exc

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object (a module or class with ``@hookimpl`` functions)."""
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"Cannot register plugin {name!r}: {exc}") from exc
        try:
            self._check()
        except PluginError:
            self.pm.unregister(name=name)  # leave the manager as it was
            raise
        self._source_types = None
        self._formats = None

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._source_types = None
        self._formats = None

    # -- typed hook calls ----------------------------------------------------------------------

    def source_types(self) -> list[SourceType]:
        """Every registered source type, in plugin registration order. The hook runs once per
        set of plugins (every session looks its source type up here)."""
        if self._source_types is None:
            self._source_types = self._collect_source_types()
        return list(self._source_types)

    def _collect_source_types(self) -> list[SourceType]:
        found: list[SourceType] = []
        owners: dict[str, str] = {}  # spec id and spec name -> plugin name
        current: list[str] = []

        def register(source_type: SourceType) -> None:
            plugin, spec = current[0], source_type.spec
            for key in (spec.id, spec.name):
                if key in owners:
                    raise PluginError(
                        f"Plugin {plugin!r} registers connection spec {key!r}, "
                        f"which plugin {owners[key]!r} already registered.",
                        fix=f"Disable one of them with LAKEFEED_DISABLE_PLUGINS={plugin}.",
                    )
            owners[spec.id] = owners[spec.name] = plugin
            found.append(source_type)

        hook = self.pm.hook.register_source_types
        for impl in hook.get_hookimpls():  # registration order
            current[:] = [impl.plugin_name]
            self._call_one(impl, "register_source_types", register=register)
        return found

    def _call_one(self, impl: Any, hook_name: str, **kwargs: Any) -> None:
        # Implementations are called one by one (so errors name their plugin), which bypasses
        # pluggy's call tracing: trace here instead.
        if self._tracing:
            sys.stderr.write(f"lakefeed hook: {hook_name} -> plugin {impl.plugin_name!r}\n")
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(
                f"Plugin {impl.plugin_name!r} failed in hook {hook_name!r}: {exc}",
                fix=f"Report it to the plugin's authors, or disable it with "
                f"LAKEFEED_DISABLE_PLUGINS={impl.plugin_name}.",
            ) from exc

    def source_type(self, key: str) -> SourceType:
        """The source type whose spec id or name is ``key``."""
        types = self.source_types()
        for source_type in types:
            if key in (source_type.spec.id, source_type.spec.name):
                return source_type
        installed = ", ".join(sorted(t.spec.name for t in types)) or "none"
        raise UnknownConnectionSpec(
            f"Unknown connection spec {key!r} (installed: {installed}).",
            fix="Is its plugin installed? `lakefeed plugins` lists what is loaded.",
        )

    def formats(self) -> FormatRegistry:
        """Every registered file format, in plugin registration order. The hook runs once per
        set of plugins."""
        if self._formats is None:
            self._formats = self._collect_formats()
        return self._formats

    def _collect_formats(self) -> FormatRegistry:
        from lakefeed.formats import FileFormat, FormatRegistry

        found: list[FileFormat] = []
        owners: dict[str, tuple[str, str]] = {}  # key -> (plugin name, format name)
        current: list[str] = []

        def register(file_format: FileFormat) -> None:
            plugin = current[0]
            if not isinstance(file_format, FileFormat):
                raise PluginError(
                    f"Plugin {plugin!r} registers {file_format!r}, which is not a "
                    "lakefeed.formats.FileFormat.",
                    fix="Register an instance of a FileFormat subclass.",
                )
            for key in file_format.lookup_keys():
                if key in owners:
                    other, other_format = owners[key]
                    raise PluginError(
                        f"Plugin {plugin!r} registers format {file_format.name!r}, which answers "
                        f"to {key!r} like format {other_format!r} of plugin {other!r}.",
                        fix=f"Disable one of them with LAKEFEED_DISABLE_PLUGINS={plugin}.",
                    )
            for key in file_format.lookup_keys():
                owners[key] = (plugin, file_format.name)
            found.append(file_format)

        hook = self.pm.hook.register_formats
        for impl in hook.get_hookimpls():  # registration order
            current[:] = [impl.plugin_name]
            self._call_one(impl, "register_formats", register=register)
        return FormatRegistry(found)

    def file_format(self, key: str) -> FileFormat:
        """The format whose name, ``data.format`` value or ``fileType`` is ``key`` (any case);
        :class:`lakefeed.errors.UnknownFormat` naming the installed formats otherwise."""
        return self.formats().get(key)

    def register_commands(self, cli: click.Group) -> None:
        hook = self.pm.hook.register_commands
        for impl in hook.get_hookimpls():
            self._call_one(impl, "register_commands", cli=cli)

    def describe(self) -> list[PluginInfo]:
        owners: dict[str, list[str]] = {}
        for impl in self.pm.hook.register_source_types.get_hookimpls():
            names: list[str] = []
            self._call_one(impl, "register_source_types", register=_collect_names(names))
            owners[impl.plugin_name] = names
        formats: dict[str, list[str]] = {}
        for impl in self.pm.hook.register_formats.get_hookimpls():
            found: list[FileFormat] = []
            self._call_one(impl, "register_formats", register=found.append)
            formats[impl.plugin_name] = [f.name for f in found]
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            dist, version = self._distributions.get(name, (None, None))
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            infos.append(
                PluginInfo(
                    name=name,
                    module=getattr(plugin, "__name__", type(plugin).__name__),
                    version=version,
                    distribution=dist,
                    hooks=hooks,
                    source_types=tuple(owners.get(name, ())),
                    formats=tuple(formats.get(name, ())),
                )
            )
        return sorted(infos, key=lambda info: info.name)


_plugins: Plugins | None = None
_lock = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide :class:`Plugins`, loading entry points on first call."""
    global _plugins
    with _lock:
        if _plugins is None:
            _plugins = Plugins()
        return _plugins


def reset_plugins() -> None:
    """Forget the loaded plugins; the next :func:`get_plugins` loads them again."""
    global _plugins
    with _lock:
        _plugins = None


RegisterSourceType = Callable[["SourceType"], None]


def _collect_names(names: list[str]) -> RegisterSourceType:
    return lambda source_type: names.append(source_type.spec.name)
