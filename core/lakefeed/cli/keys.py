"""``lakefeed keys add|rotate|retire|status``: the keys that seal connection secrets at rest.
Keys are shown only as fingerprints (the first 8 hex digits of their SHA-256), never
themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from lakefeed.cli.context import engine
from lakefeed.cli.output import console, emit_json, json_option, table


@click.group("keys")
def keys() -> None:
    """The secret key file: stage and rotate its key, retire older keys, show which key opens
    what."""


@keys.command("add")
@json_option
def add(as_json: bool) -> None:
    """Stage a new key: append it to the key file as a key that opens but does not seal yet,
    re-sealing nothing. Copy the file to every machine, then run `lakefeed keys rotate`."""
    done = engine().add_secret_key()
    if as_json:
        emit_json(done.to_dict())
        return
    out = console()
    if done.added:
        out.print(
            f"Staged a new secret key {done.staged}; {done.current} still seals. The key file "
            f"holds {done.keys} keys.",
            markup=False,
        )
    else:
        out.print(
            f"A key is staged already ({done.staged}): nothing changed; {done.current} still "
            "seals.",
            markup=False,
        )
    out.print(
        f"Copy {done.key_file} to every machine that keeps its own copy, then run "
        "`lakefeed keys rotate`.",
        markup=False,
    )


@keys.command("rotate")
@click.option(
    "--new-key",
    is_flag=True,
    help="With no key staged: make a new key and seal with it at once (only where every "
    "process reads this one key file).",
)
@json_option
def rotate(new_key: bool, as_json: bool) -> None:
    """Move the staged key (`lakefeed keys add`) first in the key file, the older keys kept so
    every stored secret still opens, and re-seal every stored connection secret with it."""
    done = engine().rotate_secret_key(new_key=new_key)
    if as_json:
        emit_json(done.to_dict())
        return
    out = console()
    out.print(
        f"{'Staged' if done.promoted else 'New'} secret key {done.fingerprint} now seals (was "
        f"{done.previous}); the key file holds {done.keys} keys.",
        markup=False,
    )
    out.print(
        f"Re-sealed {done.resealed} of {done.secrets} stored secrets with it "
        f"({done.already_current} already were; {done.retried} changed meanwhile and were "
        "read again).",
        markup=False,
    )
    _warn_unreadable(done.unreadable, "left as they were")
    if done.promoted:
        out.print(
            f"Copy {done.key_file} to every machine that keeps its own copy (they seal with "
            f"{done.previous} until they have it), then run `lakefeed keys retire` to remove "
            "the older keys.",
            markup=False,
        )
    else:
        out.print(
            f"Back up {done.key_file} now: it holds the only copy of the new key. "
            "`lakefeed keys retire` removes the older keys.",
            markup=False,
        )


@keys.command("retire")
@click.option(
    "--no-backup",
    is_flag=True,
    help="Do not keep the key file as it was in <key file>.bak-<UTC time>.",
)
@json_option
def retire(no_backup: bool, as_json: bool) -> None:
    """Remove every key but the current one (and a staged one) from the key file, once every
    stored secret opens with it alone (re-sealing those that do not first). Refuses, changing
    nothing, while a stored secret opens with no key."""
    done = engine().retire_old_secret_keys(backup=not no_backup)
    if as_json:
        emit_json(done.to_dict())
        return
    out = console()
    if not done.retired:
        out.print(
            f"The key file holds no older key than {done.fingerprint}: nothing to retire. All "
            f"{done.secrets} stored secrets open with it.",
            markup=False,
        )
        return
    out.print(
        f"Retired {len(done.retired)} older key(s) ({', '.join(done.retired)}); the key file "
        f"keeps {done.fingerprint}. {done.resealed} of {done.secrets} stored secrets were "
        "re-sealed first; every one opens with the current key.",
        markup=False,
    )
    if done.backup is not None:
        out.print(
            f"The keys the file held: {done.backup} (keep it while database backups older "
            "than the rotation exist; it opens their secrets).",
            markup=False,
        )
    _warn_unreadable(done.unreadable, "changed by another writer meanwhile")


@keys.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show the keys of the key file by fingerprint, which seals and which is staged, and how
    many stored secrets each opens. Changes nothing (not even a missing database)."""
    found = engine().secret_key_status()
    if as_json:
        emit_json(found.to_dict())
        return
    out = console()
    if not found.keys:
        out.print(
            f"No key file at {found.key_file} (lakefeed creates it when the first connection "
            "is stored).",
            markup=False,
        )
    else:
        rows = [(k.fingerprint, _role(k), k.secrets) for k in found.keys]
        table(f"Keys in {found.key_file}", ["Fingerprint", "Role", "Secrets"], rows)
    out.print(
        f"Stored secrets: {found.secrets}; opened by no key: {len(found.unreadable)}.",
        markup=False,
    )
    _warn_unreadable(found.unreadable, "")


def _role(key: Any) -> str:
    return "seals" if key.current else "staged" if key.staged else "opens"


def _warn_unreadable(connections: Sequence[Any], what: str) -> None:
    if not connections:
        return
    names = ", ".join(str(c) for c in connections[:10])
    more = f" and {len(connections) - 10} more" if len(connections) > 10 else ""
    console(stderr=True).print(
        f"Warning: {len(connections)} connection(s) whose secrets open with no key in the key "
        f"file{' were ' + what if what else ''}: {names}{more}. Add the key they were "
        "sealed with to the key file as a line of its own (from another machine's copy of "
        "the file, or a backup).",
        markup=False,
    )
