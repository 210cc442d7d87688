"""The Schema Registry: tenant schemas, classes, field groups and data types of one org and
sandbox, composed with the global (built-in) XDM resources."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from lakefeed.catalog.labels import NAME_MAX_LENGTH, check_name
from lakefeed.catalog.schema_documents import SchemaDocuments
from lakefeed.errors import InvalidRequest, InvalidSchema, SchemaNotFound
from lakefeed.schema import checks
from lakefeed.schema.checks import tenant_id_for
from lakefeed.schema.compose import Lookup, SchemaComposer, annotate, iter_refs
from lakefeed.schema.library import (
    GLOBAL_KINDS,
    KIND_LABELS,
    RESOURCE_TYPES,
    TENANT_KINDS,
    find_global,
    global_documents,
    kind_of,
    normalise_kind,
)
from lakefeed.schema.stats import registry_stats

RECORD_BEHAVIOR = "https://ns.adobe.com/xdm/data/record"

# Keys of a stored resource that an update keeps as they are.
_IDENTITY = (
    *("$id", "meta:altId", "meta:resourceType", "meta:containerId", "meta:tenantNamespace"),
    *("meta:xdmType", "meta:extensible", "meta:abstract", "imsOrg"),
)

# Spelled out because the ``list`` method shadows the builtin inside the class body.
Documents = list[dict[str, Any]]
Names = list[str]

# Keys the registry computes; a client's values for them are ignored, as AEP does.
_COMPUTED = {
    *("$id", "meta:altId", "meta:resourceType", "version", "meta:containerId", "imsOrg"),
    *("meta:tenantNamespace", "meta:xdmType", "meta:extensible", "meta:abstract", "refs"),
    *("meta:registryMetadata", "meta:class", "meta:extends"),
}


class SchemaRegistry:
    """Create, read, compose and delete XDM resources of one org and sandbox."""

    def __init__(self, documents: SchemaDocuments) -> None:
        """``documents``: where the tenant resources of one org and sandbox are kept."""
        self.documents = documents
        self.ims_org_id = documents.scope.ims_org_id
        self.sandbox_name = documents.scope.sandbox_name
        self.tenant_id = tenant_id_for(self.ims_org_id)
        self.namespace = f"_{self.tenant_id}"

    # --- creating ----------------------------------------------------------------------------

    def create(self, kind: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """Store a tenant resource and return it with its computed ``$id``, ``meta:altId``,
        ``meta:extends`` (and, for schemas, ``meta:class`` and ``refs``)."""
        kind = normalise_kind(kind)
        body = _request_body(document)
        checks.check_basics(kind, body)
        segment, digest = RESOURCE_TYPES[kind], uuid.uuid4().hex
        body.update(
            {
                "$id": f"https://ns.adobe.com/{self.tenant_id}/{segment}/{digest}",
                "meta:altId": f"_{self.tenant_id}.{segment}.{digest}",
                "meta:resourceType": segment,
                "version": "1.0",
                "meta:containerId": "tenant",
                "meta:tenantNamespace": self.namespace,
                "meta:xdmType": "object",
                "meta:extensible": kind != "schemas",
                "meta:abstract": kind != "schemas",
                "imsOrg": self.ims_org_id,
            }
        )
        self._compose_new(kind, body, self._lookup)
        now = int(time.time() * 1000)
        etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        body["meta:registryMetadata"] = {
            "repo:createdDate": now,
            "repo:lastModifiedDate": now,
            "xdm:createdClientId": "lakefeed",
            "xdm:lastModifiedClientId": "lakefeed",
            "eTag": etag,
        }
        self.documents.insert(kind=kind, document=body, etag=etag, at=now)
        return copy.deepcopy(body)

    def _compose_new(self, kind: str, body: dict[str, Any], lookup: Lookup) -> None:
        """Check ``body`` as the registry checks a new or changed resource and add what the
        registry computes from its parts (``meta:class``, ``meta:extends``, ``refs``)."""
        if kind == "schemas":
            cls, groups = checks.schema_parts(body, lookup, self._class_names)
            body["allOf"] = [
                {"$ref": part["$id"], "type": "object", "meta:xdmType": "object"}
                for part in (cls, *groups)
            ]
            body["meta:class"] = cls["$id"]
        if kind == "fieldgroups":
            checks.check_tenant_namespace(body, self.namespace)
            checks.check_intended_to_extend(body, lookup)
        composition = SchemaComposer(lookup).compose(body)  # refs exist, no conflicts
        body["meta:extends"] = checks.extends_of(body, lookup)
        if kind == "schemas":
            body["refs"] = composition.refs
        annotate(body)

    def create_schema(
        self,
        title: str,
        class_ref: str,
        field_groups: Sequence[str] = (),
        *,
        description: str = "",
    ) -> dict[str, Any]:
        """A tenant schema composing the class and field groups (``$id`` or ``meta:altId``)."""
        refs = [class_ref, *field_groups]
        return self.create(
            "schemas",
            {
                "title": title,
                "description": description,
                "type": "object",
                "allOf": [{"$ref": self._lookup_id(ref)} for ref in refs],
            },
        )

    def create_inferred_schema(
        self,
        title: str,
        properties: Mapping[str, Any],
        *,
        required: Sequence[str] = (),
        description: str = "",
    ) -> dict[str, Any]:
        """A tenant class with record behavior whose fields are ``properties`` (names as given,
        as :mod:`lakefeed.schema.infer` produces them) and a schema of that class."""
        check_name(title, "schema", field="title")  # before the class is made from it
        fields: dict[str, Any] = {"properties": dict(properties)}
        if required:
            fields["required"] = list(required)
        cls = self.create(
            "classes",
            {
                # Cut so that the class's title, with " class", is still a valid name.
                "title": f"{title[: NAME_MAX_LENGTH - len(' class')]} class",
                "description": description or f"Fields inferred for {title!r}.",
                "type": "object",
                "definitions": {"fields": fields},
                "allOf": [{"$ref": RECORD_BEHAVIOR}, {"$ref": "#/definitions/fields"}],
            },
        )
        try:
            return self.create_schema(title, cls["$id"], description=description)
        except Exception:
            self.delete(cls["$id"])
            raise

    def delete_inferred_schema(self, schema_id: str) -> None:
        """Undo :meth:`create_inferred_schema`: the schema, then its class."""
        schema = self._find(schema_id, "schemas")
        self.delete(schema["$id"], kind="schemas")
        self.delete(schema["meta:class"], kind="classes")

    # --- reading -----------------------------------------------------------------------------

    def get(self, id_or_alt_id: str, *, kind: str | None = None) -> dict[str, Any]:
        """A resource by ``$id``, ``meta:altId`` or URL-encoded ``$id``: tenant first, then
        global."""
        return copy.deepcopy(self._find(id_or_alt_id, kind))

    def list(self, kind: str, *, container: str = "tenant") -> Documents:
        """The resources of one kind in the ``tenant`` or ``global`` container."""
        if container == "global":
            kind = normalise_kind(kind, GLOBAL_KINDS)
            found = [d for d in global_documents().values() if kind_of(d) == kind]
            return copy.deepcopy(sorted(found, key=lambda d: d["title"]))
        if container != "tenant":
            raise InvalidRequest(
                f"Unknown container {container!r}.", fix="Use 'tenant' or 'global'."
            )
        return self.documents.of_kind(normalise_kind(kind))

    def resolve(self, id_or_alt_id: str) -> dict[str, Any]:
        """The ``xed-full`` view: every ``$ref`` inlined and every ``allOf`` merged into plain
        JSON Schema ``properties``/``required``."""
        return self.resolve_document(self._find(id_or_alt_id, None))

    def resolve_document(self, document: dict[str, Any]) -> dict[str, Any]:
        """:meth:`resolve` of a document already looked up."""
        composition = SchemaComposer(self._lookup).compose(document)
        own_class = document["$id"] if kind_of(document) == "classes" else None
        view = {
            "$id": document["$id"],
            "meta:altId": document["meta:altId"],
            "title": document["title"],
            "type": "object",
            "meta:class": document.get("meta:class", own_class),
            "refs": composition.refs,
            "meta:extends": document.get("meta:extends")
            or checks.extends_of(document, self._lookup),
            "properties": composition.properties,
            "required": composition.required,
        }
        if document.get("description"):
            view["description"] = document["description"]
        return view

    def stats(self) -> dict[str, Any]:
        """``GET /stats``: tenant counts, recently created/updated resources, class usage."""
        return registry_stats(
            self.documents.all(), ims_org_id=self.ims_org_id, tenant_id=self.tenant_id
        )

    # --- changing ----------------------------------------------------------------------------

    def update(
        self,
        id_or_alt_id: str,
        document: Mapping[str, Any],
        *,
        kind: str | None = None,
        etag: str | None = None,
    ) -> dict[str, Any]:
        """Replace what a tenant resource says (title, description, ``allOf``, fields…) with
        ``document``'s and return it; ``$id``, ``meta:altId`` and the computed keys stay the
        registry's, and the minor ``version`` goes up. With ``etag``, only while the resource
        still has that eTag, checked as it is stored (:class:`PreconditionFailed` otherwise).

        Checked as on create, and against what uses the resource: every tenant resource that
        references it must still compose, and the fields of a schema a dataset uses cannot
        change, because the dataset's Iceberg table keeps the columns it was created with
        (titles, descriptions and value rules can change)."""
        current = self._find(id_or_alt_id, kind)
        kind = kind_of(current)
        id_, alt_id = current["$id"], current["meta:altId"]
        if current.get("meta:containerId") != "tenant":
            raise InvalidSchema(
                f"{KIND_LABELS[kind].capitalize()} {id_} is in the global container, which is "
                "read-only.",
                fix="Only tenant resources can be changed; create a tenant resource instead.",
            )
        body = _request_body(document)
        checks.check_basics(kind, body)
        body.update({key: current[key] for key in _IDENTITY if key in current})
        body["version"] = _next_minor(str(current.get("version", "1.0")))

        def lookup(ref: str) -> Mapping[str, Any] | None:
            key = unquote(ref) if "%" in ref else ref
            return body if key in (id_, alt_id) else self._lookup(ref)

        self._compose_new(kind, body, lookup)
        self._check_users_still_fit(current, body, lookup)
        now = int(time.time() * 1000)
        new_etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        metadata = dict(current.get("meta:registryMetadata") or {})
        metadata.update(
            {"repo:lastModifiedDate": now, "xdm:lastModifiedClientId": "lakefeed", "eTag": new_etag}
        )
        body["meta:registryMetadata"] = metadata
        self.documents.replace(id_, body, etag=new_etag, at=now, expected_etag=etag)
        return copy.deepcopy(body)

    def _check_users_still_fit(
        self, current: Mapping[str, Any], changed: Mapping[str, Any], lookup: Lookup
    ) -> None:
        """Every resource that uses ``current`` (directly or through others) composes with
        ``changed`` in its place, and no schema a dataset uses changes its fields."""
        label = f"{KIND_LABELS[kind_of(current)]} {current['title']!r}"
        users: dict[str, dict[str, Any]] = {}
        pending = [current["$id"]]
        while pending:
            for user in self._users_of(pending.pop()):
                if user["$id"] not in users and user["$id"] != current["$id"]:
                    users[user["$id"]] = user
                    pending.append(user["$id"])
        for user in users.values():
            try:
                SchemaComposer(lookup).compose(user)
            except InvalidSchema as exc:
                raise InvalidSchema(
                    f"Changing {label} would break {KIND_LABELS[kind_of(user)]} "
                    f"{user['title']!r} ({user['$id']}), which uses it: {exc.message}",
                    fix="Keep the change compatible with the resources that use it.",
                ) from exc
        schemas: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
            (d, d) for d in users.values() if kind_of(d) == "schemas"
        ]
        if kind_of(current) == "schemas":
            schemas.append((current, changed))
        for before, after in schemas:
            names = self._datasets_using(before)
            if names and self._columns(before, self._lookup) != self._columns(after, lookup):
                raise InvalidSchema(
                    f"Changing {label} would change the fields of schema {before['title']!r} "
                    f"({before['$id']}), which datasets {', '.join(map(repr, names))} use; a "
                    "dataset's table keeps the fields it was created with.",
                    fix="Change titles, descriptions or rules only, or create a new schema "
                    "(and dataset) with the new fields.",
                )

    def _datasets_using(self, schema: Mapping[str, Any]) -> Names:
        return self.documents.dataset_names_using([schema["$id"], schema["meta:altId"]])

    @staticmethod
    def _columns(document: Mapping[str, Any], lookup: Lookup) -> Any:
        """The Arrow schema a dataset of ``document`` stores its rows with."""
        from lakefeed.schema.arrow import to_arrow

        composition = SchemaComposer(lookup).compose(document)
        return to_arrow(
            {
                "type": "object",
                "properties": composition.properties,
                "required": composition.required,
            }
        )

    # --- deleting ----------------------------------------------------------------------------

    def delete(
        self, id_or_alt_id: str, *, kind: str | None = None, etag: str | None = None
    ) -> None:
        """Delete a tenant resource that no other tenant resource or dataset still uses; with
        ``etag``, only while it still has that eTag, checked as it is deleted
        (:class:`PreconditionFailed` otherwise)."""
        document = self._find(id_or_alt_id, kind)
        id_, label = document["$id"], KIND_LABELS[kind_of(document)]
        if document.get("meta:containerId") != "tenant":
            raise InvalidSchema(
                f"{label.capitalize()} {id_} is in the global container, which is read-only.",
                fix="Only tenant resources can be deleted.",
            )
        users = [f"{d['title']!r} ({d['$id']})" for d in self._users_of(id_)]
        users += [f"dataset {name!r}" for name in self._datasets_using(document)]
        if users:
            raise InvalidSchema(
                f"Cannot delete {label} {document['title']!r} ({id_}): it is still used by "
                f"{', '.join(users)}.",
                fix="Delete those first, or remove the reference from them.",
            )
        self.documents.delete(id_, expected_etag=etag)

    def _users_of(self, id_: str) -> Documents:
        return [
            document
            for document in self.documents.other_than(id_)
            if id_ in {r.partition("#")[0] for r in iter_refs(document)}
            or id_ in document.get("refs", [])
            or id_ in document.get("meta:intendedToExtend", [])
        ]

    # --- lookups -----------------------------------------------------------------------------

    def _lookup(self, id_or_alt_id: str) -> dict[str, Any] | None:
        """The stored document (not a copy), tenant first, or None."""
        key = unquote(id_or_alt_id) if "%" in id_or_alt_id else id_or_alt_id
        found = self.documents.find(key)
        return found if found is not None else find_global(key)

    def _lookup_id(self, id_or_alt_id: str) -> str:
        found = self._lookup(id_or_alt_id)
        return found["$id"] if found is not None else id_or_alt_id

    def _find(self, id_or_alt_id: str, kind: str | None) -> dict[str, Any]:
        wanted = normalise_kind(kind, (*TENANT_KINDS, "behaviors")) if kind else None
        found = self._lookup(id_or_alt_id)
        if found is not None and wanted in (None, kind_of(found)):
            return found
        label = KIND_LABELS[wanted] if wanted else "Schema Registry resource"
        if found is not None:
            message = (
                f"{id_or_alt_id!r} is a {KIND_LABELS[kind_of(found)]} ({found['title']!r}), "
                f"not a {label}."
            )
        else:
            message = (
                f"No {label} {id_or_alt_id!r} in org {self.ims_org_id!r}, sandbox "
                f"{self.sandbox_name!r} (tenant container), nor in the global container."
            )
        existing = ", ".join(self._names(wanted or "schemas")) or "none"
        raise SchemaNotFound(
            message,
            fix=f"Existing {KIND_LABELS[wanted or 'schemas']}s: {existing}. Look up by $id, "
            "meta:altId or URL-encoded $id.",
        )

    def _names(self, kind: str, limit: int = 8) -> Names:
        documents = [*(self.list(kind) if kind in TENANT_KINDS else [])]
        if kind in GLOBAL_KINDS:
            documents += self.list(kind, container="global")
        names = [f"{d['title']!r} ({d['meta:altId']})" for d in documents[:limit]]
        return [*names, "…"] if len(documents) > limit else names

    def _class_names(self) -> Names:
        return self._names("classes")


def _request_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of what a client sent, without the keys the registry computes, and with the
    ``type`` an ``allOf`` of objects implies when the client left it out."""
    body = {k: copy.deepcopy(v) for k, v in document.items() if k not in _COMPUTED}
    if "type" not in body and (implied := checks.implied_type(body)) is not None:
        body["type"] = implied
    return body


def _next_minor(version: str) -> str:
    """``1.0`` → ``1.1``: every change is a new minor version of major version 1."""
    major, _, minor = version.partition(".")
    return f"{major or 1}.{int(minor) + 1 if minor.isdigit() else 1}"
