"""``lakefeed serve``: the REST service on uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import log_printably
from lakefeed.cli.scheduler import build_scheduler, scheduler_options
from lakefeed.config import metrics_token_from_file
from lakefeed.errors import InvalidRequest

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for uvicorn to serve on, bound here so that a port
    in use or an address this machine does not have is a lakefeed error before anything
    starts (uvicorn would log it and exit 3, the code of a partial run)."""
    # IPv6 only for an IPv6 address, as uvicorn decides: "localhost" is 127.0.0.1.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, family, socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InvalidRequest(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            fix="Give --host an address of this machine, e.g. 127.0.0.1.",
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidRequest(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            fix="Another process may hold the port (`ss -ltnp` shows which): stop it, or pass "
            "another --port (0: any free port); else give --host an address of this machine.",
        ) from None
    return sock


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="TCP port."
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="uvicorn's log level.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other than loopback (put TLS in front of it).",
)
@click.option(
    "--allow-endpoint",
    "allow_endpoints",
    multiple=True,
    metavar="ENDPOINT",
    help="Let connections reach this host, host:port or CIDR network although it is "
    "loopback, link-local or private (repeatable; added to LAKEFEED_ALLOW_ENDPOINTS).",
)
@click.option(
    "--metrics-token-file",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Require `Authorization: Bearer <token>` on /metrics, the token read from this file "
    "(instead of LAKEFEED_METRICS_TOKEN).",
)
@click.option(
    "--scheduler",
    "with_scheduler",
    is_flag=True,
    help="Also run the scheduler in this process (see `lakefeed scheduler`).",
)
@scheduler_options
def serve_command(
    host: str,
    port: int,
    log_level: str,
    allow_remote: bool,
    allow_endpoints: tuple[str, ...],
    metrics_token_file: str | None,
    with_scheduler: bool,
    poll_seconds: float,
    lease_seconds: float,
    max_concurrent_runs: int,
    discover_every: float | None,
    grace_seconds: float,
) -> None:
    """Run the REST service: Flow Service, Catalog, Schema Registry and export routes, and the
    web console at /console, over the lakefeed home, until interrupted; with --scheduler, the
    scheduler too (the other options are the scheduler's, as for `lakefeed scheduler`)."""
    if not allow_remote and not is_loopback(host):
        raise InvalidRequest(
            f"Refusing to bind {host!r}: lakefeed serve binds loopback (127.0.0.1) only, so the "
            "API is not exposed by accident.",
            fix="Keep --host 127.0.0.1 behind a TLS reverse proxy, or pass --allow-remote.",
        )
    metrics_token = metrics_token_from_file(metrics_token_file) if metrics_token_file else None
    sock = listen(host, port)
    port = sock.getsockname()[1]  # the port chosen, for --port 0
    import uvicorn

    from lakefeed.api import create_app
    from lakefeed.api.app import confined_engine

    # API clients reach only the endpoints the operator allows; so do the scheduler's runs.
    lf = confined_engine(engine(), allow_endpoints)
    scheduler = None
    if with_scheduler:
        from lakefeed.api.local_roots import check_flow

        # Flows created over REST run under the server's rules: LAKEFEED_LOCAL_ROOTS is checked
        # at each run, so narrowing it stops them too.
        scheduler = build_scheduler(
            lf, poll_seconds, lease_seconds, max_concurrent_runs, discover_every, check_flow
        )
    log_printably(logging.WARNING)  # the scheduler's INFO lines when it runs here
    app = create_app(
        lf,
        scheduler=scheduler,
        scheduler_grace_seconds=grace_seconds,
        metrics_token=metrics_token,
    )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"lakefeed serving {lf.home} on http://{shown}:{port} (docs: /docs)", err=True)
    roots = lf.settings.local_roots
    click.echo(
        f"local-files connections may read only under LAKEFEED_LOCAL_ROOTS={os.pathsep.join(roots)}"
        if roots
        else "local-files connections are refused over REST (LAKEFEED_LOCAL_ROOTS is not set)",
        err=True,
    )
    assert lf.endpoints is not None
    allowed = ",".join(entry.text for entry in lf.endpoints.allowed)
    click.echo(
        "connections may not reach loopback, link-local or private addresses"
        + (f" except LAKEFEED_ALLOW_ENDPOINTS={allowed}" if allowed else ""),
        err=True,
    )
    click.echo(
        "connections may use this server's own cloud credentials "
        "(LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1)"
        if lf.endpoints.ambient_credentials
        else "connections may not use this server's own cloud credentials "
        "(LAKEFEED_ALLOW_AMBIENT_CREDENTIALS is not set)",
        err=True,
    )
    click.echo(
        "/metrics requires its bearer token"
        if app.state.metrics_token
        else "/metrics answers anyone who reaches this server (LAKEFEED_METRICS_TOKEN and "
        "--metrics-token-file are not set)",
        err=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    server.run(sockets=[sock])
