"""The global container: Adobe's standard XDM resources, shipped as JSON under ``builtin/``.

The documents are adapted from adobe/xdm (CC BY 4.0; each carries its ``meta:license``) and
written in compatibility-mode field names, as the Schema Registry returns them for
``application/vnd.adobe.xed-full+json``: ``xdm:foo`` → ``foo``, ``repo:createDate`` →
``_repo.createDate``, ``@id`` → ``_id``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

from lakefeed.errors import InvalidRequest
from lakefeed.schema.compose import annotate

TENANT_KINDS = ("schemas", "classes", "fieldgroups", "datatypes")
GLOBAL_KINDS = ("classes", "fieldgroups", "datatypes", "behaviors")

# The Schema Registry still calls field groups "mixins" in ids, altIds and meta:resourceType.
RESOURCE_TYPES = {
    "schemas": "schemas",
    "classes": "classes",
    "fieldgroups": "mixins",
    "datatypes": "datatypes",
    "behaviors": "behaviors",
}
KIND_LABELS = {
    "schemas": "schema",
    "classes": "class",
    "fieldgroups": "field group",
    "datatypes": "data type",
    "behaviors": "behavior",
}
_ALIASES = {"mixins": "fieldgroups"}


def normalise_kind(kind: str, allowed: tuple[str, ...] = TENANT_KINDS) -> str:
    """``fieldgroups`` (or its old name ``mixins``), ``classes``… checked against ``allowed``."""
    name = _ALIASES.get(kind, kind)
    if name not in allowed:
        raise InvalidRequest(
            f"Unknown Schema Registry resource kind {kind!r} here (allowed: {', '.join(allowed)}).",
            fix="Use one of the allowed kinds.",
        )
    return name


def kind_of(document: Mapping[str, Any]) -> str:
    """The kind (``fieldgroups``…) of a stored document, from its ``meta:resourceType``."""
    resource_type = str(document.get("meta:resourceType", ""))
    return _ALIASES.get(resource_type, resource_type)


@functools.cache
def global_documents() -> dict[str, dict[str, Any]]:
    """Every built-in document by ``$id``; callers copy before handing one out."""
    documents: dict[str, dict[str, Any]] = {}
    root = importlib.resources.files("lakefeed.schema") / "builtin"
    for folder in sorted(root.iterdir(), key=lambda entry: entry.name):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
            if entry.name.endswith(".json"):
                document = json.loads(entry.read_text(encoding="utf-8"))
                annotate(document)
                documents[document["$id"]] = document
    return documents


@functools.cache
def _by_alt_id() -> dict[str, str]:
    return {doc["meta:altId"]: id_ for id_, doc in global_documents().items()}


def find_global(id_or_alt_id: str) -> dict[str, Any] | None:
    """The built-in document with this ``$id`` or ``meta:altId`` (not a copy), or None."""
    documents = global_documents()
    return documents.get(id_or_alt_id) or documents.get(_by_alt_id().get(id_or_alt_id, ""))
