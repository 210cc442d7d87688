"""Base connections in the console: the list, one connection (its spec, its non-secret params,
the flows that use it), testing it, exploring its folders and previewing a file.

Each page calls what the REST route calls (:mod:`lakefeed.api.flowservice_connections`): the
connection read in the user's org and sandbox, the storage session, then the same
``LAKEFEED_LOCAL_ROOTS`` and endpoint checks (:mod:`lakefeed.api.local_roots`) before the
session tests, lists or reads, so the console refuses what the REST API refuses, within the
same time limits (the session's). No secret reaches a template: a connection's params are
shown from the whitelist of those its auth spec declares non-secret, never masked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from lakefeed.api.console.web import ConsoleUser, UserDep, cell_text, checked_form, render
from lakefeed.api.flowservice_connections import _storage_connection
from lakefeed.api.local_roots import check_path, check_root
from lakefeed.api.security import root_engine
from lakefeed.api.server_paths import hider
from lakefeed.catalog.connections import Connection
from lakefeed.engine import Lakefeed
from lakefeed.errors import LakefeedError
from lakefeed.specs import DATASET_TARGET_SPEC, REDACTED, ConnectionSpec
from lakefeed.storage.session import StorageSession

router = APIRouter()

#: Rows and characters of a value a preview shows: enough to recognise the data.
PREVIEW_ROWS = 20
VALUE_CHARS = 80
#: The longest path the explore and preview pages take (no storage names a longer one).
PATH_CHARS = 4096
PathQuery = Annotated[str, Query(max_length=PATH_CHARS)]
#: Shown in place of a stored error text's redaction marker: a console page shows no mask.
SECRET_WORD = "[secret]"


def _spec(lf: Lakefeed, connection: Connection) -> ConnectionSpec | None:
    """The connection's spec, None for the dataset base connection or a spec whose plugin is
    not installed (the page then says so)."""
    if connection.is_dataset_base:
        return None
    try:
        return lf.connection_spec(connection.connection_spec_id)
    except LakefeedError:
        return None


def _spec_facts(lf: Lakefeed, connection: Connection) -> dict[str, Any]:
    spec = _spec(lf, connection)
    if connection.is_dataset_base:
        return {"name": DATASET_TARGET_SPEC.name, "label": "Datasets (Data Lake)", "found": True}
    if spec is None:
        return {"name": connection.connection_spec_id, "label": "not installed", "found": False}
    return {"name": spec.name, "label": spec.label, "found": True}


def _public_params(spec: ConnectionSpec | None, connection: Connection) -> list[dict[str, Any]]:
    """The params to show: only those the auth spec declares and does not mark secret, in its
    order; a value holding a secret (pasted into the wrong field) is left out too."""
    if spec is None:
        return []
    try:
        auth_spec = spec.auth_spec(connection.auth.spec_name)
    except LakefeedError:
        return []
    secrets = [str(v) for v in connection.auth.secrets().values() if len(str(v)) >= 4]
    shown = []
    for param in auth_spec.params:
        if param.secret or param.name not in connection.auth:
            continue
        value = connection.auth[param.name]
        if any(secret in str(value) for secret in secrets):
            continue
        shown.append({"name": param.name, "title": param.title, "value": value})
    return shown


def _row(lf: Lakefeed, connection: Connection) -> dict[str, Any]:
    """What the list shows of one connection (never its auth params)."""
    return {
        "id": connection.id,
        "name": connection.name,
        "spec": _spec_facts(lf, connection),
        "auth_spec": "" if connection.is_dataset_base else connection.auth.spec_name,
        "state": connection.state,
        "created": connection.created_at,
        "dataset_base": connection.is_dataset_base,
    }


@router.get("/connections", response_class=HTMLResponse)
def connections_page(request: Request, user: UserDep) -> HTMLResponse:
    """Every base connection of the sandbox, as ``GET /connections`` lists them."""
    lf = user.lf
    rows = [_row(lf, connection) for connection in lf.connections.list()]
    return render(request, user, "connections.html", active="connections", rows=rows)


def _test_result(request: Request, error: LakefeedError) -> dict[str, Any]:
    """A failed test as the REST API answers it (status, code, message and fix, server folders
    hidden), without the redaction marker."""
    hide = hider(root_engine(request).settings)

    def shown(text: str | None) -> str:
        return hide(text or "").replace(REDACTED, SECRET_WORD)

    return {
        "ok": False,
        "status": error.http_status,
        "title": error.title,
        "code": error.code,
        "message": shown(error.message),
        "fix": shown(error.fix),
    }


def _tested(request: Request, lf: Lakefeed, id: str) -> dict[str, Any]:
    """``GET /connections/{id}/test``'s calls; a refusal before the test (another sandbox's
    connection, a dataset base connection, a rootPath outside LAKEFEED_LOCAL_ROOTS) raises as
    it does there, the test's own failure is its result."""
    connection = _storage_connection(lf.connection(id), "test")
    session = lf.session(connection)
    check_root(lf.settings, session)
    try:
        detail = session.test()
    except LakefeedError as failed:
        return _test_result(request, failed)
    return {"ok": True, "detail": detail}


