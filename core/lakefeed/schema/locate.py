"""Where an element being conformed sits in the input batch.

Conforming walks down into struct fields, list items and map values, each a flat array; a
:class:`Location` walks back up, turning the indexes of failing elements into input row numbers
and paths such as ``identityMap.ECID[0].id``. Only failing elements are ever located.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class Location:
    """The columns of the input batch: element *i* is row *i*."""

    def locate(self, indexes: pa.Array) -> tuple[list[int], list[str]]:
        """The input row and the path of each element at ``indexes`` (int64)."""
        return indexes.to_pylist(), [""] * len(indexes)

    def child(self, name: str) -> Location:
        """The field ``name`` of the structs here."""
        return _Child(self, name)

    def item(self, parents: pa.Array, offsets: pa.Array) -> Location:
        """The items of the lists here: ``parents`` gives each item's list, ``offsets`` the
        index of each list's first item."""
        return _Item(self, parents, offsets)

    def value(self, parents: pa.Array, keys: pa.Array) -> Location:
        """The values of the maps here, with each value's map and key."""
        return _Value(self, parents, keys)


class _Child(Location):
    def __init__(self, parent: Location, name: str) -> None:
        self.parent = parent
        self.name = name

    def locate(self, indexes: pa.Array) -> tuple[list[int], list[str]]:
        rows, paths = self.parent.locate(indexes)
        return rows, [f"{path}.{self.name}" if path else self.name for path in paths]


class _Item(Location):
    def __init__(self, parent: Location, parents: pa.Array, offsets: pa.Array) -> None:
        self.parent = parent
        self.parents = parents
        self.offsets = offsets

    def locate(self, indexes: pa.Array) -> tuple[list[int], list[str]]:
        lists = self.parents.take(indexes)
        starts = self.offsets.take(lists).cast(pa.int64())
        positions = pc.subtract(indexes, starts).to_pylist()
        rows, paths = self.parent.locate(lists)
        return rows, [f"{path}[{i}]" for path, i in zip(paths, positions, strict=True)]


class _Value(Location):
    def __init__(self, parent: Location, parents: pa.Array, keys: pa.Array) -> None:
        self.parent = parent
        self.parents = parents
        self.keys = keys

    def locate(self, indexes: pa.Array) -> tuple[list[int], list[str]]:
        rows, paths = self.parent.locate(self.parents.take(indexes))
        keys = self.keys.take(indexes).to_pylist()
        return rows, [f"{path}.{key}" for path, key in zip(paths, keys, strict=True)]
