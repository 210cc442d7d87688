"""``LAKEFEED_LOCAL_ROOTS``: which server folders local-files connections may read over REST.

A local-files connection reads the server's disk with the server's permissions. The CLI and the
Python API are used by someone who already has those permissions; a REST caller is not, so every
route that stores, tests, explores or runs a local-files connection checks here that its root
(symlinks resolved) lies inside an allowed folder, and that a path given through it stays inside
the root. With the variable unset, local-files connections are refused over REST altogether.
A connection is checked when its source type reads local paths
(:attr:`lakefeed.storage.SourceType.reads_local_paths`, which the local-files plugin sets).

The same routes first refuse a connection that would act with the server's own cloud identity
(an ambient auth spec) unless ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS`` allows it: the rule lives
in the server's :class:`~lakefeed.storage.endpoints.EndpointPolicy`, applied here before a
connection is stored or used, and by the storage session whenever it connects.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lakefeed.config import Settings
from lakefeed.errors import Forbidden
from lakefeed.storage.session import StorageSession

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow
    from lakefeed.engine import Lakefeed

EXAMPLE_FIX = (
    "set LAKEFEED_LOCAL_ROOTS=/srv/drops on the server (folders separated by "
    f"{os.pathsep!r}) and give the connection a rootPath inside one of them."
)


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive (Windows)
        return False


def check_root(settings: Settings, session: StorageSession) -> None:
    """Raise :class:`Forbidden` unless ``session`` reads no local paths, or its root resolves
    inside one of ``settings.local_roots``; first, ``AmbientCredentialsForbidden`` when
    it would act with the server's own identity and the server does not allow that
    (:meth:`StorageSession.check_credentials`)."""
    session.check_credentials()
    if not session.source_type.reads_local_paths:
        return
    if not settings.local_roots:
        raise Forbidden(
            "Local-files connections are disabled over REST on this server: "
            "LAKEFEED_LOCAL_ROOTS is not set, so no server folder may be read.",
            fix=f"An administrator can {EXAMPLE_FIX}",
        )
    root = session.resolve("")
    real = os.path.realpath(root)
    allowed = [os.path.realpath(folder) for folder in settings.local_roots]
    # Neither where a symlink leads nor the allowed folders are shown: they name server
    # folders the caller must not learn of (the server's operator knows them).
    if not any(_inside(real, folder) for folder in allowed):
        raise Forbidden(
            f"rootPath {root!r} is, with symlinks resolved, outside the folders this server lets "
            "local-files connections read over REST.",
            fix="Use a rootPath inside one of the folders the server's operator allows, or ask "
            "them to add its folder to LAKEFEED_LOCAL_ROOTS on the server.",
        )


def check_path(settings: Settings, session: StorageSession, path: str) -> None:
    """:func:`check_root`, then: ``path`` (relative, absolute or a glob) resolves, symlinks
    included, inside the connection's root."""
    check_root(settings, session)
    if not session.source_type.reads_local_paths:
        return
    root = session.resolve("")
    real = os.path.realpath(session.resolve(path))  # '..' out of the root: InvalidRequest
    if not _inside(real, os.path.realpath(root)):
        raise Forbidden(
            f"Path {path!r} is, with symlinks resolved, outside the connection's root folder "
            f"{root!r}.",
            fix="Give a path inside the root folder (relative paths start there).",
        )


def check_flow(lf: Lakefeed, flow: Flow) -> None:
    """:func:`check_path` for the source a run of ``flow`` would read: every route that starts
    a run calls it first, and so does the in-process scheduler."""
    source = lf.flows.source_connection(flow.source_connection_id)
    check_path(lf.settings, lf.session(source.base_connection_id), source.path)
