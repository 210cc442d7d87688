"""``lakefeed plugins`` and ``lakefeed specs``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import emit_json, fields_option, json_option, table

if TYPE_CHECKING:
    from lakefeed.plugins import PluginInfo, Plugins


def missing_sdks(plugins: Plugins) -> dict[str, list[dict[str, str]]]:
    """Per connection spec name, the SDK modules it needs that are not installed, each with
    its ``pip install`` hint (a spec missing none is absent)."""
    missing: dict[str, list[dict[str, str]]] = {}
    for source_type in plugins.source_types():
        for module, requirement in source_type.missing_requirements():
            missing.setdefault(source_type.spec.name, []).append(
                {"module": module, "install": f"pip install '{requirement}'"}
            )
    return missing


def _with_status(info: PluginInfo, missing: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """``to_dict()`` plus ``status`` (``loaded``, or ``sdk-missing`` when a connection spec
    it registers cannot work) and ``missing`` (per module, the install hint)."""
    needs = [dict(m, sourceType=name) for name in info.source_types for m in missing.get(name, [])]
    return {**info.to_dict(), "status": "sdk-missing" if needs else "loaded", "missing": needs}


def _status_cell(plugin: dict[str, Any]) -> str:
    if plugin["status"] == "loaded":
        return "loaded"
    hints = sorted({m["install"] for m in plugin["missing"]})
    modules = ", ".join(sorted({m["module"] for m in plugin["missing"]}))
    return f"cannot work: {modules} not installed ({'; '.join(hints)})"


@click.command("plugins")
@json_option
@fields_option
def plugins_command(as_json: bool) -> None:
    """List plugins with their versions, hooks, source types and formats, and whether each
    works: a plugin whose SDK is missing says so, with the `pip install` that fixes it."""
    plugins = engine().plugins
    missing = missing_sdks(plugins)
    shown = [_with_status(info, missing) for info in plugins.describe()]
    if as_json:
        emit_json({"items": shown, "count": len(shown)})
        return
    table(
        "Plugins",
        ["name", "status", "version", "distribution", "hooks", "source types", "formats"],
        (
            (
                p["name"],
                _status_cell(p),
                p["version"],
                p["distribution"],
                ", ".join(p["hooks"]),
                ", ".join(p["sourceTypes"]),
                ", ".join(p["formats"]),
            )
            for p in shown
        ),
    )


@click.command("specs")
@click.argument("spec", required=False)
@json_option
@fields_option
def specs_command(spec: str | None, as_json: bool) -> None:
    """List connection specs, or show one (by id or name) with its auth specs."""
    lf = engine()
    specs = (
        [lf.connection_spec(spec)] if spec else sorted(lf.connection_specs(), key=lambda s: s.name)
    )
    if as_json:
        file_types = lf.plugins.formats().file_types()
        shown = [s.to_dict(file_types=file_types) for s in specs]
        emit_json({"items": shown, "count": len(shown)} if spec is None else shown[0])
        return
    if spec is None:
        table(
            "Connection specs",
            ["name", "id", "label", "auth specs"],
            ((s.name, s.id, s.label, "; ".join(a.name for a in s.auth_specs)) for s in specs),
        )
        return
    one = specs[0]
    click.echo(f"{one.label} ({one.name}, {one.id})\n{one.description}\n")
    for auth in one.auth_specs:
        ambient = " (ambient: this machine's own credentials)" if auth.ambient else ""
        table(
            f"auth spec: {auth.name}{ambient}",
            ["param", "type", "required", "secret", "default", "description"],
            (
                (
                    p.name,
                    p.type,
                    "yes" if p.required else "",
                    "yes" if p.secret else "",
                    p.default,
                    p.description,
                )
                for p in auth.params
            ),
        )
