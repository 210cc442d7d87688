"""``lakefeed auth create-client|token``: API clients and tokens of the REST service."""

from __future__ import annotations

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, json_option, table
from lakefeed.errors import ResourceNotFound


@click.group("auth")
def auth() -> None:
    """API clients and access tokens for `lakefeed serve` (stored in the lakefeed home)."""


@auth.command("create-client")
@click.option("--org", required=True, help="Org id the client belongs to (x-gw-ims-org-id).")
@click.option(
    "--sandbox",
    "sandboxes",
    multiple=True,
    help="Limit the client to this sandbox (repeatable). Default: every sandbox of the org.",
)
@json_option
def create_client(org: str, sandboxes: tuple[str, ...], as_json: bool) -> None:
    """Create an API client; print its API key and client secret (shown once)."""
    api_key, secret = engine().auth.create_client(org, sandboxes)
    if as_json:
        emit_json({"apiKey": api_key, "clientSecret": secret})
        return
    table(
        "API client",
        ["field", "value"],
        [
            ("apiKey", api_key),
            ("clientSecret", secret),
            ("org", org),
            ("sandboxes", ", ".join(sandboxes) or "(all of the org's)"),
        ],
    )
    console(stderr=True).print(
        "[yellow]Warning:[/] the client secret is shown only now (lakefeed keeps its hash). "
        "Store it in a secret manager."
    )


@auth.command("token")
@click.option("--org", required=True, help="Org id of the client.")
@click.option(
    "--api-key",
    help="Client to issue the token to. Default: the org's first client (created if none).",
)
@json_option
def token(org: str, api_key: str | None, as_json: bool) -> None:
    """Issue an access token locally, without the client secret (for curl and scripts)."""
    store = engine().auth
    if api_key:
        client = store.client(api_key)
        if client is None or client.ims_org_id != org:
            raise ResourceNotFound(
                f"No API client {api_key!r} in org {org!r}.",
                fix="`lakefeed auth create-client --org ORG` creates one.",
            )
    else:
        clients = store.clients(org)
        if clients:
            api_key = clients[0].api_key
        else:
            api_key, _ = store.create_client(org)
            console(stderr=True).print(f"Created API client {api_key} for org {org}.")
    access_token, expires_in = store.issue_token(api_key)
    body = {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "apiKey": api_key,
    }
    if as_json:
        emit_json(body)
        return
    table("Access token", ["field", "value"], list(body.items()))
    console().print(
        f"Send: Authorization: Bearer <access_token>, x-api-key: {api_key}, "
        f"x-gw-ims-org-id: {org}, x-sandbox-name: prod"
    )
