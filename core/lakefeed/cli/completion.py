"""Shell completion of connection, flow and dataset names, read from the local home.

Click completes commands and options by itself (``_LAKEFEED_COMPLETE=bash_source lakefeed``);
this module adds the names. Every parameter called ``connection``, ``connection_or_url``,
``flow`` or ``dataset`` — an argument or an option, of a built-in command or a plugin's —
completes the names of that kind, so a new command gets completion by naming its parameter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed

#: Parameter name → the kind of names it completes.
COMPLETED_PARAMS = {
    "connection": "connections",
    "connection_or_url": "connections",
    "flow": "flows",
    "dataset": "datasets",
}

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _engine(ctx: click.Context) -> Lakefeed | None:
    """The engine of the home the command line names; None when there is none yet (completing
    must never create a home)."""
    root = ctx.find_root()
    home = root.params.get("home") or os.environ.get("LAKEFEED_HOME")
    folder = Path(home).expanduser() if home else Path.home() / ".lakefeed"
    if not folder.is_dir():
        return None
    from lakefeed.engine import Lakefeed

    return Lakefeed(home=str(folder))


def names(ctx: click.Context, kind: str) -> list[str]:
    """The names of the home's connections, flows or datasets, sorted."""
    lf = _engine(ctx)
    if lf is None:
        return []
    if kind == "connections":
        found = [c.name for c in lf.connections.list()]
    elif kind == "flows":
        found = [f.name for f in lf.flows.list_flows()]
    else:
        found = [d.name for d in lf.datasets.list()]
    return sorted(found)


def name_completer(kind: str) -> Completer:
    def complete(
        ctx: click.Context, _param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            found = names(ctx, kind)
        except Exception:  # a broken or locked home: no suggestions rather than a traceback
            return []
        return [CompletionItem(name) for name in found if name.startswith(incomplete)]

    return complete


def attach_name_completion(command: click.Command) -> None:
    """Give every parameter named in :data:`COMPLETED_PARAMS`, in ``command`` and all its
    sub-commands, its name completion (unless it completes in its own way already)."""
    for param in command.params:
        kind = COMPLETED_PARAMS.get(param.name or "")
        if kind is not None and param._custom_shell_complete is None:
            param._custom_shell_complete = name_completer(kind)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_name_completion(sub)
