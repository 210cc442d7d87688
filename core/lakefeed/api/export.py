"""``/data/foundation/export``: batch diagnostics — the files a batch read and the rows it
rejected — as the Data Access API serves them.

``GET /batches/{id}/meta?path=…`` with ``path``:

- ``input_files``: the files the batch planned to read, ``{"_page": {count, limit}, "data":
  [{name, length, _links: {self: {href}}}]}`` (``limit`` per page, 1–100, default 100;
  ``start`` skips, ``_links.next`` follows);
- ``input_files/<name>``: JSON Lines, one ``{"path", "length", "status", …}`` for that file;
- ``row_errors``: the same listing of ``conversion_errors_<n>.json``, each of at most
  :data:`ROWS_PER_FILE` rejected rows (none when no row was rejected or diagnostics were off);
- ``row_errors/conversion_errors_<n>.json``: JSON Lines of ``{"_corrupt_record": <the row as
  JSON text>, "_errors": [{code, message, field?, line?}], "_filename": <source file>,
  "_rowIndex": n}``;
- ``row_error_samples.json``: the first :data:`SAMPLE_ROWS` of those records as a JSON array.

Another path answers 400 naming these; a file that is not listed answers 404.

``GET /batches/{id}/failed`` lists the same ``conversion_errors_<n>.json`` files (links to
``…/failed?path=<name>``), and ``?path=<name>`` gives one: the rows the batch rejected, each with
its reasons. The committed data (``/batches/{id}/files``, ``/files/{id}``, previews) is
:mod:`lakefeed.api.export_files`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from lakefeed.api import export_files
from lakefeed.api.export_files import PAGE, Limit, Start, href, page
from lakefeed.api.security import Caller, caller
from lakefeed.catalog.batches import BatchFile, BatchStore
from lakefeed.catalog.row_errors import RowErrorStore
from lakefeed.datasets.dataset_files import first_names
from lakefeed.errors import InvalidRequest, ResourceNotFound

PREFIX = export_files.PREFIX
router = APIRouter(tags=["export"])
router.include_router(export_files.router)

CallerDep = Annotated[Caller, Depends(caller)]
ROWS_PER_FILE = 10_000
SAMPLE_ROWS = 100
ERROR_FILE = "conversion_errors_{}.json"
NDJSON = "application/x-ndjson"
PATHS = "input_files, input_files/<name>, row_errors, row_errors/<file>, row_error_samples.json"


def _meta_href(batch_id: str, path: str, **query: Any) -> str:
    return href(f"/batches/{quote(batch_id, safe='')}/meta", path=path, **query)


def _failed_href(batch_id: str, path: str | None, **query: Any) -> str:
    return href(f"/batches/{quote(batch_id, safe='')}/failed", path=path, **query)


def _listing(
    names: list[str],
    *,
    start: int,
    limit: int,
    length: Callable[[str], int],
    link: Callable[..., str],
) -> dict[str, Any]:
    """One page of a folder's listing; ``length(name)`` is asked for the page's files only;
    ``link(name)`` is a file's href, ``link(None, start=…, limit=…)`` the next page's."""
    return page(
        names,
        start=start,
        limit=limit,
        shape=lambda name: {
            "name": name,
            "length": length(name),
            "_links": {"self": {"href": link(name)}},
        },
        next_href=lambda at: link(None, start=at, limit=limit),
    )


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _rejected(
    rejected: RowErrorStore, batch_id: str, *, limit: int, offset: int
) -> Iterator[dict[str, Any]]:
    """The rejected rows, one at a time as the database gives them (never a whole file)."""
    for error in rejected.list(batch_id, limit=limit, offset=offset):
        yield {
            "_corrupt_record": json.dumps(error.record, ensure_ascii=False),
            "_errors": [_error_shape(e) for e in error.errors],
            "_filename": error.source_file,
            "_rowIndex": error.row_index,
        }


def _error_shape(error: dict[str, Any]) -> dict[str, Any]:
    """``{code, message}``, with the ``field`` (the XDM path, or a mapping's destination) and
    the ``line`` of the source file where they are known."""
    shape = {"code": error["code"], "message": error["message"]}
    for key in ("field", "line"):
        if error.get(key) is not None:
            shape[key] = error[key]
    return shape


def _error_file_names(rejected: RowErrorStore, batch_id: str) -> list[str]:
    count = rejected.count(batch_id)
    return [ERROR_FILE.format(n) for n in range((count + ROWS_PER_FILE - 1) // ROWS_PER_FILE)]


def _error_file(
    rejected: RowErrorStore, batch_id: str, names: list[str], name: str
) -> Iterator[bytes]:
    """The JSON Lines of one row-error file, a line at a time."""
    offset = names.index(name) * ROWS_PER_FILE
    for record in _rejected(rejected, batch_id, limit=ROWS_PER_FILE, offset=offset):
        yield _line(record)


def _input_files(batches: BatchStore, batch_id: str) -> dict[str, BatchFile]:
    return {str(f.path).lstrip("/"): f for f in batches.files(batch_id)}


def _error_file_length(
    rejected: RowErrorStore, batch_id: str, names: list[str]
) -> Callable[[str], int]:
    """A file's length in bytes, summed a line at a time: no file is built to be measured."""

    def length(file: str) -> int:
        return sum(len(line) for line in _error_file(rejected, batch_id, names, file))

    return length


def _streamed(lines: Iterator[bytes]) -> StreamingResponse:
    return StreamingResponse(lines, media_type=NDJSON)


@router.get(
    "/batches/{id}/meta",
    responses={200: {"content": {NDJSON: {"schema": {"type": "string"}}}}},
)
def batch_meta(
    who: CallerDep,
    id: str,
    path: Annotated[str | None, Query(description=PATHS)] = None,
    start: Start = 0,
    limit: Limit = PAGE,
) -> Response:
    """A batch's input files and rejected rows: listings, and the files they list."""
    who.lf.batches.get(id)  # 404 for an unknown batch or another sandbox's
    rejected = who.lf.row_errors
    folder, _, name = (path or "").strip().strip("/").partition("/")

    def link(file: str | None, **query: Any) -> str:
        return _meta_href(id, f"{folder}/{file}" if file else folder, **query)

    if folder == "input_files":
        files = _input_files(who.lf.batches, id)
        if not name:
            size = {n: int(f.entry.size) for n, f in files.items()}
            listing = _listing(
                list(files), start=start, limit=limit, length=size.__getitem__, link=link
            )
            return JSONResponse(listing)
        found = files.get(name.lstrip("/"))
        if found is None:
            raise _not_listed(id, path or "", list(files))
        record = {
            "path": found.path,
            "length": found.entry.size,
            "status": found.status,
            "recordsIn": found.records_in,
            "recordsOut": found.records_out,
            "recordsFailed": found.records_failed,
        }
        return Response(_line(record), media_type=NDJSON)
    if folder == "row_errors":
        names = _error_file_names(rejected, id)
        if not name:
            length = _error_file_length(rejected, id, names)
            return JSONResponse(_listing(names, start=start, limit=limit, length=length, link=link))
        if name not in names:
            raise _not_listed(id, path or "", names)
        return _streamed(_error_file(rejected, id, names, name))
    if folder == "row_error_samples.json" and not name:
        return JSONResponse(list(_rejected(rejected, id, limit=SAMPLE_ROWS, offset=0)))
    asked = f"Unknown path {path!r}" if path else "No path"
    raise InvalidRequest(
        f"{asked} for the diagnostics of batch {id} (paths: {PATHS}).",
        fix="Start with path=input_files or path=row_errors.",
    )


@router.get(
    "/batches/{id}/failed",
    responses={200: {"content": {NDJSON: {"schema": {"type": "string"}}}}},
)
def batch_failed(
    who: CallerDep,
    id: str,
    path: Annotated[str | None, Query(description="A listed file: its rows.")] = None,
    start: Start = 0,
    limit: Limit = PAGE,
) -> Response:
    """The rows a batch rejected, with their reasons: the listing of its
    ``conversion_errors_<n>.json`` files, or (``path``) one of them as JSON Lines."""
    rejected = who.lf.row_errors
    names = _error_file_names(rejected, id)  # 404 for an unknown batch or another sandbox's
    if path is None:

        def link(file: str | None, **query: Any) -> str:
            return _failed_href(id, file, **query)

        length = _error_file_length(rejected, id, names)
        return JSONResponse(_listing(names, start=start, limit=limit, length=length, link=link))
    if path not in names:
        raise ResourceNotFound(
            f"Batch {id} has no failed file {path!r} (listed: {first_names(names)}).",
            fix=f"List them first: GET {_failed_href(id, None)}.",
        )
    return _streamed(_error_file(rejected, id, names, path))


def _not_listed(batch_id: str, path: str, names: list[str]) -> ResourceNotFound:
    return ResourceNotFound(
        f"Batch {batch_id} has no {path!r} (listed: {first_names(names)}).",
        fix="List the folder first (path=input_files or path=row_errors).",
    )
