"""``lakefeed sandboxes create|list``: an org's sandboxes, for the REST service."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, fields_option, json_option, table

SANDBOX_TYPES = ("development", "production")


@click.group("sandboxes")
def sandboxes() -> None:
    """Sandboxes: separate sets of connections, flows and datasets within an org."""


def _entity(org: str, name: str, sandbox_type: str) -> dict[str, Any]:
    return {"name": name, "type": sandbox_type, "imsOrgId": org}


@sandboxes.command("create")
@click.argument("name")
@click.option("--org", required=True, help="Org id (x-gw-ims-org-id).")
@click.option(
    "--type",
    "sandbox_type",
    type=click.Choice(SANDBOX_TYPES),
    default="development",
    show_default=True,
    help="Sandbox type.",
)
@json_option
def create(name: str, org: str, sandbox_type: str, as_json: bool) -> None:
    """Create sandbox NAME (lowercase letters, digits and '-') in an org."""
    engine().auth.create_sandbox(org, name, sandbox_type)
    if as_json:
        emit_json(_entity(org, name, sandbox_type))
        return
    console().print(f"Created {sandbox_type} sandbox [bold]{escape(name)}[/] in org {escape(org)}")


@sandboxes.command("list")
@click.option("--org", required=True, help="Org id (x-gw-ims-org-id).")
@json_option
@fields_option
def list_(org: str, as_json: bool) -> None:
    """List an org's sandboxes, by name; `prod` always exists."""
    items = [_entity(org, s.name, s.type) for s in engine().auth.list_sandboxes(org)]
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    table(f"Sandboxes of {org}", ["name", "type"], ((s["name"], s["type"]) for s in items))
