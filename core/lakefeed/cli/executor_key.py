"""``lakefeed executor-key``: a new key that seals conversion tasks for a Dask cluster."""

from __future__ import annotations

import click


@click.command("executor-key")
def executor_key_command() -> None:
    """Print a new executor key. Set it as LAKEFEED_EXECUTOR_KEY where lakefeed runs and on
    every Dask worker: tasks (connection secrets among them) cross the scheduler sealed with it.
    """
    from lakefeed.flows.sealed_tasks import TaskSeal

    click.echo(TaskSeal.new_key())
