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

    from lakefeed.formats import FileFormat
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


# --- file formats ------------------------------------------------------------------------------


@hookspec
def register_formats(register: Callable[[FileFormat], None]) -> None:
    """Contribute file formats.

    Call ``register(file_format)`` once per :class:`lakefeed.formats.FileFormat` the plugin
    provides. A format has a name, the file name endings it recognises, the Flow Service
    ``data.format`` values it reads and the explore ``fileType`` it answers to; it inspects
    files from ranged reads (schema, row count, its own statistics) and streams their rows as
    Arrow record batches. Parquet is registered this way too, by the bundled plugin
    ``parquet``.

    Registering a name, ``data.format`` value or ``fileType`` that another plugin's format
    already answers to is an error naming both plugins.

    :param register: callable taking one ``FileFormat`` instance.
    """


# --- command line ------------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``lakefeed`` CLI.

    Called once when the CLI starts. Use ``@cli.command()`` or ``cli.add_command(...)``; import
    heavy modules inside the command functions so that ``lakefeed --help`` stays fast.

    :param cli: the top-level ``click.Group``.
    """
