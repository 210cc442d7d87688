"""Base connections: credentials for one storage account or server, secrets sealed at rest."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lakefeed.catalog.labels import check_labels
from lakefeed.catalog.records import Scope, new_etag, now_ms
from lakefeed.catalog.secretbox import SecretBox
from lakefeed.catalog.tables import connections as table
from lakefeed.errors import ConnectionNameTaken, ConnectionNotFound, PreconditionFailed
from lakefeed.secrets import AuthParams
from lakefeed.specs import DATASET_TARGET_SPEC, ConnectionSpec

DEFAULT_ORG = "local"
DEFAULT_SANDBOX = "prod"


@dataclass(frozen=True)
class Connection:
    id: str
    name: str
    description: str
    connection_spec_id: str
    connection_spec_version: str
    auth: AuthParams
    state: str
    etag: str
    created_at: int
    updated_at: int
    ims_org_id: str
    sandbox_name: str

    @property
    def is_dataset_base(self) -> bool:
        """A dataset (Data Lake) base connection: no storage and no auth."""
        return self.connection_spec_id == DATASET_TARGET_SPEC.id

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service ``ConnectionItemDTO``; secret params come back redacted, and a
        dataset base connection has no ``auth``."""
        auth = {"specName": self.auth.spec_name, "params": self.auth.redacted()}
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "connectionSpec": {
                "id": self.connection_spec_id,
                "version": self.connection_spec_version,
            },
            **({} if self.is_dataset_base else {"auth": auth}),
            "state": self.state,
            "etag": self.etag,
            "version": self.etag,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "imsOrgId": self.ims_org_id,
            "sandboxName": self.sandbox_name,
        }


