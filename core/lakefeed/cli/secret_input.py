"""New values of secret params for ``connections update``: from a file, standard input or a
hidden prompt — never from a plain command-line value, which shows in ``ps`` and shell history.
No message here quotes a secret."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lakefeed.errors import InvalidRequest
from lakefeed.specs import AuthSpec, Param


def refuse_plain_secrets(auth: AuthSpec, pairs: tuple[str, ...]) -> None:
    """Refuse ``--param SECRET=VALUE``; ``--param SECRET=@FILE`` reads a file and is fine."""
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if sep and name in auth.secret_names and value and not value.startswith("@"):
            raise InvalidRequest(
                f"--param {name} is a secret and takes no value on the command line, where "
                "it would show in `ps` and the shell history (the value was not stored).",
                fix=f"Use --secret {name} (hidden prompt), --secret {name} --secret-file FILE, "
                f"--secret {name} --secret-file - (standard input) or --param {name}=@FILE.",
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
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise InvalidRequest(
                f"Cannot read the new {name} from {str(path)!r}: {reason}.",
                fix="Check the path of --secret-file, or pass '-' to read standard input.",
            ) from None
    return text.strip()


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
            value = click.prompt(
                f"New {param.title} ({name})", hide_input=True, confirmation_prompt=True, err=True
            )
        if not value.strip():
            raise InvalidRequest(
                f"The new value of {name} is empty.",
                fix="Give the secret itself; an empty file or answer changes nothing.",
            )
        values[name] = value.strip()
    return values
