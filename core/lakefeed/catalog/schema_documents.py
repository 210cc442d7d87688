"""``SchemaDocuments``: the Schema Registry's tenant resources (schemas, classes, field groups,
data types) as stored XDM JSON documents, of one org and sandbox. Composition and checks are
:mod:`lakefeed.schema`'s; this module only keeps the documents."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog.records import Scope, record_from_row
from lakefeed.catalog.tables import datasets
from lakefeed.catalog.tables import registry_resources as table
from lakefeed.errors import PreconditionFailed

Documents = list[dict[str, Any]]


@dataclass(frozen=True)
class StoredDocument:
    """A row of ``registry_resources``, as the registry's ``/stats`` reads it."""

    kind: str  # schemas | classes | fieldgroups | datatypes
    document: dict[str, Any]
    created_at: int  # epoch ms
    updated_at: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> StoredDocument:
        return record_from_row(cls, row)


class SchemaDocuments:
    """Tenant resources of one org and sandbox, keyed by ``$id`` (and ``meta:altId``)."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self._in_scope = scope.where(table)

    def insert(self, *, kind: str, document: Mapping[str, Any], etag: str, at: int) -> None:
        """Store a new resource (its ``$id``, ``meta:altId`` and ``title`` are its keys)."""
        row = {
            "id": document["$id"],
            "ims_org_id": self.scope.ims_org_id,
            "sandbox_name": self.scope.sandbox_name,
            "kind": kind,
            "alt_id": document["meta:altId"],
            "title": document["title"],
            "document": dict(document),
            "etag": etag,
            "created_at": at,
            "updated_at": at,
        }
        with self.engine.begin() as db:
            db.execute(table.insert().values(**row))

    def replace(
        self,
        id: str,
        document: Mapping[str, Any],
        *,
        etag: str,
        at: int,
        expected_etag: str | None = None,
    ) -> None:
        """Store ``document`` (whose eTag is ``etag``) in place of resource ``id``'s; with
        ``expected_etag``, only while the stored one still has that eTag, checked in the
        update itself (:class:`PreconditionFailed` otherwise)."""
        values = {"title": document["title"], "document": dict(document)}
        with self.engine.begin() as db:
            changed = db.execute(
                table.update()
                .where(self._where(id, expected_etag))
                .values(**values, etag=etag, updated_at=at)
            ).rowcount
        if not changed and expected_etag is not None:
            raise self._changed(id)

    def delete(self, id: str, *, expected_etag: str | None = None) -> None:
        """Delete resource ``id``; with ``expected_etag``, as :meth:`replace` checks it."""
        with self.engine.begin() as db:
            deleted = db.execute(table.delete().where(self._where(id, expected_etag))).rowcount
        if not deleted and expected_etag is not None:
            raise self._changed(id)

    def _where(self, id: str, expected_etag: str | None) -> sa.ColumnElement[bool]:
        where = self._in_scope & (table.c.id == id)
        return where if expected_etag is None else where & (table.c.etag == expected_etag)

    @staticmethod
    def _changed(id: str) -> PreconditionFailed:
        return PreconditionFailed(
            f"Schema Registry resource {id} was changed by someone else.",
            fix="GET it again, re-apply the change and send its new eTag.",
        )

    def find(self, id_or_alt_id: str) -> dict[str, Any] | None:
        """The stored document whose ``$id`` or ``meta:altId`` is ``id_or_alt_id``, or None."""
        key = id_or_alt_id
        query = sa.select(table.c.document).where(
            self._in_scope & ((table.c.id == key) | (table.c.alt_id == key))
        )
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return None if row is None else row.document

    def of_kind(self, kind: str) -> Documents:
        """The documents of one kind, oldest first."""
        query = sa.select(table.c.document).where(self._in_scope & (table.c.kind == kind))
        with self.engine.connect() as db:
            return [row.document for row in db.execute(query.order_by(table.c.created_at))]

    def other_than(self, id: str) -> Documents:
        """Every document but resource ``id``'s."""
        query = sa.select(table.c.document).where(self._in_scope & (table.c.id != id))
        with self.engine.connect() as db:
            return [row.document for row in db.execute(query)]

    def all(self) -> list[StoredDocument]:
        """Every resource, oldest first."""
        query = sa.select(table.c.kind, table.c.document, table.c.created_at, table.c.updated_at)
        with self.engine.connect() as db:
            rows = db.execute(query.where(self._in_scope).order_by(table.c.created_at))
            return [StoredDocument.from_row(r._mapping) for r in rows]

    def dataset_names_using(self, schema_ids: Collection[str]) -> list[str]:
        """Names of this sandbox's datasets whose schema is one of ``schema_ids``."""
        query = sa.select(datasets.c.name).where(
            self.scope.where(datasets) & datasets.c.schema_id.in_(list(schema_ids))
        )
        with self.engine.connect() as db:
            return [name for (name,) in db.execute(query)]