class ConnectionStore:
    """Create, read and delete base connections of one org and sandbox."""

    def __init__(
        self,
        engine: sa.Engine,
        box: SecretBox,
        *,
        ims_org_id: str = DEFAULT_ORG,
        sandbox_name: str = DEFAULT_SANDBOX,
    ) -> None:
        self.engine = engine
        self.box = box
        self.scope = (table.c.ims_org_id == ims_org_id) & (table.c.sandbox_name == sandbox_name)
        self.ims_org_id = ims_org_id
        self.sandbox_name = sandbox_name

    def create(
        self,
        *,
        name: str,
        spec: ConnectionSpec,
        auth: AuthParams,
        description: str = "",
    ) -> Connection:
        """Store validated auth params (see ``SourceType.auth_params``), secrets sealed."""
        return self._insert(
            name=name,
            description=description,
            connection_spec_id=spec.id,
            connection_spec_version=spec.version,
            auth_spec_name=auth.spec_name,
            params=auth.public(),
            secrets=self.box.seal(auth.secrets()),
        )

    def create_dataset_base_connection(self, *, name: str, description: str = "") -> Connection:
        """Store a dataset (Data Lake) base connection: the spec
        ``c604ff05-7f1a-43c0-8e18-33bf874cb11c`` and no credentials."""
        return self._insert(
            name=name,
            description=description,
            connection_spec_id=DATASET_TARGET_SPEC.id,
            connection_spec_version=DATASET_TARGET_SPEC.version,
            auth_spec_name="",
            params={},
            secrets=self.box.seal({}),
        )

    def _insert(self, **values: Any) -> Connection:
        check_labels(values, "connection")
        row = Scope(self.ims_org_id, self.sandbox_name).new_row(
            id=str(uuid.uuid4()), state="enabled", **values
        )
        try:
            with self.engine.begin() as db:
                self._check_name_free(db, row["name"])
                db.execute(table.insert().values(**row))
        except sa.exc.IntegrityError:  # another writer took the name since the check
            raise self._name_taken(row["name"]) from None
        return self._from_row(row)

    def update(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        auth: AuthParams | None = None,
        etag: str | None = None,
    ) -> Connection:
        """Change a connection's name, description or (validated) auth params, secrets sealed
        again. With ``etag``, only while the connection still has that etag
        (:class:`PreconditionFailed` otherwise)."""
        current = self.get(id)
        values: dict[str, Any] = {"etag": new_etag(), "updated_at": now_ms()}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        check_labels(values, "connection")
        if auth is not None:
            values["auth_spec_name"] = auth.spec_name
            values["params"] = auth.public()
            values["secrets"] = self.box.seal(auth.secrets())
        where = self.scope & (table.c.id == current.id)
        if etag is not None:
            where = where & (table.c.etag == etag)
        try:
            with self.engine.begin() as db:
                if name is not None and name != current.name:
                    self._check_name_free(db, name)
                if not db.execute(table.update().where(where).values(**values)).rowcount:
                    raise PreconditionFailed(
                        f"Connection {current.id!r} was changed by someone else.",
                        fix="GET it again, re-apply the change and send its new etag.",
                    )
        except sa.exc.IntegrityError:  # another writer took the name since the check
            raise self._name_taken(name or current.name) from None
        return self.get(current.id)

    def _check_name_free(self, db: sa.Connection, name: str) -> None:
        taken = db.execute(sa.select(table.c.id).where(self.scope & (table.c.name == name)))
        if taken.first() is not None:
            raise self._name_taken(name)

    def _name_taken(self, name: str) -> ConnectionNameTaken:
        return ConnectionNameTaken(
            f"A connection named {name!r} already exists in sandbox {self.sandbox_name!r}.",
            fix="Choose another name, or delete the existing connection first.",
        )

    def _from_row(self, row: Mapping[Any, Any]) -> Connection:
        secrets = self.box.open(row["secrets"])
        auth = AuthParams(row["auth_spec_name"], {**row["params"], **secrets}, secrets.keys())
        return Connection(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            connection_spec_id=row["connection_spec_id"],
            connection_spec_version=row["connection_spec_version"],
            auth=auth,
            state=row["state"],
            etag=row["etag"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            ims_org_id=row["ims_org_id"],
            sandbox_name=row["sandbox_name"],
        )

    def spec_versions(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """By id, the connection spec id and version of these connections, without opening
        their secrets (what a flow's ``inheritedAttributes`` shows of its base connections)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        columns = (table.c.id, table.c.connection_spec_id, table.c.connection_spec_version)
        query = sa.select(*columns).where(self.scope & table.c.id.in_(wanted))
        with self.engine.connect() as db:
            return {
                r.id: (r.connection_spec_id, r.connection_spec_version) for r in db.execute(query)
            }

    def list(self) -> list[Connection]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(table).where(self.scope).order_by(table.c.created_at))
            return [self._from_row(r._mapping) for r in rows]

    def get(self, id_or_name: str) -> Connection:
        """A connection by id or by name."""
        with self.engine.connect() as db:
            query = sa.select(table).where(
                self.scope & ((table.c.id == id_or_name) | (table.c.name == id_or_name))
            )
            row = db.execute(query).first()
        if row is None:
            raise ConnectionNotFound(
                f"No connection {id_or_name!r} in sandbox {self.sandbox_name!r}.",
                fix="`lakefeed connections list` shows the connections that exist.",
            )
        return self._from_row(row._mapping)

    def delete(self, id_or_name: str, *, etag: str | None = None) -> None:
        """Delete a connection; with ``etag``, only while it still has that etag, checked in
        the delete itself (:class:`PreconditionFailed` otherwise)."""
        connection = self.get(id_or_name)
        where = self.scope & (table.c.id == connection.id)
        if etag is not None:
            where = where & (table.c.etag == etag)
        with self.engine.begin() as db:
            if not db.execute(table.delete().where(where)).rowcount and etag is not None:
                raise PreconditionFailed(
                    f"Connection {connection.name!r} was changed by someone else.",
                    fix="Read it again and delete it with its new etag.",
                )
