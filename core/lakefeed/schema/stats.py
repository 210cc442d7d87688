"""``GET /stats`` of the Schema Registry: what one tenant has created, and which schemas use
which class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lakefeed.schema.library import RESOURCE_TYPES

if TYPE_CHECKING:
    from lakefeed.catalog.schema_documents import StoredDocument

RECENT = 5


def registry_stats(
    rows: Sequence[StoredDocument], *, ims_org_id: str, tenant_id: str
) -> dict[str, Any]:
    """``rows``: the tenant's stored resources (kind, document, created_at, updated_at)."""
    counts = {"schemas": 0, "mixins": 0, "datatypes": 0, "classes": 0, "unions": 0}
    usage: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        counts[RESOURCE_TYPES[row.kind]] += 1
        if row.kind == "schemas":
            usage.setdefault(row.document["meta:class"], []).append(summary(row.document))
    newest = sorted(rows, key=lambda r: r.created_at, reverse=True)[:RECENT]
    updated = sorted(rows, key=lambda r: r.updated_at, reverse=True)[:RECENT]
    return {
        "imsOrg": ims_org_id,
        "tenantId": tenant_id,
        "counts": counts,
        "recentlyCreatedResources": [summary(r.document) for r in newest],
        "recentlyUpdatedResources": [summary(r.document) for r in updated],
        "classUsage": usage,
    }


def summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """The short form of a resource that ``/stats`` lists."""
    metadata = document.get("meta:registryMetadata", {})
    return {
        "$id": document["$id"],
        "meta:altId": document["meta:altId"],
        "title": document["title"],
        "description": document.get("description", ""),
        "meta:resourceType": document["meta:resourceType"],
        "version": document.get("version", "1.0"),
        "repo:createdDate": metadata.get("repo:createdDate"),
        "repo:lastModifiedDate": metadata.get("repo:lastModifiedDate"),
    }
