"""``lakefeed plugins`` and ``lakefeed specs``."""

from __future__ import annotations

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import emit_json, json_option, table


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List loaded plugins with their versions, hooks, source types and formats."""
    infos = engine().plugins.describe()
    if as_json:
        emit_json([info.to_dict() for info in infos])
        return
    table(
        "Plugins",
        ["name", "version", "distribution", "hooks", "source types", "formats"],
        (
            (
                i.name,
                i.version,
                i.distribution,
                ", ".join(i.hooks),
                ", ".join(i.source_types),
                ", ".join(i.formats),
            )
            for i in infos
        ),
    )


@click.command("specs")
@click.argument("spec", required=False)
@json_option
def specs_command(spec: str | None, as_json: bool) -> None:
    """List connection specs, or show one (by id or name) with its auth specs."""
    lf = engine()
    specs = (
        [lf.connection_spec(spec)] if spec else sorted(lf.connection_specs(), key=lambda s: s.name)
    )
    if as_json:
        file_types = lf.plugins.formats().file_types()
        shown = [s.to_dict(file_types=file_types) for s in specs]
        emit_json(shown if spec is None else shown[0])
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
        table(
            f"auth spec: {auth.name}",
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
