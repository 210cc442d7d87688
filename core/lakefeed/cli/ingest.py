"""``lakefeed ingest``: connection → dataset → flow → run, in one command for a terminal user."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lakefeed.cli.context import engine
from lakefeed.cli.files import format_option
from lakefeed.cli.mappings import read_mapping_set
from lakefeed.cli.output import json_option
from lakefeed.cli.progress import run_progress
from lakefeed.cli.resources import LocalResources
from lakefeed.cli.runs_view import report_run
from lakefeed.cli.schemas import read_document

if TYPE_CHECKING:
    from lakefeed.engine import Lakefeed


@click.command("ingest")
@click.argument("connection_or_url")
@click.argument("path")
@click.option("--dataset", required=True, help="Dataset name; created when missing.")
@click.option("--schema", help="Registry $id or meta:altId, or a JSON schema document file.")
@click.option("--infer", is_flag=True, help="Create the dataset's schema from the files.")
@click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders.")
@click.option("--partial-ingestion-percent", type=float, help="Accept up to X% bad rows.")
@click.option(
    "--error-diagnostics", is_flag=True, help="Keep rejected rows (on with partial ingestion)."
)
@format_option("the format that recognises PATH's name, else parquet")
@click.option(
    "--mapping",
    "mapping_file",
    metavar="FILE",
    help="A Data Prep mapping set (JSON file, - for standard input) that shapes the rows into "
    "the dataset's schema; a changed file becomes the mapping set's next version.",
)
@json_option
def ingest_command(
    connection_or_url: str,
    path: str,
    dataset: str,
    schema: str | None,
    infer: bool,
    recursive: bool,
    partial_ingestion_percent: float | None,
    error_diagnostics: bool,
    format_name: str | None,
    format_options: dict[str, Any],
    mapping_file: str | None,
    as_json: bool,
) -> None:
    """Ingest the files at PATH (Parquet, delimited or JSON; --format) into a dataset,
    creating whatever is missing.

    CONNECTION_OR_URL is a stored connection (name or id), an absolute local folder or a
    file:// URL. Running the same command again ingests only new or changed files. Exits 0
    when every row went in, 3 when some were rejected (partial ingestion), 1 when the run
    failed.
    """
    if schema is not None and infer:
        raise click.UsageError("--schema and --infer exclude each other.")
    mapping = None if mapping_file is None else read_mapping_set(mapping_file)
    lf = engine()
    schema_id = schema
    if schema is not None and _is_document(schema):
        schema_id = _schema_from_file(lf, schema, dataset)
    with run_progress(as_json) as report:
        run = lf.ingest(
            connection_or_url,
            path,
            dataset=dataset,
            schema=schema_id,
            infer=infer,
            recursive=recursive,
            partial_ingestion_percent=partial_ingestion_percent,
            error_diagnostics=error_diagnostics,
            progress=report.callback,
            data_format=format_name,
            format_properties=format_options,
            mapping=mapping,
        )
        report.ended(run.metrics)
    report_run(LocalResources(lf), run.to_dict(), as_json)


def _is_document(schema: str) -> bool:
    # A missing *.json is a typo of a file name, not a registry id: say the file is missing.
    if schema in ("-", "@-") or schema.startswith("@") or schema.endswith(".json"):
        return True
    try:
        return Path(schema).expanduser().is_file()
    except OSError:  # a name too long for a file (a pasted document?): not a file
        return False


def _schema_from_file(lf: Lakefeed, source: str, dataset: str) -> str:
    """The registry schema for a document: the dataset's own when it composes the same class
    and field groups, else an equal tenant schema (same title and parts), else a new one."""
    from lakefeed.errors import InvalidSchema, ResourceNotFound

    document = read_document(source)
    wanted = _parts(lf, document)
    try:
        existing = lf.datasets.get(dataset)
    except ResourceNotFound:
        existing = None
    if existing is not None:
        current = lf.schemas.get(existing.schema_id)
        if _parts(lf, current) != wanted:
            raise InvalidSchema(
                f"Dataset {dataset!r} exists with schema {current['title']!r} "
                f"({current['$id']}), which is not composed like the document {source!r}.",
                fix="Leave out --schema to ingest into the dataset, or choose another --dataset.",
            )
        return str(current["$id"])
    for candidate in lf.schemas.list("schemas"):
        if candidate["title"] == document.get("title") and _parts(lf, candidate) == wanted:
            return str(candidate["$id"])
    return str(lf.schemas.create("schemas", document)["$id"])


def _parts(lf: Lakefeed, document: dict[str, Any]) -> set[str]:
    """The $ids of the class and field groups a schema document composes (a ref to nothing
    is kept as written: creating the schema then reports it properly)."""
    from lakefeed.errors import SchemaNotFound

    parts = set()
    for part in document.get("allOf", []):
        ref = part.get("$ref") if isinstance(part, dict) else None
        if isinstance(ref, str):
            try:
                parts.add(str(lf.schemas.get(ref)["$id"]))
            except SchemaNotFound:
                parts.add(ref)
    return parts
