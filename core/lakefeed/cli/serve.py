"""``lakefeed serve``: the REST service on uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import ipaddress

import click

from lakefeed.cli.context import engine
from lakefeed.errors import InvalidRequest

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


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
def serve_command(host: str, port: int, log_level: str, allow_remote: bool) -> None:
    """Run the REST service: Flow Service, Catalog, Schema Registry and export routes over the
    lakefeed home, until interrupted."""
    if not allow_remote and not is_loopback(host):
        raise InvalidRequest(
            f"Refusing to bind {host!r}: lakefeed serve binds loopback (127.0.0.1) only, so the "
            "API is not exposed by accident.",
            fix="Keep --host 127.0.0.1 behind a TLS reverse proxy, or pass --allow-remote.",
        )
    import uvicorn

    from lakefeed.api import create_app

    lf = engine()
    app = create_app(lf)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"lakefeed serving {lf.home} on http://{shown}:{port} (docs: /docs)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