def _connection_page(
    request: Request, user: ConsoleUser, id: str, test: dict[str, Any] | None = None
) -> HTMLResponse:
    lf = user.lf
    connection = lf.connection(id)
    spec = _spec(lf, connection)
    return render(
        request,
        user,
        "connection.html",
        active="connections",
        connection=_row(lf, connection),
        description=connection.description,
        updated=connection.updated_at,
        spec_id=connection.connection_spec_id,
        spec_version=connection.connection_spec_version,
        spec_description=spec.description if spec is not None else "",
        params=_public_params(spec, connection),
        flows=lf.flows.flows_using_connection(connection.id),
        test=test,
    )


@router.get("/connections/{id}", response_class=HTMLResponse)
def connection_page(request: Request, user: UserDep, id: str) -> HTMLResponse:
    """One connection: its spec, its non-secret params, the flows using it, and its actions."""
    return _connection_page(request, user, id)


@router.post("/connections/{id}/test", response_class=HTMLResponse)
async def test_connection(request: Request, user: UserDep, id: str) -> HTMLResponse:
    """Test the connection as ``GET /connections/{id}/test`` does; the page again with the
    result (200 for a result either way)."""
    await checked_form(request, user)
    result = await run_in_threadpool(_tested, request, user.lf, id)
    return await run_in_threadpool(_connection_page, request, user, id, result)


def _opened(lf: Lakefeed, id: str, action: str, path: str) -> tuple[Connection, StorageSession]:
    """The connection and its session once ``path`` passed the checks ``/explore`` makes."""
    connection = _storage_connection(lf.connection(id), action)
    session = lf.session(connection)
    check_path(lf.settings, session, path)
    return connection, session


def _parent(session: StorageSession, path: str) -> str | None:
    """The folder above ``path`` ("" for the connection's root), None at the root."""
    root = session.resolve("").rstrip("/")
    if not path.strip("/") or session.resolve(path).rstrip("/") == root:
        return None
    head = path.rstrip("/").rpartition("/")[0]
    try:
        return "" if session.resolve(head).rstrip("/") == root else head
    except LakefeedError:
        return ""


@router.get("/connections/{id}/explore", response_class=HTMLResponse)
def explore_page(request: Request, user: UserDep, id: str, path: PathQuery = "") -> HTMLResponse:
    """The folders and files one level down from ``path`` (default: the connection's root), as
    ``GET /connections/{id}/explore?objectType=folder&object=PATH`` lists them."""
    connection, session = _opened(user.lf, id, "explore", path)
    entries = session.explore("folder", path) if path else session.explore("root")
    return render(
        request,
        user,
        "connection_explore.html",
        active="connections",
        connection=_row(user.lf, connection),
        path=path,
        parent=_parent(session, path),
        entries=entries,
    )


@router.get("/connections/{id}/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    user: UserDep,
    id: str,
    path: Annotated[str, Query(min_length=1, max_length=PATH_CHARS)],
) -> HTMLResponse:
    """A file's columns and first rows, as ``GET /connections/{id}/explore?objectType=file&
    object=PATH&preview=true`` reads them (the format its name says, else Parquet)."""
    lf = user.lf
    connection, session = _opened(lf, id, "explore", path)
    preview = session.preview(path, rows=PREVIEW_ROWS, file_format=lf.file_format_for(path))
    shaped = preview.to_dict()
    columns = [column["name"] for column in shaped["schema"]["columns"]]
    head = path.rstrip("/").rpartition("/")[0]
    return render(
        request,
        user,
        "connection_preview.html",
        active="connections",
        connection=_row(lf, connection),
        path=path,
        folder=head,
        format=shaped["format"],
        columns=shaped["schema"]["columns"],
        rows=[
            [cell_text(row.get(name), VALUE_CHARS) for name in columns] for row in shaped["data"]
        ],
        shown=PREVIEW_ROWS,
    )
