"""The ``lakefeed`` command line: one module per command group, thin over :class:`Lakefeed`."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import click

from lakefeed.__about__ import __version__
from lakefeed.errors import LakefeedError

#: The exit status of a command whose reader went away (`lakefeed ls | head`): 128 + SIGPIPE,
#: as a shell reports a Unix tool ended by a closed pipe.
CLOSED_PIPE_EXIT = 141


def closed_pipe(exc: BaseException) -> bool:
    """Whether ``exc`` is a write to a pipe whose reader has gone (BrokenPipeError, EPIPE)."""
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE


def silence_stdout() -> None:
    """Point standard output at the null device, so the interpreter's last flush of what is
    still buffered does not print "Exception ignored … BrokenPipeError" (as Python's docs on
    SIGPIPE advise)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # no real file descriptor (e.g. captured in tests): nothing will be flushed to it


class LakefeedGroup(click.Group):
    """Prints lakefeed errors as one clear message (no traceback; JSON on standard error under
    ``--json``) and exits 1; records which command runs (``"flows run"``), so ``--server`` can
    refuse those with no remote form."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        words = [name or ""]
        if isinstance(command, click.Group):
            words += [a for a in rest if not a.startswith("-")][:1]
        ctx.meta["lakefeed.command"] = " ".join(words)
        ctx.meta["lakefeed.help"] = any(a in ("-h", "--help") for a in rest)
        # Known before the command's own options are parsed, so a usage error is JSON too.
        ctx.meta["lakefeed.json"] = "--json" in rest[: rest.index("--") if "--" in rest else None]
        return name, command, rest

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The root options (--home …) are parsed before any command: a bad one is JSON too.
        if ctx.parent is None:
            ctx.meta["lakefeed.json"] = (
                "--json" in args[: args.index("--") if "--" in args else None]
            )
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            self._usage_error(ctx, exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LakefeedError as exc:
            from lakefeed.cli.output import print_error

            print_error(exc)
            ctx.exit(1)
        except click.ClickException as exc:
            self._usage_error(ctx, exc)
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if closed_pipe(exc):
                silence_stdout()
                ctx.exit(CLOSED_PIPE_EXIT)
            # The last resort: a bug or a broken database file is one line (JSON under
            # --json), never a traceback, unless LAKEFEED_DEBUG asks for it.
            if os.environ.get("LAKEFEED_DEBUG", "").strip() not in ("", "0"):
                raise
            from lakefeed.cli.output import internal_error, print_error

            print_error(internal_error(exc))
            ctx.exit(1)

    @staticmethod
    def _usage_error(ctx: click.Context, exc: click.ClickException) -> None:
        """Under ``--json``, ``exc`` as a JSON error on standard error, and exit with its code."""
        if not ctx.meta.get("lakefeed.json"):
            return
        from lakefeed.cli.output import print_error
        from lakefeed.errors import InvalidRequest

        usage = exc.ctx.get_usage() if isinstance(exc, click.UsageError) and exc.ctx else ""
        help_of = " ".join(["lakefeed", ctx.meta.get("lakefeed.command", ""), "--help"]).split()
        fix = f"{usage} (--help lists the options)." if usage else None
        print_error(
            InvalidRequest(exc.format_message(), fix=fix or f"`{' '.join(help_of)}` lists them.")
        )
        ctx.exit(exc.exit_code)


@click.group(cls=LakefeedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lakefeed")
@click.option(
    "--home",
    envvar="LAKEFEED_HOME",
    type=click.Path(file_okay=False),
    help="State folder (connections, secrets key). Default: ~/.lakefeed.",
)
@click.option(
    "--server",
    envvar="LAKEFEED_SERVER",
    metavar="URL",
    help="Read from this lakefeed server instead of --home (connections list|show, flows "
    "list|show|run, runs list|show, datasets list|show, mappings).",
)
@click.option("--api-key", envvar="LAKEFEED_API_KEY", help="API key for --server.")
@click.option(
    "--client-secret",
    envvar="LAKEFEED_CLIENT_SECRET",
    help="Client secret for --server (prefer the variable: flags show in `ps`).",
)
@click.option(
    "--org",
    envvar="LAKEFEED_ORG",
    help="Org id (x-gw-ims-org-id) the command works in: on --server, or in --home when given "
    "as this flag (default there: local, the CLI's own org; LAKEFEED_ORG is for --server).",
)
@click.option(
    "--sandbox",
    envvar="LAKEFEED_SANDBOX",
    default="prod",
    show_default=True,
    help="Sandbox (x-sandbox-name) the command works in, on --server or (as this flag) in --home.",
)
@click.option(
    "--executor",
    envvar="LAKEFEED_EXECUTOR",
    metavar="SPEC",
    help="What converts a run's files: inprocess (default), processes (one worker per core), "
    "processes:N, or dask://HOST:PORT (a dask.distributed cluster; docs/how-to/scale-out.md).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    home: str | None,
    server: str | None,
    api_key: str | None,
    client_secret: str | None,
    org: str | None,
    sandbox: str,
    executor: str | None,
) -> None:
    """lakefeed: ingest Parquet files from cloud storage into governed datasets."""
    from lakefeed.cli.context import LazyEngine

    remote = None
    if server:
        from lakefeed.cli.context import Remote
        from lakefeed.cli.resources import check_remote_command

        if not ctx.meta.get("lakefeed.help"):
            check_remote_command(ctx.meta.get("lakefeed.command", ""))
        remote = Remote(server, api_key, client_secret, org, sandbox)
    # In the local home only the flags choose the scope: LAKEFEED_ORG and LAKEFEED_SANDBOX are
    # set for --server, and must not move local commands into another org without a word.
    local_org = org if _given(ctx, "org") else None
    local_sandbox = sandbox if _given(ctx, "sandbox") else "prod"
    ctx.obj = LazyEngine(
        home, remote, org=local_org or "local", sandbox=local_sandbox, executor=executor
    )


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line (not by its variable)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _register_commands() -> None:
    from lakefeed.cli import (
        auth,
        batches,
        connections,
        datasets,
        db,
        executor_key,
        files,
        flows,
        ingest,
        keys,
        mappings,
        plugins,
        runs,
        sandboxes,
        scheduler,
        schemas,
        serve,
    )

    cli.add_command(executor_key.executor_key_command)
    cli.add_command(plugins.plugins_command)
    cli.add_command(plugins.specs_command)
    cli.add_command(connections.connections)
    cli.add_command(files.ls_command)
    cli.add_command(files.inspect_command)
    cli.add_command(files.preview_command)
    cli.add_command(schemas.schemas)
    cli.add_command(datasets.datasets)
    cli.add_command(mappings.mappings)
    cli.add_command(flows.flows)
    cli.add_command(runs.runs)
    cli.add_command(batches.batches)
    cli.add_command(ingest.ingest_command)
    cli.add_command(serve.serve_command)
    cli.add_command(scheduler.scheduler_command)
    cli.add_command(auth.auth)
    cli.add_command(sandboxes.sandboxes)
    cli.add_command(db.db)
    cli.add_command(keys.keys)
    _complete_names()


def _complete_names() -> None:
    from lakefeed.cli.completion import attach_name_completion

    attach_name_completion(cli)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    try:
        from lakefeed.plugins import get_plugins

        get_plugins().register_commands(cli)
        _complete_names()  # plugin commands' connection, flow and dataset params too
    except LakefeedError as exc:
        # A broken plugin must not take `--help` or the built-in commands down with it;
        # commands that need the plugins report the error again when they run.
        from lakefeed.cli.output import print_error

        print_error(exc)
    try:
        cli.main(args=argv, prog_name="lakefeed")
    finally:
        # Flush here, so a reader that went away after the command ended (its output still
        # buffered) ends the process quietly too, not with noise at interpreter exit.
        try:
            sys.stdout.flush()
        except OSError as exc:
            if not closed_pipe(exc):
                raise
            silence_stdout()
            sys.exit(CLOSED_PIPE_EXIT)
