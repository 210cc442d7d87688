"""``MappingSetStore``: Data Prep mapping sets of one org and sandbox, every version kept.

A mapping set is a document (output schema, optional input schema, mappings) stored once per
version: creating one stores version 0, each update adds the next version, and a flow names the
version it applies, so no version is ever changed or dropped until the whole set is deleted.
What a document may hold is :mod:`lakefeed.mappings.service`'s business; this module keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog.labels import check_name
from lakefeed.catalog.records import Scope, now_ms, record_from_row
from lakefeed.catalog.tables import mapping_sets as table
from lakefeed.errors import ResourceNotFound

#: Tries of an update that keeps losing the race for the next version number to other writers.
ATTEMPTS = 5
LIST_COMMAND = "lakefeed mappings list"


@dataclass(frozen=True)
class MappingSet:
    """One version of a mapping set (a row of ``mapping_sets``)."""

    id: str
    version: int
    ims_org_id: str
    sandbox_name: str
    name: str | None
    document: dict[str, Any]
    created_at: int  # epoch ms, of version 0
    created_by: str
    updated_at: int  # epoch ms, of this version
    updated_by: str

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MappingSet:
        return record_from_row(cls, row, document=dict(row["document"]))

    @property
    def output_schema_id(self) -> str:
        return str(self.document["outputSchema"]["schemaRef"]["id"])

    @property
    def mappings(self) -> list[dict[str, Any]]:
        return [dict(m) for m in self.document.get("mappings", ())]

    def summary(self) -> dict[str, Any]:
        """What a create answers: id, version and the audit fields."""
        return {
            "id": self.id,
            "version": self.version,
            "createdDate": self.created_at,
            "modifiedDate": self.updated_at,
            "createdBy": self.created_by,
            "modifiedBy": self.updated_by,
        }

    def mapping_dicts(self) -> list[dict[str, Any]]:
        """The mappings as Data Prep answers them: each with its id, the set's version and
        dates, and the older field names (``sourceAttribute``, ``destinationXdmPath``) too."""
        return [
            {
                **self.summary(),
                **mapping,
                "sourceAttribute": mapping["source"],
                "destinationXdmPath": mapping["destination"],
                "identity": False,
            }
            for mapping in self.mappings
        ]

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        """The Data Prep ``MappingSet`` object; ``xdmSchema`` repeats the output schema's id
        for clients of the older API."""
        body: dict[str, Any] = {**self.summary()}
        if self.name is not None:
            body["name"] = self.name
        body.update({k: v for k, v in self.document.items() if k != "mappings"})
        body["mappings"] = self.mapping_dicts()
        body["xdmSchema"] = self.output_schema_id
        body["imsOrg"] = self.ims_org_id
        body["sandboxName"] = self.sandbox_name
        body.update(extra)
        return body


class MappingSetStore:
    """The mapping sets of one org and sandbox."""

    def __init__(self, engine: sa.Engine, scope: Scope) -> None:
        self.engine = engine
        self.scope = scope
        self._in_scope = scope.where(table)

    def insert(
        self, *, id: str, name: str | None, document: Mapping[str, Any], actor: str
    ) -> MappingSet:
        """Store version 0 of a new mapping set."""
        check_name(name, "mapping set")
        now = now_ms()
        row = {
            "id": id,
            "version": 0,
            "ims_org_id": self.scope.ims_org_id,
            "sandbox_name": self.scope.sandbox_name,
            "name": name,
            "document": dict(document),
            "created_at": now,
            "created_by": actor,
            "updated_at": now,
            "updated_by": actor,
        }
        with self.engine.begin() as db:
            db.execute(table.insert().values(**row))
        return MappingSet.from_row(row)

    def add_version(
        self, id: str, *, name: str | None, document: Mapping[str, Any], actor: str
    ) -> MappingSet:
        """Store the next version of mapping set ``id`` (:class:`ResourceNotFound` when it does
        not exist). The version number is taken in the same statement that stores it, so a
        set deleted meanwhile is not brought back; two writers racing for one number both get
        one (the loser tries again)."""
        check_name(name, "mapping set")
        for _ in range(ATTEMPTS):
            now = now_ms()
            current = (
                sa.select(
                    table.c.id,
                    (sa.func.max(table.c.version) + 1).label("version"),
                    table.c.ims_org_id,
                    table.c.sandbox_name,
                    sa.literal(name, sa.String).label("name"),
                    sa.literal(dict(document), sa.JSON).label("document"),
                    sa.func.min(table.c.created_at).label("created_at"),
                    sa.func.min(table.c.created_by).label("created_by"),
                    sa.literal(now, sa.BigInteger).label("updated_at"),
                    sa.literal(actor, sa.String).label("updated_by"),
                )
                .where(self._in_scope & (table.c.id == id))
                .group_by(table.c.id, table.c.ims_org_id, table.c.sandbox_name)
            )
            columns = [c.name for c in table.columns]
            try:
                with self.engine.begin() as db:
                    stored = db.execute(table.insert().from_select(columns, current)).rowcount
            except sa.exc.IntegrityError:
                continue  # another writer took that version number first
            if not stored:
                raise self._not_found(id)
            return self.get(id)
        raise self._not_found(id)  # pragma: no cover - only under endless contention

    def get(self, id: str, version: int | None = None) -> MappingSet:
        """Version ``version`` of mapping set ``id`` (default: its latest)."""
        query = sa.select(table).where(self._in_scope & (table.c.id == id))
        if version is not None:
            query = query.where(table.c.version == version)
        query = query.order_by(table.c.version.desc()).limit(1)
        with self.engine.connect() as db:
            row = db.execute(query).mappings().first()
        if row is not None:
            return MappingSet.from_row(row)
        if version is None:
            raise self._not_found(id)
        latest = self.get(id).version
        raise ResourceNotFound(
            f"Mapping set {id!r} has no version {version} (its versions are 0 to {latest}).",
            fix="Ask for one of those versions, or leave the version out for the latest.",
        )

    def latest(self, *, name: str | None = None) -> list[MappingSet]:
        """The latest version of every mapping set (named ``name`` when given), oldest set
        first."""
        newer = table.alias("newer")
        has_newer = (
            sa.select(newer.c.id)
            .where((newer.c.id == table.c.id) & (newer.c.version > table.c.version))
            .exists()
        )
        query = sa.select(table).where(self._in_scope & ~has_newer)
        if name is not None:
            query = query.where(table.c.name == name)
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(table.c.created_at, table.c.id)).mappings()
            return [MappingSet.from_row(row) for row in rows]

    def delete(self, id: str) -> None:
        """Delete every version of mapping set ``id``."""
        with self.engine.begin() as db:
            gone = db.execute(table.delete().where(self._in_scope & (table.c.id == id))).rowcount
        if not gone:
            raise self._not_found(id)

    def _not_found(self, id: str) -> ResourceNotFound:
        return ResourceNotFound(
            f"No mapping set {id!r} in sandbox {self.scope.sandbox_name!r}.",
            fix=f"`{LIST_COMMAND}` (or GET /mappingSets) shows the ones that exist.",
        )
