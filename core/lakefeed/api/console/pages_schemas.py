"""Schemas and mapping sets in the console, read-only: the tenant's schemas and field groups,
one resource with its class, field groups and resolved fields as a tree, the mapping sets and
one mapping set's mappings.

Each page calls what the REST routes call: ``lf.schemas.list``/``get``/``resolve_document``
(``/schemaregistry/tenant/{kind}``, ``Accept: …xed-full+json``), ``lf.mapping_sets`` and
``lf.mapping_set`` (``/conversion/mappingSets``). :func:`field_tree` shapes a resolved schema's
``properties`` for the tree macro of ``_tree.html``, which the dataset page uses too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lakefeed.api.console.web import UserDep, render
from lakefeed.api.dataprep import Version
from lakefeed.engine import Lakefeed
from lakefeed.errors import ResourceNotFound
from lakefeed.schema.compose import type_label

router = APIRouter()


@dataclass(frozen=True)
class FieldNode:
    """One field of a schema tree: its name, dotted path, type in words (``array of object``,
    ``map of string``), whether its parent requires it, its title, and its sub-fields (those of
    an object, or of the objects an array or map holds)."""

    name: str
    path: str
    type: str
    required: bool
    title: str
    children: list[FieldNode] = field(default_factory=list)


def _holding_fields(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object whose ``properties`` are the sub-fields of ``node``: itself, or what its
    array's items or map's values are (through nested arrays and maps)."""
    while True:
        if isinstance(node.get("items"), Mapping):
            node = node["items"]
        elif isinstance(node.get("additionalProperties"), Mapping):
            node = node["additionalProperties"]
        else:
            return node


def field_tree(
    properties: Mapping[str, Any], required: Any = (), prefix: str = ""
) -> list[FieldNode]:
    """The fields of a resolved (``xed-full``) schema's ``properties`` as a tree, in document
    order."""
    wanted = set(required) if isinstance(required, list | tuple) else set()
    nodes = []
    for name, node in properties.items():
        if not isinstance(node, Mapping):
            continue
        holder = _holding_fields(node)
        children = holder.get("properties")
        path = f"{prefix}{name}"
        nodes.append(
            FieldNode(
                name=str(name),
                path=path,
                type=type_label(node),
                required=name in wanted,
                title=str(node.get("title") or ""),
                children=(
                    field_tree(children, holder.get("required", []), f"{path}.")
                    if isinstance(children, Mapping)
                    else []
                ),
            )
        )
    return nodes


def count_fields(nodes: list[FieldNode]) -> int:
    return sum(1 + count_fields(node.children) for node in nodes)


def schema_title(lf: Lakefeed, schema_id: str, titles: dict[str, str] | None = None) -> str:
    """The title of schema ``schema_id``; ``(schema deleted)`` when it is gone. ``titles``
    caches them across one page."""
    if titles is not None and schema_id in titles:
        return titles[schema_id]
    try:
        title = str(lf.schemas.get(schema_id).get("title") or schema_id)
    except ResourceNotFound:
        title = "(schema deleted)"
    if titles is not None:
        titles[schema_id] = title
    return title


# --- schemas -----------------------------------------------------------------------------------


@router.get("/schemas", response_class=HTMLResponse)
def schemas_page(request: Request, user: UserDep) -> HTMLResponse:
    """The sandbox's schemas and field groups (the tenant container)."""
    lf = user.lf
    schemas = lf.schemas.list("schemas")
    titles: dict[str, str] = {}
    classes = {
        d["$id"]: schema_title(lf, str(d["meta:class"]), titles)
        for d in schemas
        if d.get("meta:class")
    }
    return render(
        request,
        user,
        "schemas.html",
        active="schemas",
        schemas=schemas,
        class_titles=classes,
        field_groups=lf.schemas.list("fieldgroups"),
    )


def _field_group_refs(document: Mapping[str, Any]) -> list[str]:
    """The ``$ref``s of a schema's ``allOf`` but its class: its field groups."""
    own_class = document.get("meta:class")
    refs = []
    for part in document.get("allOf") or []:
        ref = part.get("$ref") if isinstance(part, Mapping) else None
        if isinstance(ref, str) and ref != own_class and not ref.startswith("#"):
            refs.append(ref)
    return refs


@router.get("/schemas/{id:path}", response_class=HTMLResponse)
def schema_page(request: Request, user: UserDep, id: str) -> HTMLResponse:
    """One resource of the registry (a schema, field group or class; ``$id`` or
    ``meta:altId``): what it is made of, the datasets that use it and its resolved fields."""
    lf = user.lf
    document = lf.schemas.get(id)
    resolved = lf.schemas.resolve_document(document)
    titles: dict[str, str] = {}
    refs = [(ref, schema_title(lf, ref, titles)) for ref in _field_group_refs(document)]
    own_class = document.get("meta:class")
    tree = field_tree(resolved.get("properties") or {}, resolved.get("required") or [])
    return render(
        request,
        user,
        "schema.html",
        active="schemas",
        document=document,
        title=str(document.get("title") or document["$id"]),
        kind=str(document.get("meta:resourceType") or ""),
        class_ref=(own_class, schema_title(lf, own_class, titles)) if own_class else None,
        refs=refs,
        datasets=[d for d in lf.datasets.list() if d.schema_id == document["$id"]],
        tree=tree,
        field_count=count_fields(tree),
    )


# --- mapping sets ------------------------------------------------------------------------------


@router.get("/mappings", response_class=HTMLResponse)
def mappings_page(request: Request, user: UserDep) -> HTMLResponse:
    """The latest version of every mapping set, newest update first."""
    lf = user.lf
    titles: dict[str, str] = {}
    rows = [
        {"set": found, "schema_title": schema_title(lf, found.output_schema_id, titles)}
        for found in lf.mapping_sets()
    ]
    return render(request, user, "mappings.html", active="mappings", rows=rows)


@router.get("/mappings/{id}", response_class=HTMLResponse)
def mapping_page(request: Request, user: UserDep, id: str, version: Version = None) -> HTMLResponse:
    """One version of a mapping set (default: the latest) and its mappings."""
    lf = user.lf
    found = lf.mapping_set(id, version)
    latest = found.version if version is None else lf.mapping_set(id).version
    source = found.document.get("inputSchema")
    source = source if isinstance(source, Mapping) else {}
    ref = source.get("schemaRef")
    input_ref = str(ref["id"]) if isinstance(ref, Mapping) and ref.get("id") else None
    inline = source.get("jsonSchema")
    input_tree = []
    if isinstance(inline, Mapping) and isinstance(inline.get("properties"), Mapping):
        input_tree = field_tree(inline["properties"], inline.get("required") or [])
    return render(
        request,
        user,
        "mapping.html",
        active="mappings",
        found=found,
        latest=latest,
        schema_title=schema_title(lf, found.output_schema_id),
        input_ref=(input_ref, schema_title(lf, input_ref)) if input_ref else None,
        input_tree=input_tree,
        mappings=found.mapping_dicts(),
    )
