"""The Schema Registry's rules for a new tenant resource, each failing with an InvalidSchema
that names the problem and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lakefeed.catalog.labels import check_description, check_name
from lakefeed.errors import InvalidSchema
from lakefeed.schema.library import KIND_LABELS, kind_of

Find = Callable[[str], Mapping[str, Any] | None]


def tenant_id_for(ims_org_id: str) -> str:
    """``ACME1234@AdobeOrg`` → ``acme1234``: the org's name, lowercase alphanumerics."""
    tenant = re.sub(r"[^a-z0-9]", "", ims_org_id.partition("@")[0].lower())
    if not tenant:
        raise InvalidSchema(
            f"The org id {ims_org_id!r} has no letters or digits to derive a tenant id from.",
            fix="Use an org id such as 'ACME1234@AdobeOrg'.",
        )
    return tenant


def implied_type(document: Mapping[str, Any]) -> Any:
    """The top-level ``type`` of a request document: as sent, or ``"object"`` when it is
    missing and the document composes objects (an ``allOf`` of JSON objects, none of another
    type), as the Schema Registry takes it."""
    if "type" in document:
        return document["type"]
    parts = document.get("allOf")
    if (
        isinstance(parts, list)
        and parts
        and all(isinstance(p, Mapping) and p.get("type", "object") == "object" for p in parts)
    ):
        return "object"
    return None


def check_basics(kind: str, document: Mapping[str, Any]) -> None:
    """Every resource has a title and is a JSON object type; a schema defines no fields."""
    label = KIND_LABELS[kind]
    if not isinstance(document.get("title"), str) or not document["title"].strip():
        raise InvalidSchema(
            f"A {label} needs a 'title'; got {document.get('title')!r}.",
            fix='Add a non-empty "title", e.g. "title": "Loyalty Members".',
        )
    check_name(document["title"], label, field="title")
    check_description(document.get("description"), label)
    if "type" not in document:
        raise InvalidSchema(
            f"{label.capitalize()} {document['title']!r} has no 'type' and no allOf of objects "
            "to take it from.",
            fix='Set "type": "object" — every XDM resource is an object.',
        )
    if document["type"] != "object":
        raise InvalidSchema(
            f"{label.capitalize()} {document['title']!r} has type {document['type']!r}.",
            fix='Set "type": "object" — every XDM resource is an object.',
        )
    if not isinstance(document.get("allOf", []), list):
        raise InvalidSchema(f"The allOf of {label} {document['title']!r} must be a list.")
    if kind == "schemas" and ("properties" in document or "definitions" in document):
        raise InvalidSchema(
            f"Schema {document['title']!r} defines fields itself; a schema only composes a "
            "class and field groups.",
            fix="Put the fields in a field group (create('fieldgroups', …)) and add its $ref.",
        )


def schema_parts(
    document: Mapping[str, Any], find: Find, available_classes: Callable[[], list[str]]
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The class and the field groups a schema's ``allOf`` names: exactly one class, then any
    number of field groups, each meant for that class."""
    title = document["title"]
    classes: list[Mapping[str, Any]] = []
    field_groups: list[Mapping[str, Any]] = []
    for part in document.get("allOf", []):
        ref = part.get("$ref") if isinstance(part, Mapping) else None
        if not isinstance(ref, str):
            raise InvalidSchema(
                f"Schema {title!r} has an allOf entry without a $ref: {part!r}.",
                fix='Each allOf entry is {"$ref": "<class or field group $id>"}.',
            )
        found = find(ref)
        if found is None:
            raise InvalidSchema(
                f"Schema {title!r} references {ref!r}, which is neither in the tenant container "
                "nor in the global container.",
                fix="Check the $id (list('classes') / list('fieldgroups') show what exists).",
            )
        kind = kind_of(found)
        if kind == "classes":
            classes.append(found)
        elif kind == "fieldgroups":
            field_groups.append(found)
        else:
            raise InvalidSchema(
                f"Schema {title!r} lists {ref!r} in allOf, but that is a {KIND_LABELS[kind]}; "
                "allOf takes one class and field groups.",
                fix="Use a data type as the $ref of a field inside a field group instead.",
            )
    if len(classes) != 1:
        named = ", ".join(c["$id"] for c in classes) or "none"
        raise InvalidSchema(
            f"Schema {title!r} must reference exactly one class in allOf; it references {named}.",
            fix=f"Keep one class $ref (available: {', '.join(available_classes())}).",
        )
    cls = classes[0]
    for group in field_groups:
        check_field_group_fits(group, cls)
    return cls, field_groups


def check_field_group_fits(group: Mapping[str, Any], cls: Mapping[str, Any]) -> None:
    """A field group's ``meta:intendedToExtend``, when not empty, names the class (or a
    behavior or resource the class extends)."""
    intended = group.get("meta:intendedToExtend") or []
    accepted = {cls["$id"], *cls.get("meta:extends", [])}
    if intended and not accepted.intersection(intended):
        raise InvalidSchema(
            f"Field group {group.get('title')!r} ({group['$id']}) is intended to extend "
            f"{', '.join(intended)}, not the class {cls.get('title')!r} ({cls['$id']}).",
            fix=f"Use a field group made for {cls['$id']}, or create one whose "
            "meta:intendedToExtend lists that class.",
        )


def check_intended_to_extend(document: Mapping[str, Any], find: Find) -> None:
    """A tenant field group's ``meta:intendedToExtend`` lists classes or behaviors that exist."""
    intended = document.get("meta:intendedToExtend", [])
    if not isinstance(intended, list) or not all(isinstance(i, str) for i in intended):
        raise InvalidSchema(
            f"meta:intendedToExtend of {document['title']!r} must be a list of class $ids.",
            fix='e.g. "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/profile"].',
        )
    for id_ in intended:
        found = find(id_)
        if found is None or kind_of(found) not in ("classes", "behaviors"):
            raise InvalidSchema(
                f"Field group {document['title']!r} is intended to extend {id_!r}, which is "
                "not a class or behavior in the tenant or global container.",
                fix="List existing class $ids (list('classes')), or leave the list empty.",
            )


def check_tenant_namespace(document: Mapping[str, Any], namespace: str) -> None:
    """Custom fields of a tenant field group live under the ``_{tenant_id}`` object."""
    definitions = document.get("definitions") or {}
    names = list(document.get("properties") or {})
    for part in document.get("allOf", []):
        if not isinstance(part, Mapping):
            continue
        ref = part.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            names += list(
                (definitions.get(ref.removeprefix("#/definitions/")) or {}).get("properties") or {}
            )
        names += list(part.get("properties") or {})
    outside = sorted({name for name in names if name != namespace})
    if outside:
        raise InvalidSchema(
            f"Field group {document['title']!r} defines {', '.join(map(repr, outside))} at the "
            f"top level; a tenant's custom fields must be nested under '{namespace}'.",
            fix=f'Move them into "properties": {{"{namespace}": {{"type": "object", '
            '"properties": {…}}}.',
        )


def extends_of(document: Mapping[str, Any], find: Find) -> list[str]:
    """``meta:extends``: every resource the ``allOf`` names, and what each of them extends."""
    extends: list[str] = []
    for part in document.get("allOf", []):
        ref = part.get("$ref") if isinstance(part, Mapping) else None
        if not isinstance(ref, str) or ref.startswith("#"):
            continue
        id_ = ref.partition("#")[0]
        found = find(id_)
        for item in [id_, *(found or {}).get("meta:extends", [])]:
            if item not in extends and item != document.get("$id"):
                extends.append(item)
    return extends
