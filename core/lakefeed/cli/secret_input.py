"""New values of secret params for ``connections update``: from a file, standard input or a
hidden prompt — never from a plain command-line value, which shows in ``ps`` and shell history.
No message here quotes a secret."""

from __future__ import annotations

import sys

import click

from lakefeed.cli.text_source import read_text_source
from lakefeed.errors import InvalidRequest
from lakefeed.specs import AuthSpec, Param


def refuse_plain_secrets(auth: AuthSpec, pairs: tuple[str, ...]) -> None:
    """Refuse ``--param SECRET=VALUE``; ``--param SECRET=@FILE`` reads a file and is fine."""
    for name in plain_secret_names(auth, pairs)[:1]:
        raise InvalidRequest(
            f"--param {name} is a secret and takes no value on the command line, where "
            "it would show in `ps` and the shell history (the value was not stored).",
            fix=f"Use --secret {name} (hidden prompt), --secret {name} --secret-file FILE, "
            f"--secret {name} --secret-file - (standard input) or --param {name}=@FILE.",
        )


def plain_secret_names(auth: AuthSpec, pairs: tuple[str, ...]) -> list[str]:
    """The secret params given as ``--param SECRET=VALUE`` (a plain value, not ``@FILE``)."""
    found = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name in auth.secret_names and value and not value.startswith("@"):
            found.append(name)
    return found


def warn_plain_secrets(auth: AuthSpec, pairs: tuple[str, ...]) -> None:
    """``connections create`` still takes ``--param SECRET=VALUE`` (scripts use it), but says
    on standard error that the value shows in ``ps`` and the shell history; names the param,
    never the value."""
    for name in plain_secret_names(auth, pairs):
        click.echo(
            f"Warning: --param {name} is a secret given on the command line, where it shows in "
            f"`ps` and the shell history. Prefer --param {name}=@FILE, --params-file FILE "
            "(or - for standard input), or leave it out to be prompted for it.",
            err=True,
        )


def _secret_param(auth: AuthSpec, name: str) -> Param:
    param = auth.param(name)
    if param is None or not param.secret:
        secrets = ", ".join(sorted(auth.secret_names)) or "none"
        raise InvalidRequest(
            f"{name!r} is not a secret param of auth spec {auth.name!r} (its secrets: {secrets}).",
            fix="Name one of its secrets with --secret; change other params with --param.",
        )
    return param


def _read_secret(source: str, name: str) -> str:
    return read_text_source(
        source,
        f"the new {name}",
        fix="Check the path of --secret-file, or pass '-' to read standard input.",
    ).strip()


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal a person can type a hidden answer into."""
    return sys.stdin.isatty()


def prompt_secret(text: str, name: str, *, confirm: bool) -> str:
    """A hidden prompt for the secret ``name``; refused when standard input is not a terminal
    (click would read the pipe, warning that the input may be echoed, or abort)."""
    if not stdin_is_terminal():
        raise InvalidRequest(
            f"Cannot prompt for the secret {name}: standard input is not a terminal.",
            fix=f"Pipe it with --secret {name} --secret-file -, or name a file with "
            "--secret-file FILE.",
        )
    return str(click.prompt(text, hide_input=True, confirmation_prompt=confirm, err=True))


def new_secrets(auth: AuthSpec, names: tuple[str, ...], secret_file: str | None) -> dict[str, str]:
    """The new values of the secrets ``names`` (by default, with ``secret_file``, the auth
    spec's only secret): read from ``secret_file`` (``-``: standard input), else prompted for
    with hidden input, twice."""
    if secret_file is not None and not names:
        if len(auth.secret_names) != 1:
            raise InvalidRequest(
                f"Auth spec {auth.name!r} has the secrets "
                f"{', '.join(sorted(auth.secret_names)) or '(none)'}: say which one "
                "--secret-file holds.",
                fix="Add --secret NAME.",
            )
        names = tuple(auth.secret_names)
    if secret_file is not None and len(names) > 1:
        raise InvalidRequest(
            "--secret-file holds one secret, but several --secret were given.",
            fix="Rotate one secret per --secret-file, or leave --secret-file out to be "
            "prompted for each.",
        )
    values: dict[str, str] = {}
    for name in names:
        param = _secret_param(auth, name)
        name = param.name
        if secret_file is not None:
            value = _read_secret(secret_file, name)
        else:
            value = prompt_secret(f"New {param.title} ({name})", name, confirm=True)
        if not value.strip():
            raise InvalidRequest(
                f"The new value of {name} is empty.",
                fix="Give the secret itself; an empty file or answer changes nothing.",
            )
        values[name] = value.strip()
    return values
