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
from urllib.parse import quote

import click
from click.shell_completion import CompletionItem

#: Parameter name → the kind of names it completes.
COMPLETED_PARAMS = {
    "connection": "connections",
    "connection_or_url": "connections",
    "flow": "flows",
    "dataset": "datasets",
}

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _database_url(ctx: click.Context) -> str | None:
    """A read-only URL of the database of the home the command line names; None when it has
    none yet. Completing must never create a home or a database, nor migrate one."""
    from lakefeed.config import Settings

    root = ctx.find_root()
    home = root.params.get("home") or os.environ.get("LAKEFEED_HOME")
    folder = Path(home).expanduser() if home else Path.home() / ".lakefeed"
    if not folder.is_dir():
        return None
    url = Settings.load(str(folder)).database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        # SQLite's own read-only mode: no write, no journal, no schema change.
        return f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true"
    return url  # a server database: only read (SELECT) below


def names(ctx: click.Context, kind: str) -> list[str]:
    """The names of the home's connections, flows or datasets (of the default org and
    sandbox), sorted; read with one SELECT, never through the engine, which would create or
    migrate the database."""
    from lakefeed.catalog.names import read_names

    url = _database_url(ctx)
    return [] if url is None else read_names(url, kind)


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
