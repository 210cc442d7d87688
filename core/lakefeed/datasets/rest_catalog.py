"""``IcebergCatalogView``: the datasets of one org and sandbox as the Iceberg REST catalog of
``lakefeed serve`` shows them to query engines.

Names: the sandbox is the warehouse (the REST ``prefix``) and its one namespace, named after it;
in that namespace each dataset is a table named exactly as the dataset (names are unique per org
and sandbox). The view is read from the datasets table at every call, so a renamed dataset is
found under its new name at once and its old name is gone; the Iceberg table behind it
(``<org>_<sandbox>.<slug>_<id8>`` in the SQL catalog) never moves. Names are served as they are
stored: whatever an engine's SQL cannot spell bare (a space, a dot, uppercase) is quoted there.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from dataclasses import dataclass
from typing import Any

from lakefeed.catalog.datasets import Dataset
from lakefeed.datasets.store import DatasetStore
from lakefeed.errors import DatasetError, InvalidRequest, NamespaceNotFound, TableNotFound

#: What a ``snapshots`` query parameter may ask of a table's metadata.
SNAPSHOT_MODES = ("all", "refs")


@dataclass(frozen=True)
class LoadedTable:
    """A table as the REST catalog answers it: its current metadata file and that file's JSON."""

    name: str
    metadata_location: str
    metadata: dict[str, Any]


class IcebergCatalogView:
    """The Iceberg REST view of ``datasets`` (one org and sandbox)."""

    def __init__(self, datasets: DatasetStore) -> None:
        self.datasets = datasets
        self.namespace = datasets.scope.sandbox_name

    # -- namespaces ----------------------------------------------------------------------------

    def check_namespace(self, namespace: tuple[str, ...]) -> None:
        """:class:`NamespaceNotFound` unless ``namespace`` is the sandbox's one namespace."""
        if namespace != (self.namespace,):
            shown = ".".join(namespace)[:200]
            raise NamespaceNotFound(
                f"Namespace {shown!r} does not exist in warehouse {self.namespace!r}: its one "
                f"namespace is {self.namespace!r}, named after the sandbox.",
                fix=f"List the tables of namespace {self.namespace!r}.",
            )

    def namespaces(self, parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """The namespaces under ``parent``: the sandbox's one at the top, none below it."""
        if not parent:
            return [(self.namespace,)]
        self.check_namespace(parent)
        return []

    # -- tables --------------------------------------------------------------------------------

    def table_names(
        self,
        namespace: tuple[str, ...],
        *,
        page_token: str | None = None,
        page_size: int | None = None,
    ) -> tuple[list[str], str | None]:
        """One page of the namespace's table names, in code point order, and the token of the
        next page (None after the last). A token holds the last name of its page, so a dataset
        created or renamed between two pages is neither repeated nor skipped past its place."""
        self.check_namespace(namespace)
        names = sorted(dataset.name for dataset in self.datasets.list())
        if page_token:
            after = _decode_page_token(page_token)
            names = [name for name in names if name > after]
        if page_size is not None and len(names) > page_size:
            names = names[:page_size]
            return names, _encode_page_token(names[-1])
        return names, None

    def dataset(self, namespace: tuple[str, ...], name: str) -> Dataset:
        """The dataset named ``name``; :class:`TableNotFound` when the sandbox has none."""
        self.check_namespace(namespace)
        dataset = self.datasets.records.named(name)
        if dataset is None:
            raise self._not_found(name)
        return dataset

    def load(self, namespace: tuple[str, ...], name: str, snapshots: str = "all") -> LoadedTable:
        """The table of the dataset named ``name``: its current metadata location and that
        metadata file's JSON, as Iceberg wrote it (with ``snapshots="refs"``, only the
        snapshots a branch or tag points at)."""
        if snapshots not in SNAPSHOT_MODES:
            raise InvalidRequest(
                f"snapshots={snapshots[:40]!r} is not one of {', '.join(SNAPSHOT_MODES)}.",
                fix="Leave snapshots out, or send all or refs.",
            )
        dataset = self.dataset(namespace, name)
        try:
            table = self.datasets.table(dataset)
        except DatasetError:
            if self.datasets.records.named(name) is None:  # deleted since it was found
                raise self._not_found(name) from None
            raise
        location: str = table.metadata_location
        with table.io.new_input(location).open() as stream:
            raw = stream.read()
        if raw[:2] == b"\x1f\x8b":  # a .gz.metadata.json
            raw = gzip.decompress(raw)
        metadata: dict[str, Any] = json.loads(raw)
        if snapshots == "refs":
            metadata = _referenced_snapshots_only(metadata)
        return LoadedTable(dataset.name, location, metadata)

    def _not_found(self, name: str) -> TableNotFound:
        return TableNotFound(
            f"No table {name[:200]!r} in namespace {self.namespace!r}: no dataset of sandbox "
            f"{self.namespace!r} has that name.",
            fix="List the namespace's tables; a renamed dataset is found under its new name.",
        )


def _referenced_snapshots_only(metadata: dict[str, Any]) -> dict[str, Any]:
    refs = metadata.get("refs") or {}
    kept = {ref.get("snapshot-id") for ref in refs.values()}
    kept.add(metadata.get("current-snapshot-id"))
    snapshots = [s for s in metadata.get("snapshots") or [] if s.get("snapshot-id") in kept]
    return {**metadata, "snapshots": snapshots}


#: Starts every page token (the rest is the page's last name, base64url).
_TOKEN_MARK = "n1."


def _encode_page_token(last_name: str) -> str:
    return _TOKEN_MARK + base64.urlsafe_b64encode(last_name.encode()).decode()


def _decode_page_token(token: str) -> str:
    try:
        if not token.startswith(_TOKEN_MARK):
            raise ValueError(token)
        encoded = token.removeprefix(_TOKEN_MARK).encode()
        return base64.b64decode(encoded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidRequest(
            f"pageToken {token[:40]!r} is not a token this catalog gave.",
            fix="Send the next-page-token of the previous page, or no pageToken to start over.",
        ) from None
