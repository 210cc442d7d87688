"""``lakefeed connections create|list|show|update|test|delete``."""

from __future__ import annotations

import json
import re
from typing import Any

import click
from rich.markup import escape

from lakefeed.auth_choice import choose_auth_spec
from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, fields_option, json_option, table
from lakefeed.cli.ranges import seconds
from lakefeed.cli.resources import resources
from lakefeed.cli.secret_input import prompt_secret, stdin_is_terminal, warn_plain_secrets
from lakefeed.cli.text_source import read_text_source
from lakefeed.errors import InvalidRequest
from lakefeed.specs import DATASET_TARGET_SPEC_ID
from lakefeed.storage.timeouts import MAX_SECONDS

#: How tables name the dataset (Data Lake) spec: its connections are targets, not storage.
DATASET_SPEC_LABEL = "Data Lake (dataset target)"


@click.group("connections")
def connections() -> None:
    """Base connections: credentials for one storage account or server."""


def _param_value(name: str, raw: str) -> str:
    # @FILE reads a value from a file so secrets stay out of shell history and `ps`.
    if raw == "@":
        raise InvalidRequest(
            f"--param {name}=@ names no file (the value was not stored).",
            fix=f"Write --param {name}=@FILE to read the value from FILE, or "
            f"--param {name}=@- for standard input.",
        )
    if raw.startswith("@"):
        return read_text_source(
            raw[1:],
            f"the value of --param {name}",
            fix="Check the file after '@', or pass the value itself.",
        ).strip()
    return raw


def _param_named(number: int, pair: str) -> str:
    """A malformed ``--param`` named for a message, never with its value (it may be a secret):
    the name before a ``:`` or a space (``s3SecretKey:…``), else only its position."""
    found = re.match(r"\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*[:\s]", pair)
    if found:
        return f"--param {found.group(1)!r}"
    return f"--param number {number}"


