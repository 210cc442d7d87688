"""What every stored Flow Service resource shares: its org and sandbox scope, etag, audit times."""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import sqlalchemy as sa

from lakefeed.catalog.labels import check_labels
from lakefeed.errors import LakefeedError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
T = TypeVar("T")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_etag() -> str:
    """A quoted etag, as Flow Service returns them."""
    return f'"{uuid.uuid4()}"'


@dataclass(frozen=True)
class Scope:
    """One org and sandbox: every resource is visible only inside its own."""

    ims_org_id: str = "local"
    sandbox_name: str = "prod"

    def where(self, table: sa.Table) -> sa.ColumnElement[bool]:
        return (table.c.ims_org_id == self.ims_org_id) & (table.c.sandbox_name == self.sandbox_name)

    def new_row(self, **values: Any) -> dict[str, Any]:
        """Column values of a new resource: ``values`` plus scope, etag and audit times."""
        now = now_ms()
        return {
            "ims_org_id": self.ims_org_id,
            "sandbox_name": self.sandbox_name,
            "etag": new_etag(),
            "created_at": now,
            "updated_at": now,
            **values,
        }


# Statements every request runs are built once per table, with the scope and the key as bound
# parameters: building a SQLAlchemy statement (and its cache key) costs several times what
# SQLite takes to answer it.
_ORG: sa.BindParameter[str] = sa.bindparam("scope_ims_org_id", type_=sa.String)
_SANDBOX: sa.BindParameter[str] = sa.bindparam("scope_sandbox_name", type_=sa.String)
_ID_OR_NAME: sa.BindParameter[str] = sa.bindparam("id_or_name", type_=sa.String)


def _in_scope(table: sa.Table) -> sa.ColumnElement[bool]:
    return (table.c.ims_org_id == _ORG) & (table.c.sandbox_name == _SANDBOX)


@functools.cache
def _find_statement(table: sa.Table) -> sa.Select[Any]:
    where = table.c.id == _ID_OR_NAME
    if "name" in table.c:
        where = where | (table.c.name == _ID_OR_NAME)
    # An id beats a name; among equal names the oldest wins, so lookups are stable.
    order = ((table.c.id != _ID_OR_NAME), table.c.created_at)
    return sa.select(table).where(_in_scope(table) & where).order_by(*order)


@functools.cache
def _select_statement(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table).where(_in_scope(table)).order_by(table.c.created_at, table.c.id)


class ResourceTable:
    """Scoped reads and writes of one resource table; ``not_found`` builds the 404 error."""

    def __init__(
        self,
        engine: sa.Engine,
        table: sa.Table,
        scope: Scope,
        not_found: type[LakefeedError],
        noun: str,
        list_command: str,
    ) -> None:
        self.engine = engine
        self.table = table
        self.scope = scope
        self.not_found = not_found
        self.noun = noun
        self.list_command = list_command
        self._scope_params = {
            "scope_ims_org_id": scope.ims_org_id,
            "scope_sandbox_name": scope.sandbox_name,
        }

    def insert(self, row: Mapping[str, Any]) -> None:
        check_labels(row, self.noun)
        with self.engine.begin() as db:
            db.execute(self.table.insert().values(**row))

    def find(self, id_or_name: str) -> Any:
        params = {**self._scope_params, "id_or_name": id_or_name}
        with self.engine.connect() as db:
            row = db.execute(_find_statement(self.table), params).first()
        return None if row is None else row._mapping

    def get(self, id_or_name: str) -> Mapping[str, Any]:
        row = self.find(id_or_name)
        if row is None:
            raise self.not_found(
                f"No {self.noun} {id_or_name!r} in sandbox {self.scope.sandbox_name!r}.",
                fix=f"`{self.list_command}` shows the ones that exist.",
            )
        return row

    def select(self, *where: sa.ColumnElement[bool], limit: int | None = None) -> list[Any]:
        query = _select_statement(self.table)
        if where or limit is not None:
            query = query.where(*where).limit(limit)
        with self.engine.connect() as db:
            return [r._mapping for r in db.execute(query, self._scope_params)]

    def update(self, id: str, **values: Any) -> None:
        self.update_if(id, None, **values)

    def update_if(self, id: str, etag: str | None, **values: Any) -> bool:
        """:meth:`update` only while the stored etag is still ``etag`` (any etag when None);
        False when another writer changed the row first."""
        check_labels(values, self.noun)
        where = self.scope.where(self.table) & (self.table.c.id == id)
        if etag is not None:
            where = where & (self.table.c.etag == etag)
        values = {"etag": new_etag(), "updated_at": now_ms(), **values}
        with self.engine.begin() as db:
            return bool(db.execute(self.table.update().where(where).values(**values)).rowcount)

    def delete(self, id: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                self.table.delete().where(self.scope.where(self.table) & (self.table.c.id == id))
            )

    def delete_if(self, id: str, etag: str | None) -> bool:
        """:meth:`delete` only while the stored etag is still ``etag`` (any etag when None);
        False when the row is gone or another writer changed it first."""
        where = self.scope.where(self.table) & (self.table.c.id == id)
        if etag is not None:
            where = where & (self.table.c.etag == etag)
        with self.engine.begin() as db:
            return bool(db.execute(self.table.delete().where(where)).rowcount)


class Audited(Protocol):
    """A record of a scoped resource table (:func:`tables._scoped`): id, scope, etag, times."""

    @property
    def id(self) -> str: ...
    @property
    def ims_org_id(self) -> str: ...
    @property
    def sandbox_name(self) -> str: ...
    @property
    def etag(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def updated_at(self) -> int: ...


def audit_fields(record: Audited) -> dict[str, Any]:
    """The audit fields every Flow Service entity carries."""
    return {
        "id": record.id,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "imsOrgId": record.ims_org_id,
        "sandboxName": record.sandbox_name,
        "etag": record.etag,
        "version": record.etag,
    }


def record_from_row(cls: type[R], row: Mapping[Any, Any], **converted: Any) -> R:
    """A record dataclass whose fields are named after its table's columns, from a row;
    ``converted`` gives the fields that are not the column's value as stored."""
    columns = {f.name: row[f.name] for f in dataclasses.fields(cls)}
    return cls(**{**columns, **converted})


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size``: one ``IN (...)`` per slice keeps every query's
    parameter count bounded, however many values are asked about."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
