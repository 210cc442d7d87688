"""``/data/foundation/export``: the data a batch committed, and a dataset's latest rows.

- ``GET /batches/{id}/files``: the batch's dataSetFiles, ``{"_page": {limit, count}, "data":
  [{dataSetFileId, dataSetId, version, created, updated, isValid, length, records, _links:
  {self: {href: /files/{dataSetFileId}}}}]}``; ``path=<name>`` downloads one data file of the
  batch instead.
- ``GET``/``HEAD /files/{dataSetFileId}``: the Parquet file itself when the dataSetFile has one
  (``Range`` honoured, see :mod:`lakefeed.api.byte_ranges`), else the listing of its files
  ``{"_page", "data": [{name, length, _links: {self: {href: …?path=<name>}}}]}``;
  ``path=<name>`` picks one.
- ``GET /datasets/{id}/preview``: ``{"data": [row, …]}``, the latest rows (at most 100).

Listings page with ``start`` (entries to skip) and ``limit`` (1–100, default 100), and carry
``_links.next.href`` while entries remain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from lakefeed.api.byte_ranges import download
from lakefeed.api.security import Caller, caller
from lakefeed.datasets.dataset_files import MAX_PREVIEW_ROWS, DataFile, DataSetFile
from lakefeed.engine import Lakefeed

PREFIX = "/data/foundation/export"
router = APIRouter(tags=["export"])

CallerDep = Annotated[Caller, Depends(caller)]
PAGE = 100
Start = Annotated[int, Query(ge=0, description="Listed entries to skip.")]
Limit = Annotated[int, Query(ge=1, le=PAGE, description="Entries per page (1–100).")]
RangeHeader = Annotated[str | None, Header(alias="Range")]
PARQUET = "application/octet-stream"
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "The bytes a Range header asked for."},
    416: {"description": "A Range that asks for no byte of the file."},
}


def href(route: str, /, **query: Any) -> str:
    """A link under :data:`PREFIX` (``route`` already quoted), ``query`` in the given order
    (None values left out)."""
    given = {k: v for k, v in query.items() if v is not None}
    return f"{PREFIX}{route}" + (f"?{urlencode(given, safe='/')}" if given else "")


def page(
    entries: Sequence[Any],
    *,
    start: int,
    limit: int,
    shape: Callable[[Any], dict[str, Any]],
    next_href: Callable[[int], str],
) -> dict[str, Any]:
    """``{"_page": {limit, count}, "data": [...]}`` of ``entries[start:start+limit]``, each
    ``shape``d (only the page's entries are), with ``_links.next`` while entries remain."""
    shown = entries[start : start + limit]
    body: dict[str, Any] = {
        "_page": {"limit": limit, "count": len(shown)},
        "data": [shape(entry) for entry in shown],
    }
    if start + limit < len(entries):
        body["_links"] = {"next": {"href": next_href(start + limit)}}
    return body


def _file_href(dataset_file: DataSetFile, name: str | None = None) -> str:
    return href(f"/files/{quote(dataset_file.id, safe='')}", path=name)


def _dataset_file(dataset_file: DataSetFile) -> dict[str, Any]:
    batch = dataset_file.batch
    return {
        "dataSetFileId": dataset_file.id,
        "dataSetId": batch.dataset_id,
        "batchId": batch.id,
        "version": "1.0.0",
        "created": batch.completed_at or batch.created_at,
        "updated": batch.updated_at,
        "isValid": True,
        "length": dataset_file.length,
        "records": dataset_file.records,
        "_links": {"self": {"href": _file_href(dataset_file)}},
    }


def _send(
    lf: Lakefeed, dataset_file: DataSetFile, data_file: DataFile, rng: str | None, head: bool
) -> Response:
    return download(
        lambda: lf.dataset_files.open(dataset_file.batch, data_file),
        size=data_file.length,
        name=data_file.name,
        range_header=rng,
        head=head,
        media_type=PARQUET,
    )


def _without_body(response: Response) -> Response:
    """A HEAD answer: the GET's status and headers (its length included), no body."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    headers["Content-Length"] = str(len(response.body))
    return Response(status_code=response.status_code, headers=headers)


@router.get("/batches/{id}/files", responses=DOWNLOAD)
@router.head("/batches/{id}/files", operation_id="head_batch_files", responses=DOWNLOAD)
def batch_files(
    who: CallerDep,
    request: Request,
    id: str,
    path: Annotated[str | None, Query(description="A data file's name: download it.")] = None,
    start: Start = 0,
    limit: Limit = PAGE,
    rng: RangeHeader = None,
) -> Response:
    """The data files a batch committed, as dataSetFiles (none unless it succeeded)."""
    head = request.method == "HEAD"
    if path is not None:
        owner, data_file = who.lf.dataset_files.data_file(id, path)
        return _send(who.lf, owner, data_file, rng, head)
    files = who.lf.dataset_files.of_batch(id)  # 404 for an unknown or another sandbox's batch
    body = page(
        files,
        start=start,
        limit=limit,
        shape=_dataset_file,
        next_href=lambda at: href(f"/batches/{quote(id, safe='')}/files", start=at, limit=limit),
    )
    response = JSONResponse(body)
    return _without_body(response) if head else response


@router.get("/files/{id}", responses=DOWNLOAD)
@router.head("/files/{id}", operation_id="head_dataset_file", responses=DOWNLOAD)
def dataset_file(
    who: CallerDep,
    request: Request,
    id: str,
    path: Annotated[str | None, Query(description="One file of the dataSetFile.")] = None,
    start: Start = 0,
    limit: Limit = PAGE,
    rng: RangeHeader = None,
) -> Response:
    """A dataSetFile: its Parquet file, or the listing of its files when it has several."""
    found = who.lf.dataset_files.get(id)
    head = request.method == "HEAD"
    if path is not None:
        return _send(who.lf, found, found.file(path), rng, head)
    if len(found.files) == 1:
        return _send(who.lf, found, found.files[0], rng, head)
    body = page(
        found.files,
        start=start,
        limit=limit,
        shape=lambda f: {
            "name": f.name,
            "length": f.length,
            "records": f.records,
            "_links": {"self": {"href": _file_href(found, f.name)}},
        },
        next_href=lambda at: href(f"/files/{quote(id, safe='')}", start=at, limit=limit),
    )
    response = JSONResponse(body)
    return _without_body(response) if head else response


@router.get("/datasets/{id}/preview")
def dataset_preview(
    who: CallerDep,
    id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PREVIEW_ROWS, description="Rows (1–100).")] = (
        MAX_PREVIEW_ROWS
    ),
) -> dict[str, Any]:
    """The dataset's latest rows, newest batch first, as JSON (the ``_lakefeed`` lineage
    column left out)."""
    return {"data": who.lf.dataset_files.preview(id, limit)}