def parse_params(pairs: tuple[str, ...], params_file: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if params_file:
        text = read_text_source(
            params_file,
            "--params-file",
            fix="Check the path, or pass '-' to read the JSON from standard input.",
        )
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(
                f"--params-file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}.",
                fix='Write one JSON object, e.g. {"s3AccessKey": "...", "s3SecretKey": "..."}.',
            ) from None
        except RecursionError:
            source = "standard input" if params_file == "-" else repr(params_file[:200])
            raise InvalidRequest(
                f"--params-file {source} is nested too deeply to read: it is not a JSON object "
                "of params.",
                fix='Write one JSON object, e.g. {"s3AccessKey": "...", "s3SecretKey": "..."}.',
            ) from None
        if not isinstance(loaded, dict):
            raise InvalidRequest("--params-file must hold a JSON object.", fix="Wrap it in {}.")
        params.update(loaded)
    for number, pair in enumerate(pairs, 1):
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidRequest(
                f"{_param_named(number, pair)} is not NAME=VALUE.",
                fix="Write e.g. --param bucketName=raw (NAME, then '=', then the value).",
            )
        params[name.strip()] = _param_value(name.strip(), value)
    return params


@connections.command("create")
@click.argument("name")
@click.option(
    "--spec", "spec", required=True, help="Connection spec id or name (see `lakefeed specs`)."
)
@click.option(
    "--auth",
    "--auth-spec",
    "auth_spec",
    help="Auth spec: its name or alias (access-key, ssh-key, sas…); default: the only one "
    "the params fit.",
)
@click.option(
    "--param", "-p", "pairs", multiple=True, help="NAME=VALUE, or NAME=@FILE to read the value."
)
@click.option("--params-file", help="JSON object of params ('-' for stdin).")
@click.option("--description", default="", help="Free text.")
@click.option(
    "--test/--no-test",
    "run_test",
    default=False,
    help="Test the connection first; store it only if the test passes.",
)
@json_option
def create(
    name: str,
    spec: str,
    auth_spec: str | None,
    pairs: tuple[str, ...],
    params_file: str | None,
    description: str,
    run_test: bool,
    as_json: bool,
) -> None:
    """Create a connection NAME; secret params are encrypted at rest and never printed."""
    lf = engine()
    params = parse_params(pairs, params_file)
    connection_spec = lf.connection_spec(spec)
    auth = choose_auth_spec(connection_spec, auth_spec, params)
    lf.plugins.source_type(spec).check_installed()  # before asking for a secret in vain
    warn_plain_secrets(auth, pairs)
    if stdin_is_terminal() and not as_json:
        for p in auth.params:
            if p.required and p.secret and not params.get(p.name):
                params[p.name] = prompt_secret(p.title, p.name, confirm=False)
    # Test before storing, so a failed --test leaves nothing behind.
    tested = lf.session_for(spec, params, auth.name).test() if run_test else None
    connection = lf.create_connection(name, spec, auth.name, params, description=description)
    if as_json:
        emit_json(
            {"id": connection.id, "etag": connection.etag, **({"test": tested} if tested else {})}
        )
        return
    console().print(f"Created connection [bold]{escape(connection.name)}[/] ({connection.id})")
    if tested:
        console().print(f"[green]OK[/]: {escape(tested)}")


@connections.command("list")
@json_option
@fields_option
def list_(as_json: bool) -> None:
    """List connections (secrets redacted)."""
    res = resources()
    items = res.connections()
    if as_json:
        emit_json({"items": items, "count": len(items)})
        return
    names = {s["id"]: s["name"] for s in res.connection_specs()}
    names[DATASET_TARGET_SPEC_ID] = DATASET_SPEC_LABEL
    table(
        "Connections",
        ["name", "id", "spec", "auth spec", "state"],
        (
            (
                c["name"],
                c["id"],
                names.get(c["connectionSpec"]["id"], c["connectionSpec"]["id"]),
                (c.get("auth") or {}).get("specName", ""),
                c["state"],
            )
            for c in items
        ),
    )


@connections.command("show")
@click.argument("connection")
@json_option
@fields_option
def show(connection: str, as_json: bool) -> None:
    """Show one connection by id or name (secrets redacted)."""
    item = resources().connection(connection)
    if as_json:
        emit_json({"items": [item]})
        return
    auth = item.get("auth") or {}
    rows = [(k, v) for k, v in item.items() if k != "auth"]
    if item["connectionSpec"]["id"] == DATASET_TARGET_SPEC_ID:
        rows += [("spec", DATASET_SPEC_LABEL), ("auth", "none")]
    else:
        rows += [("auth.specName", auth.get("specName", ""))]
        rows += [(f"auth.params.{k}", v) for k, v in (auth.get("params") or {}).items()]
    table(f"Connection {item['name']}", ["field", "value"], rows)


@connections.command("update")
@click.argument("connection")
@click.option("--name", "new_name", help="New name (unique).")
@click.option("--description", help="New description ('' clears it).")
@click.option(
    "--param",
    "-p",
    "pairs",
    multiple=True,
    help="NAME=VALUE: change one param (NAME= drops an optional one; NAME=@FILE reads it).",
)
@click.option("--params-file", help="JSON object of params to change ('-' for stdin).")
@click.option(
    "--secret",
    "secret_names",
    multiple=True,
    metavar="NAME",
    help="Rotate the secret param NAME: read from --secret-file, else a hidden prompt.",
)
@click.option(
    "--secret-file", metavar="FILE", help="File holding the new secret ('-': standard input)."
)
@click.option("--if-match", metavar="ETAG", help="Change only while the etag is still ETAG.")
@click.option(
    "--test/--no-test",
    "run_test",
    default=False,
    help="Test the new params first; store them only if the test passes.",
)
@json_option
def update(
    connection: str,
    new_name: str | None,
    description: str | None,
    pairs: tuple[str, ...],
    params_file: str | None,
    secret_names: tuple[str, ...],
    secret_file: str | None,
    if_match: str | None,
    run_test: bool,
    as_json: bool,
) -> None:
    """Change a connection's name, description or auth params, or rotate a secret; secrets
    are read from a file, standard input or a hidden prompt, never from the command line."""
    from lakefeed.cli.secret_input import new_secrets, refuse_plain_secrets

    lf = engine()
    current = lf.connection(connection)
    params: dict[str, Any] = {}
    if pairs or params_file or secret_names or secret_file:
        lf.source_access(current)  # refuses a dataset base connection: it has no params
        auth = lf.connection_spec(current.connection_spec_id).auth_spec(current.auth.spec_name)
        refuse_plain_secrets(auth, pairs)
        if params_file == "-" and secret_file == "-":
            raise InvalidRequest(
                "--params-file and --secret-file cannot both read standard input.",
                fix="Give one of them a file.",
            )
        params = parse_params(pairs, params_file)
        params.update(new_secrets(auth, secret_names, secret_file))
    if new_name is None and description is None and not params and not run_test:
        raise InvalidRequest(
            f"Nothing to change in connection {current.name!r}.",
            fix="Give --name, --description, --param, --params-file or --secret.",
        )
    updated = lf.update_connection(
        current.id,
        name=new_name,
        description=description,
        params=params,
        if_match=if_match,
        test=run_test,
    )
    if as_json:
        emit_json({"id": updated.id, "etag": updated.etag})
        return
    changed = [f for f, v in (("name", new_name), ("description", description)) if v is not None]
    changed += [f"auth.params.{k}" for k in params]
    console().print(
        f"Updated connection [bold]{escape(updated.name)}[/] ({updated.id})"
        + (f": {escape(', '.join(changed))}" if changed else "")
        + (" — tested OK" if run_test else "")
    )


@connections.command("test")
@click.argument("connection")
@click.option(
    "--timeout",
    type=seconds(0, MAX_SECONDS, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Give up after SECONDS, at most a day (default: $LAKEFEED_CONNECT_TIMEOUT, else 30).",
)
@json_option
def test(connection: str, timeout: float | None, as_json: bool) -> None:
    """Check that a connection reaches its storage; exit 1 with the reason when not."""
    detail = engine().session(connection).test(timeout=timeout)
    if as_json:
        emit_json({"result": True, "detail": detail})
        return
    console().print(f"[green]OK[/]: {escape(detail)}")


@connections.command("delete")
@click.argument("connection")
@click.option("--if-match", metavar="ETAG", help="Delete only while the etag is still ETAG.")
@json_option
def delete(connection: str, if_match: str | None, as_json: bool) -> None:
    """Delete a connection."""
    lf = engine()
    item = lf.connection(connection)
    lf.delete_connection(item.id, if_match=if_match)
    if as_json:
        emit_json({"deleted": item.id})
        return
    console().print(f"Deleted connection [bold]{escape(item.name)}[/] ({item.id})")
