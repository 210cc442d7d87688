"""The hooks a lakefeed plugin can implement. Each docstring is the contract.

Plugins implement hooks with ``from lakefeed import hookimpl``. New arguments may be added to a
hook in a later release; no argument is ever renamed or removed, so implement only the arguments
you need (pluggy passes them by name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pluggy import HookspecMarker

if TYPE_CHECKING:
    import click

    from lakefeed.storage.source import SourceType

hookspec = HookspecMarker("lakefeed")


# --- storage sources ---------------------------------------------------------------------------


@hookspec
def register_source_types(register: Callable[[SourceType], None]) -> None:
    """Contribute storage source types.

    Call ``register(source_type)`` once per :class:`lakefeed.storage.SourceType` the plugin
    provides. A source type carries its connection spec (id, name, auth specs) and knows how to
    build an fsspec filesystem from a connection's auth params; it may override listing,
    footer reading, error translation and the connection test where its backend can do better
    than the shared defaults.

    Registering a spec id or name that another plugin already registered is an error naming
    both plugins.

    :param register: callable taking one ``SourceType`` instance.
    """


# --- command line ------------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``lakefeed`` CLI.

    Called once when the CLI starts. Use ``@cli.command()`` or ``cli.add_command(...)``; import
    heavy modules inside the command functions so that ``lakefeed --help`` stays fast.

    :param cli: the top-level ``click.Group``.
    """
