"""The ``lakefeed`` command line: one module per command group, thin over :class:`Lakefeed`."""

from __future__ import annotations

from typing import Any

import click

from lakefeed.__about__ import __version__
from lakefeed.errors import LakefeedError


class LakefeedGroup(click.Group):
    """Prints lakefeed errors as one clear message (no traceback) and exits 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LakefeedError as exc:
            from lakefeed.cli.output import print_error

            print_error(exc)
            ctx.exit(1)


@click.group(cls=LakefeedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lakefeed")
@click.option(
    "--home",
    envvar="LAKEFEED_HOME",
    type=click.Path(file_okay=False),
    help="State folder (connections, secrets key). Default: ~/.lakefeed.",
)
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """lakefeed: ingest Parquet files from cloud storage into governed datasets."""
    from lakefeed.cli.context import LazyEngine

    ctx.obj = LazyEngine(home)


def _register_commands() -> None:
    from lakefeed.cli import (
        batches,
        connections,
        datasets,
        files,
        flows,
        ingest,
        plugins,
        runs,
        schemas,
    )

    cli.add_command(plugins.plugins_command)
    cli.add_command(plugins.specs_command)
    cli.add_command(connections.connections)
    cli.add_command(files.ls_command)
    cli.add_command(files.inspect_command)
    cli.add_command(files.preview_command)
    cli.add_command(schemas.schemas)
    cli.add_command(datasets.datasets)
    cli.add_command(flows.flows)
    cli.add_command(runs.runs)
    cli.add_command(batches.batches)
    cli.add_command(ingest.ingest_command)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    try:
        from lakefeed.plugins import get_plugins

        get_plugins().register_commands(cli)
    except LakefeedError as exc:
        # A broken plugin must not take `--help` or the built-in commands down with it;
        # commands that need the plugins report the error again when they run.
        from lakefeed.cli.output import print_error

        print_error(exc)
    cli.main(args=argv, prog_name="lakefeed")
