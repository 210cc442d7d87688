"""Datasets in the console, read-only: every dataset of the sandbox with its last batch, and
one dataset — its facts, the flows writing into it, its schema as a tree, its batches (newest
first, a page at a time) and a preview of its rows.

Each page calls what the REST routes call: ``lf.datasets.list``/``get`` and
``lf.batches.last_batches`` (``/catalog/dataSets``, ``/catalog/lastBatches``),
``lf.batches.search`` (``/catalog/batches?dataSet=…``), ``lf.schemas.resolve`` (the
``xed-full`` view of the schema) and ``lf.dataset_files.preview``
(``/export/datasets/{id}/preview``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lakefeed.api.console.pages_schemas import count_fields, field_tree, schema_title
from lakefeed.api.console.web import UserDep, cell_text, render
from lakefeed.catalog.datasets import Dataset
from lakefeed.datasets.dataset_files import MAX_PREVIEW_ROWS
from lakefeed.engine import Lakefeed
from lakefeed.errors import LakefeedError, ResourceNotFound

router = APIRouter()

BATCHES_ON_PAGE = 50
PREVIEW_ROWS = 20
#: A preview cell longer than this is cut (the whole value is in the REST preview).
CELL_CHARACTERS = 160


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(request: Request, user: UserDep) -> HTMLResponse:
    """Every dataset of the sandbox, oldest first, with its schema and last batch."""
    lf = user.lf
    datasets = lf.datasets.list()
    last = lf.batches.last_batches([d.id for d in datasets]) if datasets else {}
    titles: dict[str, str] = {}
    rows = [
        {
            "dataset": dataset,
            "schema_title": schema_title(lf, dataset.schema_id, titles),
            "last": last.get(dataset.id),
        }
        for dataset in datasets
    ]
    return render(request, user, "datasets.html", active="datasets", rows=rows)


def _filled(value: Any) -> Any:
    """``value`` without its empty nested fields (None for a struct with none filled): an
    XDM struct has many more fields than files fill."""
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _filled(v)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        return [_filled(v) for v in value]
    return value


def cell(value: Any) -> str:
    """A preview value as text without its empty nested fields, cut at
    :data:`CELL_CHARACTERS`."""
    return cell_text(_filled(value), CELL_CHARACTERS)


def _preview(lf: Lakefeed, dataset: Dataset, limit: int) -> dict[str, Any]:
    """The first ``limit`` rows of the newest batches, as the REST preview reads them, and the
    columns any of them fills (an XDM schema has many more fields than files fill)."""
    try:
        rows = lf.dataset_files.preview(dataset.id, limit)
    except LakefeedError as exc:  # the table cannot be read: the rest of the page still can
        return {"columns": [], "rows": [], "error": exc.message}
    keys = dict.fromkeys(key for row in rows for key in row)
    columns = [key for key in keys if any(_filled(row.get(key)) is not None for row in rows)]
    shown = [[cell(row.get(key)) for key in columns] for row in rows]
    return {"columns": columns, "rows": shown, "error": ""}


def _row_count(lf: Lakefeed, dataset: Dataset) -> int | None:
    """The table's rows as its current snapshot counts them (None before the first commit or
    when the table cannot be read)."""
    try:
        snapshot = lf.datasets.table(dataset).current_snapshot()
    except LakefeedError:
        return None
    if snapshot is None or not snapshot.summary:
        return None
    total = snapshot.summary.get("total-records")
    return int(total) if total is not None else None


@router.get("/datasets/{id}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    user: UserDep,
    id: str,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=10**9)] = PREVIEW_ROWS,
) -> HTMLResponse:
    """One dataset: its facts, schema tree, batches (``offset`` pages them, newest first) and
    first rows (``limit``, at most 100)."""
    lf = user.lf
    dataset = lf.datasets.get(id)
    limit = min(limit, MAX_PREVIEW_ROWS)
    try:
        resolved: dict[str, Any] | None = lf.schemas.resolve(dataset.schema_id)
    except ResourceNotFound:
        resolved = None
    tree = field_tree(resolved["properties"], resolved.get("required")) if resolved else []
    found = lf.batches.search(
        dataset_id=dataset.id, descending=True, limit=BATCHES_ON_PAGE + 1, offset=offset
    )
    writers = lf.flows.flows_writing(dataset.id)
    flow_names = {flow.id: flow.name for flow in writers}
    return render(
        request,
        user,
        "dataset.html",
        active="datasets",
        dataset=dataset,
        schema_title=resolved["title"] if resolved else "(schema deleted)",
        writers=writers,
        flow_names=flow_names,
        row_count=_row_count(lf, dataset),
        tree=tree,
        field_count=count_fields(tree),
        batches=found[:BATCHES_ON_PAGE],
        offset=offset,
        older=len(found) > BATCHES_ON_PAGE,
        page_size=BATCHES_ON_PAGE,
        preview=_preview(lf, dataset, limit),
        limit=limit,
    )
